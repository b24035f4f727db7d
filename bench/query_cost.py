"""CPU cost of each Cypher round trip of the home rail, one query at a time, on the bench graph.

    .venv/bin/python bench/query_cost.py [--users 400] [--warmup 50] [--rounds 3]

For random users the model knows, runs each query through the API's async
driver (``execute_query``, as the API does) once per user, after ``--warmup``
untimed runs, and prints per query: the Neo4j JVM's CPU time, this process's
CPU time (the driver packing and unpacking) and the wall time, each per call.
It does so ``--rounds`` times: the first rounds after a start of Neo4j mostly
measure the JVM compiling, so read the last one.
The queries: an empty ``RETURN 1`` (the floor of any round trip), the user's
context, and eligibility for the model's top 200 candidates with the first
40 offers (a rail of 20's first call), all 200 offers, and 40 candidates.
Starts the ``bench`` instance if it is stopped, and stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from load_api import (  # bench/ is on sys.path
    NOW,
    bench_settings,
    cpu_seconds,
    known_users,
    load_averages,
)
from neo4j import AsyncDriver

from api.model import ServingModel, load_serving_model
from graph.driver import open_async_driver
from graph.queries import query
from graph.server import LocalServer
from graph.settings import Settings

Params = Callable[[str], dict[str, Any]]


def cases(model: ServingModel) -> dict[str, tuple[str, Params]]:
    now = datetime.fromisoformat(NOW.replace("Z", "+00:00")).astimezone(UTC)

    def eligibility(candidates: int, offers: int) -> Params:
        return lambda user: {
            "user_id": user, "now": now, "horizon": now + timedelta(days=7),
            "program_ids": [p for p, _ in model.for_user(user, candidates)],
            "completion": 0.9, "default_ceiling": 2, "check_availability": True,
            "fatigue_completion": 0.7, "fatigue_programs": 30, "fatigue_series": 1,
            "fatigue_channels": 1, "max_offers": offers, "skip_series": [],
        }  # fmt: skip

    context = query("rails/user_context")
    eligible = query("rails/eligible")
    return {
        "RETURN 1": ("RETURN 1 AS x", lambda user: {}),
        "user context": (
            context,
            lambda user: {
                "user_id": user,
                "now": now,
                "anchors": 5,
                "recent": 20,
                "anchor_completion": 0.9,
            },
        ),
        "eligibility 200 candidates, 40 offers": (eligible, eligibility(200, 40)),
        "eligibility 200 candidates, all offers": (eligible, eligibility(200, 200)),
        "eligibility 40 candidates": (eligible, eligibility(40, 40)),
    }


async def measure(
    settings: Settings, users: list[str], warmup: int, neo4j_pid: int, rounds: int
) -> None:
    driver = open_async_driver(settings)
    try:
        model = await load_serving_model(
            driver, database=settings.neo4j_database, models_dir=settings.models_path
        )
        if model is None:
            raise SystemExit("no model version: run bench/train_tv.py first")
        known = [u for u in users if model.knows_user(u)]
        print(f"model {model.version}; {len(known) - warmup} users timed per query")
        for round_ in range(1, rounds + 1):
            print(f"\nround {round_}, load averages {load_averages()}")
            await one_round(driver, settings, model, known, warmup, neo4j_pid)
    finally:
        await driver.close()


async def one_round(
    driver: AsyncDriver, settings: Settings, model: ServingModel, users: list[str], warmup: int,
    neo4j_pid: int,
) -> None:  # fmt: skip
    print("| query | Neo4j CPU ms | API CPU ms | wall ms |\n|---|---|---|---|")
    for name, (statement, params) in cases(model).items():
        runs = [params(u) for u in users]
        for p in runs[:warmup]:
            await driver.execute_query(statement, p, database_=settings.neo4j_database)
        neo4j, api, wall = cpu_seconds([neo4j_pid]), time.process_time(), time.perf_counter()
        for p in runs[warmup:]:
            await driver.execute_query(statement, p, database_=settings.neo4j_database)
        n = len(runs) - warmup
        print(f"| {name} | {(cpu_seconds([neo4j_pid]) - neo4j) / n * 1000:.2f} | "
              f"{(time.process_time() - api) / n * 1000:.2f} | "
              f"{(time.perf_counter() - wall) / n * 1000:.2f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    settings = bench_settings()
    settings = settings.model_copy(update={"models_path": settings.home / "bench-models"})
    server = LocalServer(settings)
    with server.running():
        users = random.Random(args.seed).sample(known_users(settings), args.users + args.warmup)
        neo4j_pid = server.pid()
        assert neo4j_pid is not None
        asyncio.run(measure(settings, users, args.warmup, neo4j_pid, args.rounds))


if __name__ == "__main__":
    main()
