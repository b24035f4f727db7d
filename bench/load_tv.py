"""Benchmark: generate a synthetic TV data set, then load it via UNWIND and via the import tool.

    .venv/bin/python bench/load_tv.py --users 100000 --programs 20000

Runs on its own local Neo4j instance (``bench``, ports 37687/37474) whose
``neo4j`` database it empties between the two loads; nothing else is touched.
Prints one Markdown table row per step for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from graph.driver import open_driver
from graph.schema import init_schema
from graph.server import LocalServer
from graph.settings import Settings
from loaders.bulk import bulk_load_tv
from loaders.generate import generate_tv
from loaders.tv import graph_counts, load_tv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--programs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--heap", default="4g")
    parser.add_argument("--pagecache", default="4g")
    parser.add_argument("--skip-unwind", action="store_true")
    args = parser.parse_args()

    settings = Settings.with_fields(
        instance="bench", bolt_port=37687, http_port=37474, heap=args.heap,
        pagecache=args.pagecache,
    )  # fmt: skip
    server = LocalServer(settings)
    folder = Path(tempfile.mkdtemp(prefix="graphrails-bench-"))
    try:
        started = time.perf_counter()
        summary = generate_tv(
            folder, users=args.users, programs=args.programs, seed=args.seed, progress=False
        )
        gen_s = time.perf_counter() - started
        rows = sum(summary.rows.values())
        print(summary.describe())
        print(f"| generate {args.users:,} users | {rows:,} rows | {gen_s:.1f} s | "
              f"{rows / gen_s:,.0f} rows/s |")  # fmt: skip

        if not args.skip_unwind:
            _empty(server)
            server.start()
            with open_driver(settings) as driver:
                init_schema(driver, database="neo4j")
                started = time.perf_counter()
                load_tv(driver, folder, database="neo4j", progress=True)
                unwind_s = time.perf_counter() - started
                counts = graph_counts(driver, database="neo4j")
            print(f"| UNWIND load | {rows:,} rows | {unwind_s:.1f} s | "
                  f"{rows / unwind_s:,.0f} rows/s |")  # fmt: skip
            print(counts)
            server.stop()

        _empty(server)
        server.start()
        started = time.perf_counter()
        report = bulk_load_tv(server, folder, database="neo4j", progress=True)
        bulk_s = time.perf_counter() - started
        print(f"| import tool load (incl. stop/start, schema) | {rows:,} rows | {bulk_s:.1f} s | "
              f"{rows / bulk_s:,.0f} rows/s |")  # fmt: skip
        print("\n".join(report.notes))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((ln.split(":", 1)[1].strip() for ln in cpu.splitlines() if "Model name" in ln), "")
    print(f"python peak RSS {peak_mb:,.0f} MB; {platform.node()}; {model}")


def _empty(server: LocalServer) -> None:
    """Drop the bench instance's ``neo4j`` database files (the server must be stopped)."""
    server.stop()
    for sub in ("databases/neo4j", "transactions/neo4j"):
        shutil.rmtree(server.data_dir / sub, ignore_errors=True)


if __name__ == "__main__":
    main()
