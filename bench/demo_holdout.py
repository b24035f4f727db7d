"""The demo's own holdout metric, as `make demo` prints it, for several training seeds.

    .venv/bin/python bench/demo_holdout.py [--seeds 0,1,2] [--no-term] [--no-ema] [--no-refit]

Generates the demo's data set (5,000 users, 2,000 programs, data seed 1, as
`graphrails demo` does), loads it once into a Neo4j instance of its own (``demohold``,
Bolt 38787, HTTP 38574), then trains a version per training seed with the defaults
(`gnn.pipeline.train_version`, no ranker: it does not change the metric) into a scratch
models folder, and prints each version's nDCG@10 on its holdout, its fit time and the
genre/channel term's settings the fit chose (``--no-term``: trained without the term;
``--no-ema``: judged and served on the last parameters, not their moving average;
``--no-refit``: no second fit on every positive after early stopping).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from graph.driver import open_driver
from graph.server import LocalServer
from graph.settings import Settings


def main() -> None:
    from gnn.pipeline import train_version
    from gnn.train import TrainConfig
    from loaders.generate import generate_tv
    from loaders.tv import load_tv

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--no-term", action="store_true", help="no genre/channel term")
    parser.add_argument("--no-ema", action="store_true", help="no moving average")
    parser.add_argument("--no-refit", action="store_true", help="no refit on every positive")
    args = parser.parse_args()
    settings = Settings.with_fields(
        instance="demohold", bolt_port=38787, http_port=38574, heap="1g", pagecache="512m",
        start_timeout_s=900.0,
    )  # fmt: skip
    server = LocalServer(settings)
    server.start()
    try:
        with open_driver(settings) as driver, tempfile.TemporaryDirectory() as scratch:
            db = settings.neo4j_database
            found, _, _ = driver.execute_query("MATCH (u:User) RETURN count(u) AS n", database_=db)
            if not found[0]["n"]:
                folder = Path(scratch) / "data"
                generate_tv(folder, users=5000, programs=2000, seed=1, progress=False)
                load_tv(driver, folder, database=db, progress=False)
            print(
                "| seed | nDCG@10 | fit | beta | half-life | term's half-life | genre weight |\n"
                "|---|---|---|---|---|---|---|"
            )
            overrides: dict[str, bool | None] = {}
            if args.no_term:
                overrides["genre_channel_beta"] = None
            if args.no_ema:
                overrides["ema_decay"] = None
            if args.no_refit:
                overrides["refit"] = False
            for seed in (int(s) for s in args.seeds.split(",")):
                outcome = train_version(
                    driver, database=db, models_dir=Path(scratch) / "models",
                    train_config=TrainConfig(seed=seed, **overrides), progress=False, ranker=False,
                )  # fmt: skip
                manifest = outcome.path / "manifest.json"
                config = json.loads(manifest.read_text())["train_config"]
                print(
                    f"| {seed} | {outcome.metrics['ndcg@10']:.4f} | {outcome.fit_seconds:.0f} s "
                    f"| {config['genre_channel_beta']} | {config['half_life_days']} "
                    f"| {config.get('genre_channel_half_life_days')} "
                    f"| {config.get('genre_weight')} |",
                    flush=True,
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
