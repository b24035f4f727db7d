"""Benchmark: a saved model version against two counts on its own holdout.

    .venv/bin/python bench/version_baselines.py <models dir>/<version>

Ranks the holdout users of a version (``graphrails train`` holds out 10 % of each user's
positives) three ways, every program the user has not watched in training a candidate,
all scored by ``gnn/metrics.py``: the version as served (embeddings plus its
genre/channel term), the most popular programs (training positives counted), and the
genre/channel term alone (popularity within the user's genres and channels, with the
half-life and genre weight the version chose). ``--max-users`` scores a random sample of the
holdout users, the same for the three. Where no Neo4j-free baseline of the TV
benchmark fits in memory (EASE at 50,000 programs), this says whether the model learned
more than the counts on the very pairs the version reports.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from gnn.artifacts import load_version
from gnn.metrics import Ranking, ranking_metrics
from gnn.model import recommend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("version", type=Path)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--max-users", type=int, default=None, help="score a sample of this many holdout users"
    )
    args = parser.parse_args()
    model = load_version(args.version)
    users = np.unique(model.holdout[0])
    if args.max_users is not None and users.size > args.max_users:
        users = np.sort(np.random.default_rng(0).choice(users, args.max_users, replace=False))
    programs = torch.as_tensor(model.id_map.label_rows("Program"))
    exclude = torch.as_tensor(model.train_positives)
    holdout = model.holdout[:, np.isin(model.holdout[0], users)]
    rows = np.searchsorted(users, holdout[0])
    counts = np.bincount(model.train_positives[1], minlength=model.id_map.num_nodes)
    popular = counts.astype(np.float32)[:, None]  # a user's 1 x a program's count
    popular[users] = 1.0
    zero = np.zeros((model.id_map.num_nodes, 1), dtype=np.float32)
    term = model.extra()
    rankers = {
        "version (embeddings + term)": (model.embeddings, term),
        "most popular": (popular, None),
        "genre/channel term alone": (zero, term) if term is not None else None,
    }
    load = os.getloadavg()[0]
    print(f"{args.version.name}: {users.size:,} holdout users, {holdout.shape[1]:,} "
          f"holdout pairs, {programs.numel():,} programs; load {load:.2f}")  # fmt: skip
    print(f"| ranking | nDCG@{args.k} | P@{args.k} | R@{args.k} | seconds |")
    print("|---|---:|---:|---:|---:|")
    for name, spec in rankers.items():
        if spec is None:
            print(f"| {name} | (the version has no term) | | | |")
            continue
        emb, extra = spec
        t0 = time.perf_counter()
        top, _ = recommend(
            torch.as_tensor(emb), users=torch.as_tensor(users), programs=programs,
            exclude=exclude, k=args.k, extra=extra,
        )  # fmt: skip
        m = ranking_metrics(Ranking.from_arrays(top.numpy(), rows, holdout[1], k=args.k))
        k = args.k
        print(f"| {name} | {m[f'ndcg@{k}']:.4f} | {m[f'precision@{k}']:.4f} | "
              f"{m[f'recall@{k}']:.4f} | {time.perf_counter() - t0:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
