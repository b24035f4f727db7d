"""Snapshot the home rail of many users, to check that an optimisation changes no response.

    .venv/bin/python bench/home_snapshot.py OUT.jsonl [--users 400] [--compare BEFORE.jsonl]

Serves the API in-process on the ``bench`` instance (started here if it is
stopped) with the model versions of ``<home>/bench-models``, requests
``/v1/users/{user}/rails/home`` for a fixed random sample of the graph's
users plus a few unknown ones, and writes one JSON line per user. With
``--compare``, exits 1 and names the first users whose rail differs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from load_api import NOW, bench_settings, known_users  # bench/ is on sys.path as a script

from api.main import create_app
from graph.server import LocalServer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--compare", type=Path, default=None)
    args = parser.parse_args()

    settings = bench_settings()
    settings = settings.model_copy(
        update={"models_path": args.models_dir or settings.home / "bench-models"}
    )
    server = LocalServer(settings)
    with server.running():
        rng = random.Random(args.seed)
        users = [*rng.sample(known_users(settings), args.users), "bench-unknown-1", "nobody"]
        with TestClient(create_app(settings)) as client, args.out.open("w") as out:
            for user in users:
                r = client.get(f"/v1/users/{user}/rails/home",
                               params={"limit": args.limit, "now": NOW})  # fmt: skip
                out.write(json.dumps({"user": user, "status": r.status_code, "body": r.json()},
                                     sort_keys=True) + "\n")  # fmt: skip
    if args.compare is None:
        return 0
    before = args.compare.read_text().splitlines()
    after = args.out.read_text().splitlines()
    differ = [json.loads(a)["user"] for a, b in zip(after, before, strict=True) if a != b]
    print(
        f"{len(after)} rails compared, {len(differ)} differ"
        + (f": {differ[:10]}" if differ else "")
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
