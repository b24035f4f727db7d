"""Benchmark: train, evaluate and publish LightGCN on the ``bench`` instance's TV graph.

    .venv/bin/python bench/train_tv.py [--epochs 20] [--negatives 1024] [--dim 64]

Expects the graph that ``bench/load_tv.py`` loads (instance ``bench``, ports
37687/37474); starts the instance if it is stopped and stops it again
afterwards. Saves a version under ``<home>/bench-models`` (``--models-dir``)
and publishes it, so that ``bench/load_api.py`` serves it. Prints one
Markdown table row for docs/benchmarks.md: export/fit/evaluate/publish wall
times, seconds per epoch, epochs, peak RSS of this process, load averages.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from gnn.artifacts import load_version
from gnn.pipeline import describe, publish, train_version
from gnn.train import TrainConfig
from graph.driver import open_driver
from graph.server import LocalServer
from graph.settings import Settings


def bench_settings() -> Settings:
    """The ``bench`` instance that ``bench/load_tv.py`` fills."""
    return Settings.with_fields(
        instance="bench", bolt_port=37687, http_port=37474, heap="4g", pagecache="4g"
    )


def load_averages() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--negatives", type=int, default=1024)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=500_000)
    parser.add_argument("--val-max-users", type=int, default=5_000)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--no-publish", action="store_true")
    args = parser.parse_args()

    settings = bench_settings()
    models_dir = args.models_dir or settings.home / "bench-models"
    config = TrainConfig(
        embedding_dim=args.dim, epochs=args.epochs, num_negatives=args.negatives,
        batch_size=args.batch_size, val_max_users=args.val_max_users, patience=args.patience,
        refit=False,
    )  # fmt: skip
    server = LocalServer(settings)
    with server.running(), open_driver(settings) as driver:
        t0 = time.perf_counter()
        outcome = train_version(
            driver, database="neo4j", models_dir=models_dir, train_config=config
        )
        t1 = time.perf_counter()
        if not args.no_publish:
            publish(driver, load_version(outcome.path), database="neo4j")
        t2 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(describe(outcome.metrics))
    print(f"config: {config.model_dump(mode='json')}")
    print(f"version: {outcome.path}")
    print(
        "| train + evaluate | publish | fit | s/epoch | epochs | peak RSS | load avg |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {t1 - t0:.0f} s | {t2 - t1:.0f} s | {outcome.fit_seconds:.0f} s | "
        f"{outcome.seconds_per_epoch:.2f} s | {outcome.epochs} | {peak_mb:,.0f} MB | "
        f"{load_averages()} |"
    )


if __name__ == "__main__":
    main()
