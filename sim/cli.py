"""``graphrails simulate``: simulated users with hidden tastes, through the real API."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from graph.server import free_ports
from graph.settings import Settings

READY_TIMEOUT_S = 600.0
"""How long the API this command starts may take to load its model (minutes on a busy box)."""


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    import httpx
    from neo4j import RoutingControl

    from experiments import store
    from experiments.arms import PRESETS, Experiment
    from graph.driver import open_driver
    from graph.queries import query
    from sim.run import choose_users, simulate
    from sim.users import load_catalogue, load_truth

    if args.days < 1:
        raise ValueError(f"--days must be >= 1, got {args.days}")
    if args.concurrency < 1:
        raise ValueError(f"--concurrency must be >= 1, got {args.concurrency}")
    folder = Path(args.data) if args.data else demo_folder(settings)
    truth = load_truth(folder)
    catalogue = load_catalogue(folder, truth.genres)
    users = choose_users(truth, args.users, seed=args.seed)
    db = settings.neo4j_database
    with open_driver(settings) as driver:
        try:
            experiment = store.get(driver, args.experiment, database=db)
        except store.ExperimentError:
            experiment = store.create(
                driver,
                Experiment(name=args.experiment, salt=args.experiment,
                           arms=PRESETS[args.preset](),
                           description=f"created by graphrails simulate ({args.preset})"),
                database=db,
            )  # fmt: skip
            print(f"Created experiment {experiment.name}:")
            for arm in experiment.arms:
                print(f"  {arm.describe()}")
        if experiment.status != "running":
            raise ValueError(
                f"experiment {experiment.name} is {experiment.status}: simulate under a "
                "running one (an experiment is never restarted; create another name)"
            )
        records, _, _ = driver.execute_query(
            query("sim/clock"), database_=db, routing_=RoutingControl.READ
        )
    clock = records[0]
    if args.start:
        start = datetime.fromisoformat(args.start)
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    else:
        latest = [t.to_native() for t in (clock["latest_watch"], clock["latest_skip"]) if t]
        if not latest:
            raise ValueError("the graph holds no watch: give --start (ISO 8601)")
        start = (max(latest) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(days=args.days)
    epg_end = clock["epg_end"].to_native() if clock["epg_end"] else None
    print(
        f"Simulating {len(users):,} users of {folder} for {args.days} days from "
        f"{start:%Y-%m-%d %H:%M} UTC, seed {args.seed}, experiment {experiment.name}"
    )
    if epg_end is not None and end > epg_end:
        print(f"  note: the EPG's last live airing ends {epg_end:%Y-%m-%d %H:%M}; after it the "
              "rails hold only what is still on replay or VOD")  # fmt: skip
    # The simulated days may run ahead of the clock: the API must take events dated then
    # (a watch started in the last hour ends after it: a day more).
    until_end_h = (end - datetime.now(UTC)).total_seconds() / 3600
    ahead_h = max(settings.event_future_hours, until_end_h + 24)
    if args.api_url and ahead_h > settings.event_future_hours:
        print(f"  note: the simulation runs until {end:%Y-%m-%d %H:%M} UTC; the API at "
              "--api-url must accept events that far ahead of its clock "
              f"(GRAPHRAILS_EVENT_FUTURE_HOURS >= {ahead_h:.0f})")  # fmt: skip
    with _api(args, settings, future_hours=ahead_h) as (url, key):
        headers = {"X-API-Key": key}
        tag = f"{experiment.name}-s{args.seed}-{start:%Y%m%dT%H}"

        async def go() -> Any:
            limits = httpx.Limits(max_connections=args.concurrency + 2)
            async with httpx.AsyncClient(
                base_url=url, headers=headers, timeout=120, limits=limits
            ) as client:
                await _await_experiment(
                    client, experiment.name, timeout=settings.experiments_poll_s * 2 + 30
                )
                return await simulate(
                    client, truth, catalogue, users=users, days=args.days, start=start,
                    seed=args.seed, tag=tag, limit=args.limit, concurrency=args.concurrency,
                    completed_at=settings.completion_threshold, progress=not args.quiet,
                )  # fmt: skip

        summary = asyncio.run(go())
        if args.api_url:
            # The API writes the served log about once a second: let it catch up.
            time.sleep(2 * settings.served_flush_s + 1)
    print(summary.describe())
    print(f"Report: graphrails experiments report {experiment.name} [--json]")
    return 0


def demo_folder(settings: Settings) -> Path:
    """The newest demo data set that has a truth file."""
    found = sorted(
        (p for p in (settings.home / "demo").glob("tv-*") if (p / "user_truth.csv").is_file()),
        key=lambda p: p.stat().st_mtime,
    )
    if not found:
        raise ValueError(
            f"no demo data set with user_truth.csv under {settings.home / 'demo'}: run "
            "graphrails demo first, or give --data FOLDER (from graphrails generate tv)"
        )
    return found[-1]


async def _await_experiment(client: Any, name: str, *, timeout: float) -> None:
    """Wait until the API serves under experiment ``name`` (it polls Neo4j for it), as
    ``/ready`` says: asking for a rail would log an exposure outside the simulation."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        response = await client.get("/ready")
        if response.status_code == 200 and response.json().get("experiment") == name:
            return
        if time.monotonic() > deadline:
            raise ValueError(
                f"the API at {client.base_url} does not serve under experiment {name} after "
                f"{timeout:.0f} s (is it running against the same Neo4j?)"
            )
        await asyncio.sleep(1.0)


