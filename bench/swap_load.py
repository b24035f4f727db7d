"""Load test of the hot swap: the real API under concurrent load while versions change.

    .venv/bin/python bench/swap_load.py [--clients 16] [--switches 4] [--settle 8]
                                        [--users 5000] [--programs 2000] [--epochs 40]

Uses its own local Neo4j instance ``swap`` (ports 47687/47474, started here if
stopped, stopped again if started here) holding the demo-size graph
(``graphrails generate tv`` defaults of ``graphrails demo``: 5,000 users, 2,000
programs, seed 1), generated and loaded on the first run. Trains three versions
(``--epochs`` caps each fit; a cached set under ``<home>/swap-models`` is
reused), publishes the first, and serves the API with uvicorn in a subprocess
(``bench/load_api.py``'s ``start_api``), pointed at that models directory.

Then ``--clients`` clients request home rails of random users (10 % unknown)
back to back, as in ``bench/load_api.py``, while an operator thread changes the
serving version ``--switches`` times: promote b, promote c, rollback (b again),
promote c..., each time writing the embeddings, flipping the serving flag and
waiting for ``/ready`` to report it, then letting the load run ``--settle``
seconds on it. A *switch window* runs from the start of a promotion to one
second after ``/ready`` reports the new version.

Prints one Markdown row per window kind (all, during switches, outside) with
requests, failures (non-200 or transport errors), p50/p95/p99/max latency, and
the versions the responses reported, in the order they were answered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_api import NOW, UserPicker, known_users, load_averages, start_api, wait_ready

from gnn.artifacts import list_versions
from gnn.pipeline import promote, rollback, serving_version, train_version
from gnn.train import TrainConfig
from graph.driver import open_driver
from graph.schema import init_schema
from graph.server import LocalServer
from graph.settings import Settings


def swap_settings() -> Settings:
    return Settings.with_fields(
        instance="swap", bolt_port=47687, http_port=47474, heap="1g", pagecache="1g"
    )


@dataclass
class Sample:
    start: float
    ms: float
    ok: bool
    version: str | None


@dataclass
class Switch:
    action: str
    version: str
    start: float
    ready_at: float = 0.0


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


def ensure_graph(settings: Settings, users: int, programs: int) -> None:
    """Generate and load the demo-size graph once (kept in the instance afterwards)."""
    from loaders.generate import generate_tv
    from loaders.tv import load_tv

    with open_driver(settings) as driver:
        db = settings.neo4j_database
        init_schema(driver, database=db)
        records, _, _ = driver.execute_query("MATCH (u:User) RETURN count(u) AS n", database_=db)
        if records[0]["n"] >= users:
            return
        folder = settings.home / "swap-data" / f"tv-{users}u-{programs}p"
        if not (folder / "watch_events.csv").exists():
            generate_tv(folder, users=users, programs=programs, seed=1)
        load_tv(driver, folder, database=db)


def ensure_versions(settings: Settings, models_dir: Path, epochs: int) -> list[str]:
    """Three versions on disk (seeds 0, 1, 2), the first one serving."""
    db = settings.neo4j_database
    with open_driver(settings) as driver:
        names = [p.name for p in list_versions(models_dir)]
        for seed in range(len(names), 3):
            config = TrainConfig(epochs=epochs, seed=seed)
            outcome = train_version(driver, database=db, models_dir=models_dir,
                                    train_config=config)  # fmt: skip
            names.append(outcome.path.name)
            print(f"trained {outcome.path.name}: ndcg@10 {outcome.metrics['ndcg@10']:.4f}, "
                  f"{outcome.epochs} epochs", flush=True)  # fmt: skip
        names = names[-3:]
        serving = serving_version(driver, database=db)
        if serving is None or serving.version != names[0]:
            promote(driver, models_dir, names[0], database=db, progress=False)
    return names


def operator(
    settings: Settings, models_dir: Path, base_url: str, names: list[str], *,
    switches: int, settle: float, run: Run, done: threading.Event,
) -> None:  # fmt: skip
    """Change the serving version ``switches`` times, waiting for the API each time."""
    _, b, c = names
    plan = [("promote", b), ("promote", c), ("rollback", b), ("promote", c)]
    plan = (plan * (switches // len(plan) + 1))[:switches]
    db = settings.neo4j_database
    try:
        time.sleep(settle)
        with open_driver(settings) as driver:
            for action, version in plan:
                switch = Switch(action, version, time.perf_counter())
                if action == "promote":
                    promote(driver, models_dir, version, database=db, progress=False)
                else:
                    rollback(driver, models_dir, database=db, progress=False)
                while httpx.get(f"{base_url}/ready", timeout=10).json()["model_version"] != version:
                    time.sleep(0.02)
                switch.ready_at = time.perf_counter()
                run.switches.append(switch)
                print(f"{action} {version}: served after {switch.ready_at - switch.start:.2f} s",
                      flush=True)  # fmt: skip
                time.sleep(settle)
    finally:
        done.set()


async def load(base_url: str, pick: UserPicker, clients: int, run: Run,
               done: threading.Event) -> None:  # fmt: skip
    async def client() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=120.0) as http:
            while not done.is_set():
                t0 = time.perf_counter()
                try:
                    r = await http.get(f"/v1/users/{pick()}/rails/home",
                                       params={"limit": 20, "now": NOW})  # fmt: skip
                except httpx.HTTPError as e:
                    run.errors[type(e).__name__] = run.errors.get(type(e).__name__, 0) + 1
                    run.samples.append(Sample(t0, (time.perf_counter() - t0) * 1000, False, None))
                    continue
                ms = (time.perf_counter() - t0) * 1000
                ok = r.status_code == 200
                if not ok:
                    key = f"HTTP {r.status_code}"
                    run.errors[key] = run.errors.get(key, 0) + 1
                run.samples.append(Sample(t0, ms, ok, r.json()["model_version"] if ok else None))

    await asyncio.gather(*(client() for _ in range(clients)))


def row(name: str, samples: list[Sample]) -> str:
    lat = sorted(s.ms for s in samples)

    def pct(p: float) -> str:
        return f"{lat[min(len(lat) - 1, round(p / 100 * (len(lat) - 1)))]:.1f}" if lat else "-"

    failures = sum(not s.ok for s in samples)
    return (f"| {name} | {len(samples):,} | {failures} | {pct(50)} | {pct(95)} | {pct(99)} | "
            f"{max(lat, default=0):.1f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--switches", type=int, default=4)
    parser.add_argument("--settle", type=float, default=8.0, help="seconds of load per version")
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--programs", type=int, default=2_000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--port", type=int, default=48000)
    parser.add_argument("--poll", type=float, default=1.0, help="GRAPHRAILS_MODEL_POLL_INTERVAL")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stop", action="store_true", help="stop the swap instance at the end")
    args = parser.parse_args()

    settings = swap_settings()
    models_dir = settings.home / "swap-models"
    server = LocalServer(settings)
    api = None
    with server.running(stop=args.stop):
        try:
            ensure_graph(settings, args.users, args.programs)
            names = ensure_versions(settings, models_dir, args.epochs)
            users = known_users(settings)
            os.environ["GRAPHRAILS_MODEL_POLL_INTERVAL"] = str(args.poll)
            base_url = f"http://127.0.0.1:{args.port}"
            api = start_api(settings, models_dir, port=args.port, workers=1, blas_threads=1)
            print(f"serving {wait_ready(base_url, api)}; {len(users):,} users; "
                  f"{args.clients} clients; poll {args.poll} s", flush=True)  # fmt: skip
            pick = UserPicker(users, 0.1, args.seed)
            run, done = Run(), threading.Event()
            thread = threading.Thread(
                target=operator, args=(settings, models_dir, base_url, names),
                kwargs={"switches": args.switches, "settle": args.settle, "run": run, "done": done},
            )  # fmt: skip
            t0 = time.perf_counter()
            thread.start()
            asyncio.run(load(base_url, pick, args.clients, run, done))
            thread.join()
            seconds = time.perf_counter() - t0
            windows = [(s.start, s.ready_at + 1.0) for s in run.switches]
            during = [s for s in run.samples if any(a <= s.start <= b for a, b in windows)]
            outside = [s for s in run.samples if not any(a <= s.start <= b for a, b in windows)]
            seen: list[str] = []
            for s in sorted(run.samples, key=lambda s: s.start + s.ms / 1000):  # by answer time
                if s.version and (not seen or seen[-1] != s.version):
                    seen.append(s.version)
            print(f"\n{len(run.switches)} switches in {seconds:.0f} s; "
                  f"{len(run.samples) / seconds:.1f} req/s; "
                  f"load avg {load_averages()}")  # fmt: skip
            print("| requests | count | failures | p50 ms | p95 ms | p99 ms | max ms |")
            print("|---|---|---|---|---|---|---|")
            print(row("all", run.samples))
            print(row("during switches", during))
            print(row("outside switches", outside))
            print(f"errors {run.errors}; versions answered, in order: {' -> '.join(seen)}")
            print("switch to served: " + ", ".join(
                f"{s.action} {s.ready_at - s.start:.2f} s" for s in run.switches))  # fmt: skip
        finally:
            if api is not None:
                api.terminate()
                api.wait(timeout=30)


if __name__ == "__main__":
    main()
