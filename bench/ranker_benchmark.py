"""Benchmark: the ranking stage (issue 21) offline, on the TV benchmark's data in Neo4j.

    nice -n 10 .venv/bin/python bench/ranker_benchmark.py --users 20000 [--seed 11]

Loads ``graphrails generate tv --users N --seed S`` (the TV benchmark's data set, made
once under ``--data-dir``, programs scaled with users) into a Neo4j instance of its own
(``--instance``, default ``ranker-bench`` on ports 28687/28474; reloaded only when the
data set changes), then
runs :func:`gnn.pipeline.train_version` as ``graphrails retrain`` does: LightGCN, then
the ranker on its time split. Reports the ranker's validation numbers (the last two days
of sessions: completion-labelled NDCG@10 of P(complete) order and of retrieval order on
the same lists, AUC, log loss), the time the ranker added to the retrain, and the CPU
time of ranking 200 candidates for one user (features from the facts already read, then
LightGBM), the part of a request the ranker adds in the API besides its round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from neo4j import Driver
from tv_data import generated

from gnn.artifacts import ModelVersion, load_version
from gnn.model import recommend
from gnn.pipeline import describe, train_version
from gnn.ranker import AudienceTable, Ranker, ranking_features
from gnn.ranker_train import RankerConfig, read_audience, read_facts
from gnn.train import TrainConfig
from graph.driver import open_driver
from graph.server import LocalServer
from graph.settings import Settings
from loaders.bulk import bulk_load_tv

MARKER = "ranker-bench-data.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".cache/graphrails-bench")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="2g")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None, help="also write the record here")
    parser.add_argument(
        "--instance", default="ranker-bench", help="Neo4j instance (one per data set)"
    )
    parser.add_argument("--bolt-port", type=int, default=28687)
    parser.add_argument("--http-port", type=int, default=28474)
    args = parser.parse_args()

    settings = Settings.with_fields(instance=args.instance, bolt_port=args.bolt_port,
                                    http_port=args.http_port, heap=args.heap,
                                    pagecache=args.pagecache)  # fmt: skip
    server = LocalServer(settings)
    folder = generated(args.users, args.seed, args.data_dir)
    marker = server.dir / MARKER
    if not marker.is_file() or marker.read_text().strip() != str(folder):
        server.stop()
        for sub in ("databases/neo4j", "transactions/neo4j"):
            shutil.rmtree(server.data_dir / sub, ignore_errors=True)
        server.start()
        t0 = time.perf_counter()
        bulk_load_tv(server, folder, database="neo4j", progress=True)
        print(f"loaded {folder} in {time.perf_counter() - t0:.0f} s", flush=True)
        marker.write_text(f"{folder}\n")
    models_dir = settings.home / "ranker-bench-models"
    # The config bench/train_tv.py uses at this size: a serving fixture, not a tuned model.
    config = TrainConfig(embedding_dim=64, epochs=args.epochs, num_negatives=1024,
                         batch_size=500_000, val_max_users=5_000, patience=5,
                         refit=False)  # fmt: skip
    with server.running(), open_driver(settings) as driver:
        t0 = time.perf_counter()
        outcome = train_version(driver, database="neo4j", models_dir=models_dir,
                                train_config=config, ranker_config=RankerConfig())  # fmt: skip
        total = time.perf_counter() - t0
        record = outcome.metrics["ranker"]
        version = load_version(outcome.path)
        cost = request_cost(driver, version) if version.ranker_text else None
    server.stop()  # this benchmark's own instance: never left running
    print(describe(outcome.metrics))
    ranker_s = float(record["seconds"])
    ratio = record.get("ranker_ndcg@10", float("nan")) / record.get("retrieval_ndcg@10", 1.0)
    print(
        "\n| users | lists (rows) | nDCG@10 ranker | nDCG@10 retrieval | ratio | AUC | log loss "
        "| ranker training | retrain without it | CPU per 200 candidates |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {args.users:,} | {record.get('lists', 0):,} ({record.get('validation_rows', 0):,}) "
        f"| {record.get('ranker_ndcg@10', float('nan')):.4f} "
        f"| {record.get('retrieval_ndcg@10', float('nan')):.4f} | {ratio:.3f} "
        f"| {record.get('auc', float('nan')):.4f} | {record.get('log_loss', float('nan')):.4f} "
        f"| {ranker_s:.0f} s | {total - ranker_s:.0f} s (+{ranker_s / (total - ranker_s):.0%}) "
        f"| {cost or 'no ranker'} |"
    )
    print(f"\ngate: {record['outcome']}: {record['reason']}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average "
          + " / ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(record, indent=1, default=str))


def request_cost(driver: Driver, version: ModelVersion, *, candidates: int = 200) -> str:
    """Median CPU time of features + P(complete) for ``candidates`` of one user."""
    if version.ranker_text is None:
        raise ValueError(f"version {version.version} has no ranker")
    ranker = Ranker.from_text(version.ranker_text)
    m = version.id_map
    user_row = int(version.holdout[0][0])
    top, scores = recommend(
        torch.as_tensor(version.embeddings), users=torch.as_tensor([user_row]),
        programs=torch.as_tensor(m.label_rows("Program")), k=candidates,
    )  # fmt: skip
    p0 = m.offsets["Program"]
    ids = [str(m.ids["Program"][p - p0]) for p in top[0].tolist()]
    user_id = str(m.ids["User"][user_row - m.offsets["User"]])
    user, facts = read_facts(driver, database="neo4j", users=[(user_id, ids)])[user_id]
    now = max((w.last_ts for w in user.watches), default=0.0) + 3600
    day = AudienceTable.day_of(now)
    table = read_audience(driver, database="neo4j",
                          since=datetime.fromtimestamp(day - 7 * 86_400, UTC),
                          until=datetime.fromtimestamp(day, UTC))  # fmt: skip
    week = table.week_before(now)
    score_list: list[float | None] = [float(s) for s in scores[0].tolist()]
    times = []
    for _ in range(200):
        t0 = time.process_time()
        ranker.predict(ranking_features(user, facts, score_list, week, now,
                                        completion_threshold=0.9))  # fmt: skip
        times.append(time.process_time() - t0)
    return f"{statistics.median(times) * 1000:.2f} ms"


if __name__ == "__main__":
    main()
