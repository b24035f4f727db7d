"""Snapshot the rails of many users, to check that an optimisation changes no response.

    .venv/bin/python bench/home_snapshot.py OUT.jsonl [--users 400] [--compare BEFORE.jsonl]
                                            [--rails home,because,similar,popular,best]

Serves the API in-process on the ``bench`` instance (started here if it is
stopped) with the model versions of ``<home>/bench-models``, requests, for a fixed random
sample of the graph's users plus a few unknown ones, each of ``--rails`` (default: home):
``/v1/users/{user}/rails/home``, ``/v1/users/{user}/rails/because-you-watched`` and
``/v1/programs/{program}/similar?user_id={user}`` (a program drawn for the user, with a
fixed seed), ``/v1/rails/popular?user_id={user}`` and
``/v1/rails/best-of-bundle?user_id={user}``, and writes one JSON line per user and rail.
With ``--compare``, exits 1 and names the first users whose rails differ.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from load_api import (  # bench/ is on sys.path as a script
    NOW,
    bench_settings,
    known_programs,
    known_users,
)

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
    parser.add_argument(
        "--rails", default="home", help="comma-separated: home,because,similar,popular,best"
    )
    args = parser.parse_args()

    settings = bench_settings()
    settings = settings.model_copy(
        update={"models_path": args.models_dir or settings.home / "bench-models"}
    )
    server = LocalServer(settings)
    with server.running():
        rng = random.Random(args.seed)
        users = [*rng.sample(known_users(settings), args.users), "bench-unknown-1", "nobody"]
        programs = known_programs(settings)
        paths = {"home": "/v1/users/{user}/rails/home",
                 "because": "/v1/users/{user}/rails/because-you-watched",
                 "similar": "/v1/programs/{program}/similar",
                 "popular": "/v1/rails/popular", "best": "/v1/rails/best-of-bundle"}  # fmt: skip
        rails = args.rails.split(",")
        with TestClient(create_app(settings)) as client, args.out.open("w") as out:
            for user in users:
                program = rng.choice(programs)
                for rail in rails:
                    path = paths[rail].format(user=user, program=program)
                    params = {"limit": args.limit, "now": NOW}
                    if rail in ("similar", "popular", "best"):
                        params["user_id"] = user
                    r = client.get(path, params=params)
                    out.write(json.dumps({"user": user, "rail": rail, "status": r.status_code,
                                          "body": r.json()}, sort_keys=True) + "\n")  # fmt: skip
    if args.compare is None:
        return 0
    before = args.compare.read_text().splitlines()
    after = args.out.read_text().splitlines()
    differ = [(json.loads(a)["user"], json.loads(a).get("rail", "home"))
              for a, b in zip(after, before, strict=True) if a != b]  # fmt: skip
    print(
        f"{len(after)} rails compared, {len(differ)} differ"
        + (f": {differ[:10]}" if differ else "")
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