@contextlib.contextmanager
def _api(
    args: argparse.Namespace, settings: Settings, *, future_hours: float
) -> Iterator[tuple[str, str]]:
    """The API to drive and a key it accepts: ``--api-url`` with the first key of
    GRAPHRAILS_API_KEYS, or an API started here on a free port with a fresh key, taking
    events dated up to ``future_hours`` ahead of the clock."""
    if args.api_url:
        keys = settings.api_key_list
        if not keys:
            raise ValueError(
                "GRAPHRAILS_API_KEYS is not set: the simulator posts events with its first "
                "key, which the API at --api-url must accept"
            )
        yield args.api_url.rstrip("/"), keys[0]
        return
    import httpx

    port = free_ports(1)[0]  # for the API this command starts
    key = secrets.token_urlsafe(32)
    env = {**os.environ, "GRAPHRAILS_API_KEYS": key, "OPENBLAS_NUM_THREADS": "1",
           "GRAPHRAILS_EVENT_FUTURE_HOURS": f"{future_hours:.3f}"}  # fmt: skip
    log = settings.home / "simulate-api.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise ValueError(f"the API stopped while starting; its log: {log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise ValueError(f"the API was not ready after {READY_TIMEOUT_S:.0f} s: {log}")
            time.sleep(0.5)
        print(f"  API started on {url} (log: {log})")
        yield url, key
    finally:
        process.terminate()  # the lifespan writes what the served log still holds
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``simulate`` to the ``graphrails`` parser."""
    p = sub.add_parser(
        "simulate",
        help="simulated users through the real API, under an experiment",
        description="Simulated users with the generator's hidden tastes ask for their home "
        "rail, watch, skip and post events, day after day, under experiment NAME (created "
        "with --preset's arms when it does not exist).",
    )
    p.add_argument("--users", type=int, default=500, help="(default: 500)")
    p.add_argument("--days", type=int, default=3, help="(default: 3)")
    p.add_argument("--seed", type=int, default=1, help="(default: 1)")
    p.add_argument("--experiment", required=True, metavar="NAME")
    p.add_argument(
        "--preset", choices=["personalised-vs-popular", "fatigue", "ranker"],
        default="personalised-vs-popular", help="arms of a new experiment "
        "(default: personalised-vs-popular)",
    )  # fmt: skip
    p.add_argument("--data", help="the data set's folder (default: the newest demo one)")
    p.add_argument("--api-url", help="an API already running (default: start one here)")
    p.add_argument("--start", help="simulated start, ISO 8601 (default: after the last watch)")
    p.add_argument("--limit", type=int, default=20, help="items per home rail (default: 20)")
    p.add_argument("--concurrency", type=int, default=8, help="sessions at once (default: 8)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_simulate)
