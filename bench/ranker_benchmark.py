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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tv_data import generated

from gnn.artifacts import ModelVersion, load_version
from gnn.pipeline import describe, train_version
from gnn.ranker import ranking_features
from gnn.ranker_train import RankerConfig
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
    parser.add_argument(
        "--cost-only",
        type=Path,
        default=None,
        metavar="VERSION_DIR",
        help="only measure the API cost of this version's ranker (no training)",
    )
    parser.add_argument(
        "--no-stages",
        action="store_true",
        help="with --cost-only: the whole requests only, not the stages",
    )
    args = parser.parse_args()

    settings = Settings.with_fields(instance=args.instance, bolt_port=args.bolt_port,
                                    http_port=args.http_port, heap=args.heap,
                                    pagecache=args.pagecache)  # fmt: skip
    server = LocalServer(settings)
    if args.cost_only is not None:
        with server.running():
            measured = request_cost(settings, load_version(args.cost_only),
                                    stages=not args.no_stages)  # fmt: skip
        print(json.dumps(measured, indent=1))
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
              + " / ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
        return
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
        cost = request_cost(settings, version) if version.ranker_text else None
    server.stop()  # this benchmark's own instance: never left running
    print(describe(outcome.metrics))
    ranker_s = float(record["seconds"])
    added = f"{cost['added_ms']:.2f} ms" if cost else "no ranker"
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
        f"| {added} |"
    )
    print(f"\ngate: {record['outcome']}: {record['reason']}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average "
          + " / ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    if cost:
        print("API CPU per home rail (ms): " + json.dumps(cost))
    if args.json:
        args.json.write_text(json.dumps({**record, "api_cost": cost}, indent=1, default=str))


def request_cost(
    settings: Settings, version: ModelVersion, *, users: int = 40, reps: int = 5,
    stages: bool = True,
) -> dict[str, float]:  # fmt: skip
    """The API CPU the ranker adds to a home rail: ``users`` users with a stored list of
    the version's 200 candidates, each asked for their home rail ``reps`` times with the
    version and with the same version without its ranker (alternately, in this one
    process: ``time.process_time`` around ``RailsService.home``); the median over users of
    the difference of their median times, with the garbage collector settled after the
    warm-up as the API settles it once started (``api.main.settle_garbage_collector``;
    with Python's default thresholds the young generation is collected every 700
    allocations, and a ranked rail allocates more). Then (``stages``), where it goes:
    ``read_home`` as the ranked rail reads it (eligibility of every candidate, the user's
    side), without the user's side, and as the plain rail reads it (the first 40 offers);
    the features and the model's prediction."""
    import asyncio
    import dataclasses

    import numpy as np

    from api.main import settle_garbage_collector
    from api.model import ServingModel
    from api.rails.assembly import OFFERS_PER_ITEM
    from api.rails.precomputed import read_home
    from api.rails.service import MIN_HISTORY, RailsService
    from gnn.candidates import user_candidates
    from graph.driver import open_async_driver
    from graph.queries import query

    served = ServingModel.from_version(version)
    if served.ranker is None:
        raise ValueError(f"version {version.version} has no ranker")
    plain = dataclasses.replace(served, ranker=None)
    limit = 20
    with open_driver(settings) as driver:
        records, _, _ = driver.execute_query(
            "MATCH (u:User)-[w:WATCHED]->() WITH u, count(w) AS n, max(w.last_ts) AS last "
            "WHERE n >= 20 RETURN u.id AS id, last.epochSeconds AS last ORDER BY id",
            database_="neo4j",
        )  # fmt: skip
        known = [r for r in records if r["id"] in served.user_rows]
        picked = [known[i] for i in np.linspace(0, len(known) - 1, users).astype(int)]
        ids = {r["id"] for r in picked}
        # One `now` for all (one audience table): an hour after the latest of their watches.
        now = datetime.fromtimestamp(max(r["last"] for r in picked) + 3600, UTC)
        rows = [row for batch in user_candidates(version, k=settings.candidates)
                for row in batch if row["id"] in ids]  # fmt: skip
        driver.execute_query(query("candidates/users"), rows=rows, version=version.version,
                             at=int(now.timestamp()), database_="neo4j")  # fmt: skip

    async def measure() -> dict[str, float]:
        async with open_async_driver(settings) as adriver:
            service = RailsService(adriver, settings, served)
            ranked_service = service
            plain_service = RailsService(adriver, settings, plain)
            plain_service.cache, plain_service.explainer = service.cache, service.explainer
            # Warm: plans, caches, the program table, and Neo4j's JIT (a server just started
            # by --cost-only compiles on both cores for a while, and its compiler threads
            # evict the API's caches: warmed by 5 users' rails, the ranker added 1.16-1.26
            # ms at 20k users right after a start, 0.94-1.00 ms on a server warmed before).
            for _ in range(2):
                for s in (ranked_service, plain_service):
                    for r in picked:
                        await s.home(r["id"], now=now, limit=limit)
            settle_garbage_collector()  # as the API does once it has started
            times: dict[str, list[float]] = {"ranked": [], "plain": []}
            diffs = []
            for r in picked:
                mine: dict[str, list[float]] = {"ranked": [], "plain": []}
                for _ in range(reps):
                    for name, s in (("ranked", ranked_service), ("plain", plain_service)):
                        t0 = time.process_time()
                        rail = await s.home(r["id"], now=now, limit=limit)
                        mine[name].append(time.process_time() - t0)
                        if name == "ranked" and rail.items:
                            assert rail.items[0].score_kind == "p_complete", rail.ranker_fallback
                for name in mine:
                    times[name].append(statistics.median(mine[name]))
                diffs.append(statistics.median(mine["ranked"]) - statistics.median(mine["plain"]))
            out = {
                "home_ranked_ms": statistics.median(times["ranked"]) * 1000,
                "home_plain_ms": statistics.median(times["plain"]) * 1000,
                "added_ms": statistics.median(diffs) * 1000,
                "stored_reads": float(service.home_reads["stored"]),
            }
            if stages:
                out.update(await stage_costs(service, picked, now, reps=reps))
            return out

    async def stage_costs(
        service: RailsService, picked: list[Any], now: datetime, *, reps: int
    ) -> dict[str, float]:
        stage: dict[str, list[float]] = {"read_ranked": [], "read_no_user": [],
                                         "read_plain": [], "features": [], "predict": [],
                                         "candidates": []}  # fmt: skip
        ranker = served.ranker
        assert ranker is not None
        programs = await service.ranking.programs()
        week = (await service.ranking._table(now.timestamp())).week_before(now.timestamp())
        for r in picked:
            for _ in range(reps):
                t0 = time.process_time()
                read = await read_home(
                    service.driver, settings, service.fatigue, r["id"], now,
                    version=served.version, min_history=MIN_HISTORY,
                    candidates=settings.candidates, max_offers=settings.candidates, ranker=True,
                )  # fmt: skip
                t1 = time.process_time()
                await read_home(
                    service.driver, settings, service.fatigue, r["id"], now,
                    version=served.version, min_history=MIN_HISTORY,
                    candidates=settings.candidates, max_offers=settings.candidates,
                )  # fmt: skip
                t1b = time.process_time()
                await read_home(
                    service.driver, settings, service.fatigue, r["id"], now,
                    version=served.version, min_history=MIN_HISTORY,
                    candidates=settings.candidates, max_offers=OFFERS_PER_ITEM * limit,
                )  # fmt: skip
                t2 = time.process_time()
                assert read.ranking_user is not None and read.candidates is not None
                scores = dict(read.candidates)
                rows = programs.rows_of(o.program_id for o in read.offers)
                f = ranking_features(
                    read.ranking_user, programs, rows,
                    [scores.get(o.candidate_id) for o in read.offers], week, now.timestamp(),
                    completion_threshold=settings.completion_threshold,
                )  # fmt: skip
                t3 = time.process_time()
                ranker.predict(f)
                t4 = time.process_time()
                for k, v in zip(stage, (t1 - t0, t1b - t1, t2 - t1b, t3 - t2, t4 - t3,
                                        len(rows)), strict=True):  # fmt: skip
                    stage[k].append(v * 1000 if k != "candidates" else v)
        return {
            "read_home_ranked_ms": statistics.median(stage["read_ranked"]),
            "read_home_all_offers_ms": statistics.median(stage["read_no_user"]),
            "read_home_plain_ms": statistics.median(stage["read_plain"]),
            "features_ms": statistics.median(stage["features"]),
            "predict_ms": statistics.median(stage["predict"]),
            "offers_ranked": statistics.median(stage["candidates"]),
        }

    return asyncio.run(measure())


if __name__ == "__main__":
    main()
