"""Chaos: Neo4j stopped under 32-client load, then started again (issue 18).

    .venv/bin/python bench/chaos.py [--clients 32] [--before 15] [--down 15] [--after 20]

Runs on a Neo4j instance of its own, ``chaos`` (Bolt 37787, HTTP 37574), holding a
generated data set (``--users``, ``--programs``; generated and loaded on the first run,
reused after) and a quickly trained model. Serves the API with uvicorn in a subprocess
(as ``bench/load_api.py`` does), then ``--clients`` clients request home rails of
random users, each request with its own ``X-Request-ID`` and after a 503 waiting what
its ``Retry-After`` asks (``--backoff`` for a fixed wait), while a poller reads
``/ready`` every 0.2 s. After ``--before`` seconds Neo4j is stopped (a clean
shutdown, as ``graphrails neo4j stop``); ``--down`` seconds after it is down it is
started again; ``--after`` seconds after it answers again the load stops. Before the
load, ``--warm-up`` home rails are asked one by one: a stop in production meets a warm
service, and a cold one (a Neo4j just started) is slow for reasons of its own.

Prints, for docs/benchmarks.md: how long after the stop began the first 503 came and
the slowest 503 (each must be answered within 1 s; for a request under way when the stop
began, also counted from the stop), other errors (500s, timeouts),
when ``/ready`` turned false and true again, how long after Neo4j answered again the
first 200 came and the last non-200 went, whether the API process is the one started,
and whether every rail answered 200 is in the served log (``Served.request_id``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from load_api import NOW, load_averages, start_api, stop_api, wait_ready  # bench/ is on sys.path

from graph.driver import open_driver
from graph.server import LocalServer
from graph.settings import Settings


def chaos_settings() -> Settings:
    return Settings.with_fields(
        instance="chaos",
        bolt_port=37787,
        http_port=37574,
        heap="1g",
        pagecache="512m",
        start_timeout_s=900.0,  # a loaded machine takes minutes
    )


@dataclass
class Answer:
    started: float
    seconds: float
    status: int  # 0: no answer (timeout, connection error)
    request_id: str
    kind: str = ""  # a 503's error kind, as its detail names it


@dataclass
class Timeline:
    answers: list[Answer] = field(default_factory=list)
    ready: list[tuple[float, bool]] = field(default_factory=list)
    stop_began: float = 0.0
    stopped: float = 0.0
    start_began: float = 0.0
    started: float = 0.0


def prepare(settings: Settings, models: Path, *, users: int, programs: int) -> list[str]:
    """Data and a model on the chaos instance (once); the ids of its users."""
    from gnn.artifacts import load_version
    from gnn.pipeline import publish, train_version
    from gnn.train import TrainConfig
    from loaders.generate import generate_tv
    from loaders.tv import load_tv

    with open_driver(settings) as driver:
        db = settings.neo4j_database
        records, _, _ = driver.execute_query("MATCH (u:User) RETURN u.id AS id", database_=db)
        if not records:
            folder = settings.home / "chaos-data"
            generate_tv(folder, users=users, programs=programs, seed=18, progress=False)
            load_tv(driver, folder, database=db, progress=False)
            records, _, _ = driver.execute_query("MATCH (u:User) RETURN u.id AS id", database_=db)
        if not any(models.glob("v*")):
            config = TrainConfig(embedding_dim=32, epochs=8, patience=2, batch_size=4096,
                                 num_negatives=64)  # fmt: skip
            outcome = train_version(driver, database=db, models_dir=models, train_config=config,
                                    progress=False)  # fmt: skip
            publish(driver, load_version(outcome.path), database=db, progress=False)
    return [str(r["id"]) for r in records]


async def client(base: str, users: list[str], rng: random.Random, t: Timeline,
                 until: asyncio.Event, backoff: float | None) -> None:  # fmt: skip
    """Home rails of random users until ``until``; after an answer other than 200, wait
    ``backoff`` seconds, or with None what the answer's ``Retry-After`` asks (0.05 s
    without one), as an app backend that honours it does."""
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as http:
        while not until.is_set():
            rid = f"chaos-{uuid.uuid4().hex}"
            started = time.monotonic()
            wait = backoff if backoff is not None else 0.05
            try:
                r = await http.get(f"/v1/users/{rng.choice(users)}/rails/home",
                                   params={"now": NOW, "limit": 20},
                                   headers={"X-Request-ID": rid})  # fmt: skip
                status = r.status_code
                kind = _kind(r) if status == 503 else ""
                if backoff is None and r.headers.get("Retry-After", "").isdigit():
                    wait = float(r.headers["Retry-After"])
            except httpx.HTTPError:
                status, kind = 0, ""
            t.answers.append(Answer(started, time.monotonic() - started, status, rid, kind))
            if status != 200:
                await asyncio.sleep(wait)


def _kind(r: httpx.Response) -> str:
    """A 503's kind: the error named in its detail, or for the slow start's, whether the
    rail was turned away or is still being computed."""
    detail = str(r.json().get("detail", ""))
    if detail.startswith("Neo4j is warming up"):
        return "WarmingUp, computing on" if "still being computed" in detail else "WarmingUp"
    return detail[detail.find("(") + 1 : detail.find(")")] if "(" in detail else detail


async def warm_up(base: str, users: list[str], requests: int) -> float:
    """``requests`` home rails one after the other, so that the load meets a warm service
    (Neo4j's plan cache and JIT, the API's caches) as a stop in production would; the
    seconds it took."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as http:
        for user in users[:requests]:
            await http.get(f"/v1/users/{user}/rails/home", params={"now": NOW, "limit": 20})
    return time.monotonic() - started


