"""Probe: LightGCN's scores plus beta x the log of the genre/channel count's, on one split.

The probe that led to the term ``gnn/genre_channel.py`` adds (which the fit now chooses
on its holdout); kept to reproduce the tuning table of docs/benchmarks.md.

Fits LightGCN once with the defaults (as ``tv_benchmark.py`` does, early stopping on the
holdout that the split tests), caches its embeddings under ``--cache``, then scores the
test split for each beta of ``--betas``: ``score + beta * log(genre/channel count)``, the
count of :func:`tv_benchmark.genre_channel_scores` (genre weight ``--genre-weight``,
popularity half-life ``--half-life`` days). A probe for tuning, on a data seed other than
the benchmark's: it reads the test split for every beta, which a shipped model must not.

    .venv/bin/python bench/blend_probe.py --seed 12 --split temporal --half-life 0.5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tv_benchmark import genre_channel_scores, make_split, score, top_k_dense
from tv_data import generated, random_split, read_tv, temporal_split

from gnn.train import TrainConfig, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--split", choices=("random", "temporal"), default="temporal")
    parser.add_argument("--half-life", type=float, default=None, help="days (none: unweighted)")
    parser.add_argument("--genre-weight", type=float, default=0.75)
    parser.add_argument("--betas", default="0,0.25,0.5,1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".cache/graphrails-bench")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/graphrails-bench")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = read_tv(generated(args.users, args.seed, args.data_dir))
    if args.split == "random":
        train, test = random_split(data.positives, seed=0)
    else:
        train, test = temporal_split(data.positives)
    split = make_split(args.split, data, train, test)
    graph = data.graph(split.train, side=True)
    cached = args.cache / f"blend-probe-u{args.users}-s{args.seed}-{args.split}.pt"
    if cached.is_file():
        embeddings = torch.load(cached)
    else:
        t0 = time.perf_counter()
        holdout = "latest" if args.split == "temporal" else "random"
        # LightGCN alone: the probe adds the term itself, for each beta.
        config = TrainConfig(holdout=holdout, genre_channel_beta=None)
        result = fit(graph, config, progress=True)
        embeddings = result.embeddings
        torch.save(embeddings, cached)
        print(f"fit {time.perf_counter() - t0:.0f} s, best epoch {result.best_epoch}")
    users = embeddings[: data.num_users]
    programs = embeddings[graph.program_nodes]
    counts = genre_channel_scores(data, split, args.genre_weight, args.half_life)
    for beta in (float(b) for b in args.betas.split(",")):

        def scores(rows: np.ndarray, beta: float = beta) -> np.ndarray:
            lightgcn = (users[torch.as_tensor(rows)] @ programs.T).numpy()
            return lightgcn + beta * np.log(counts(rows))

        m = score(split, *top_k_dense(split, scores))
        print(
            f"{args.split}, half-life {args.half_life}, beta {beta}: nDCG@10 {m['ndcg']:.4f} "
            f"P@10 {m['precision']:.4f} R@10 {m['recall']:.4f} cold R@10 {m['cold_recall']:.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
