"""Benchmark: compute and store every user's and every program's candidate list (what a
publish adds).

    .venv/bin/python bench/candidates.py                      # the bench graph's serving version
    .venv/bin/python bench/candidates.py --synthetic 1000000 --programs 20000   # compute only

With no option, reads the version ``bench/train_tv.py`` published (instance ``bench``),
times the scoring of every user it knows (``gnn.candidates.user_candidates``) apart, then
the whole ``write_user_candidates`` (scoring and the batched ``UNWIND`` writes), as a
publish runs it; then the same for every program's list of similar programs
(``program_candidates``, ``write_program_candidates``). ``--synthetic N`` times the
scoring alone for N users (and ``--programs`` programs) with random embeddings (no
Neo4j): the compute part at a scale the bench graph does not hold. Prints one Markdown
row per kind of list, with the load averages.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from load_api import bench_settings  # bench/ is on sys.path

from gnn.artifacts import ModelVersion, load_version
from gnn.candidates import (
    PER_USER,
    program_candidates,
    user_candidates,
    write_program_candidates,
    write_user_candidates,
)
from gnn.idmap import IdMap
from graph.driver import open_driver
from graph.queries import query
from graph.server import LocalServer


def synthetic(users: int, programs: int, dim: int) -> ModelVersion:
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((users + programs, dim)).astype(np.float32)
    ids = {"User": pd.Index([f"u{i:08d}" for i in range(users)]),
           "Program": pd.Index([f"p{i:07d}" for i in range(programs)])}  # fmt: skip
    return ModelVersion(
        path=Path(), manifest={"version": "synthetic"}, embeddings=embeddings,
        id_map=IdMap(ids), train_positives=np.empty((0, 2), np.int64),
        holdout=np.empty((0, 2), np.int64),
    )  # fmt: skip


def load_averages() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k", type=int, default=PER_USER)
    parser.add_argument("--synthetic", type=int, default=0, help="users (compute only)")
    parser.add_argument("--programs", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=64)
    args = parser.parse_args()

    print("| lists of | users | programs | k | score s | score + write s | load avg 1/5/15 |")
    print("|---|---|---|---|---|---|---|")
    kinds = {"users": (user_candidates, write_user_candidates),
             "programs": (program_candidates, write_program_candidates)}  # fmt: skip
    if args.synthetic:
        model = synthetic(args.synthetic, args.programs, args.dim)
        for kind, (score, _) in kinds.items():
            t0 = time.perf_counter()
            n = sum(len(block) for block in score(model, k=args.k))
            print(f"| {kind} ({n:,}) | {args.synthetic:,} | {args.programs:,} | {args.k} | "
                  f"{time.perf_counter() - t0:.1f} | not written (no graph of that size) | "
                  f"{load_averages()} |")  # fmt: skip
        return
    settings = bench_settings()
    with LocalServer(settings).running(), open_driver(settings) as driver:
        records, _, _ = driver.execute_query(
            query("models/serving"), database_=settings.neo4j_database
        )
        path = Path(records[0]["path"]) if records and records[0]["path"] else None
        if path is None:
            raise SystemExit("no serving version on the bench graph: run bench/train_tv.py")
        model = load_version(path)
        users, programs = (len(model.id_map.ids[label]) for label in ("User", "Program"))
        for kind, (score, write) in kinds.items():
            t0 = time.perf_counter()
            n = sum(len(block) for block in score(model, k=args.k))
            scored = time.perf_counter() - t0
            t0 = time.perf_counter()
            write(driver, model, database=settings.neo4j_database, k=args.k)
            total = time.perf_counter() - t0
            print(f"| {kind} ({n:,}) | {users:,} | {programs:,} | {args.k} | {scored:.1f} | "
                  f"{total:.1f} | {load_averages()} |")  # fmt: skip


if __name__ == "__main__":
    main()