async def poll_ready(base: str, t: Timeline, until: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as http:
        while not until.is_set():
            try:
                ok = (await http.get("/ready")).status_code == 200
            except httpx.HTTPError:
                ok = False
            t.ready.append((time.monotonic(), ok))
            await asyncio.sleep(0.2)


async def run(server: LocalServer, base: str, users: list[str], args: argparse.Namespace
              ) -> Timeline:  # fmt: skip
    t = Timeline()
    until = asyncio.Event()
    rng = random.Random(args.seed)
    tasks = [asyncio.create_task(client(base, users, random.Random(rng.random()), t, until,
                                        args.backoff))
             for _ in range(args.clients)]  # fmt: skip
    tasks.append(asyncio.create_task(poll_ready(base, t, until)))
    await asyncio.sleep(args.before)
    t.stop_began = time.monotonic()
    await asyncio.to_thread(server.stop)
    t.stopped = time.monotonic()
    await asyncio.sleep(args.down)
    t.start_began = time.monotonic()
    await asyncio.to_thread(server.start)
    t.started = time.monotonic()
    await asyncio.sleep(args.after)
    until.set()
    await asyncio.gather(*tasks)
    return t


def report(t: Timeline, served: set[str], api_alive: bool) -> None:
    ok = [a for a in t.answers if a.status == 200]
    down = [a for a in t.answers if t.stop_began <= a.started < t.started]
    # An answer belongs to the outage if it came once the stop had begun.
    before = Counter(f"{a.status} {a.kind}".strip() for a in t.answers
                     if a.started + a.seconds < t.stop_began and a.status != 200)  # fmt: skip
    s503 = [a for a in t.answers if a.status == 503 and a.started + a.seconds >= t.stop_began]
    other = Counter(a.status for a in t.answers if a.status not in (200, 503))
    first_503 = min((a.started + a.seconds for a in s503), default=float("nan"))
    after = [a for a in t.answers if a.started >= t.started]
    first_ok = min((a.started + a.seconds for a in after if a.status == 200), default=float("nan"))
    last_bad = max((a.started + a.seconds for a in after if a.status != 200), default=t.started)
    not_ready = min((at for at, ok_ in t.ready if not ok_ and at >= t.stop_began), default=None)
    ready_again = min((at for at, ok_ in t.ready if ok_ and at >= t.started), default=None)
    missing = [a.request_id for a in ok if a.request_id not in served]
    print(
        f"load averages {load_averages()}; {len(t.answers):,} requests, "
        f"{len(ok):,} answered 200, {len(s503):,} 503 from the stop on, "
        f"other {dict(other) or 'none'}"
    )
    print(f"answers other than 200 before the stop: {dict(before) or 'none'}")
    print(
        f"Neo4j stop took {t.stopped - t.stop_began:.1f} s; start took "
        f"{t.started - t.start_began:.1f} s"
    )
    print(
        f"first 503: {first_503 - t.stop_began:.2f} s after the stop began "
        f"({first_503 - t.stopped:+.2f} s after Neo4j was down)"
    )
    slowest = max((a.seconds for a in s503), default=float("nan"))
    # A request under way when the stop began waited partly on a Neo4j that still served.
    since_stop = max((a.started + a.seconds - max(a.started, t.stop_began) for a in s503),
                     default=float("nan"))  # fmt: skip
    print(
        f"503s from the stop on: slowest answer {slowest * 1000:.0f} ms, "
        f"{since_stop * 1000:.0f} ms counted from the stop for a request under way; "
        f"requests while down: "
        f"{len(down):,} "
        f"({Counter(a.status for a in down)}); 503s by kind {dict(Counter(a.kind for a in s503))}"
    )
    if not_ready is not None:
        print(f"/ready false {not_ready - t.stop_began:.2f} s after the stop began")
    if ready_again is not None:
        print(f"/ready true {ready_again - t.started:.2f} s after Neo4j answered again")
    print(
        f"first 200 {first_ok - t.started:.2f} s after Neo4j answered again; last non-200 "
        f"{max(0.0, last_bad - t.started):.2f} s after"
    )
    print(f"API process never restarted: {api_alive}")
    print(
        f"served log: {len(ok) - len(missing):,} of {len(ok):,} rails answered 200 written; "
        f"missing {len(missing)}"
    )


def print_timeline(t: Timeline) -> None:
    """Answers by the second they came in (from the stop on), by status and 503 kind, with
    the slowest of each second; where Neo4j stopped and answered again."""
    marks = {int(t.stopped - t.stop_began): "Neo4j down", int(t.started - t.stop_began):
             "Neo4j answers again"}  # fmt: skip
    seconds: dict[int, Counter[str]] = {}
    slowest: dict[int, float] = {}
    for a in t.answers:
        second = int(a.started + a.seconds - t.stop_began)
        if second >= 0:
            seconds.setdefault(second, Counter())[f"{a.status} {a.kind}".strip()] += 1
            slowest[second] = max(slowest.get(second, 0.0), a.seconds)
    for second in sorted(seconds):
        print(f"{second:4d} s  slowest {slowest[second]:5.2f} s  {dict(seconds[second])}"
              f"{'  <- ' + marks[second] if second in marks else ''}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)  # fmt: skip
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--before", type=float, default=15.0)
    parser.add_argument("--down", type=float, default=15.0)
    parser.add_argument("--after", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--programs", type=int, default=800)
    parser.add_argument("--port", type=int, default=38018)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--warm-up", type=int, default=30,
                        help="home rails asked one by one before the load (0: none)")  # fmt: skip
    parser.add_argument("--backoff", type=float, default=None,
                        help="seconds a client waits after an answer other than 200 (default: "
                        "what its Retry-After asks, 0.05 s without one; the runs before "
                        "2026-12-06 19:00 UTC waited 0.05 s whatever it asked)")  # fmt: skip
    parser.add_argument("--timeline", action="store_true",
                        help="print the answers second by second from the stop on")  # fmt: skip
    args = parser.parse_args()

    settings = chaos_settings()
    models = settings.home / "chaos-models"
    server = LocalServer(settings)
    server.start()
    api = None
    try:
        users = prepare(settings, models, users=args.users, programs=args.programs)
        base = f"http://127.0.0.1:{args.port}"
        api = start_api(settings, models, port=args.port, workers=1, blas_threads=1)
        print(f"model {wait_ready(base, api)}; {len(users):,} users; {args.clients} clients",
              flush=True)  # fmt: skip
        warm = asyncio.run(warm_up(base, users, args.warm_up))
        print(f"warmed up with {args.warm_up} home rails one by one in {warm:.1f} s", flush=True)
        pid = api.pid
        timeline = asyncio.run(run(server, base, users, args))
        alive = api.poll() is None and api.pid == pid
        time.sleep(3.0)  # the served log writes about once a second
        ids = [a.request_id for a in timeline.answers if a.status == 200]
        with open_driver(settings) as driver:
            records, _, _ = driver.execute_query(
                "MATCH (s:Served) WHERE s.request_id STARTS WITH 'chaos-' "
                "RETURN DISTINCT s.request_id AS id",
                database_=settings.neo4j_database,
            )  # fmt: skip
        report(timeline, {r["id"] for r in records} & set(ids), alive)
        if args.timeline:
            print_timeline(timeline)
    finally:
        if api is not None:
            stop_api(api)
        server.stop()


if __name__ == "__main__":
    main()
