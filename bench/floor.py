"""The floor under the home rail's p99: what N closed-loop clients get on this machine when a
request does next to nothing, and what they get from the home rail itself.

    .venv/bin/python bench/floor.py [--clients 1,32] [--duration 30] [--workers 1]
                                    [--kinds http,bolt,bolt2,home]
    .venv/bin/python bench/floor.py --kinds bolt,home,because,similar,popular,best \
        --clients 1,8,32 --duration 20

Each kind is served by uvicorn (uvloop/httptools, as ``bench/load_api.py`` serves the API)
on 127.0.0.1 and loaded from this process by a bare HTTP/1.1 keep-alive client on uvloop
(a few tens of microseconds of CPU per request, where ``load_api.py``'s httpx clients cost
about 2 ms), so that the CPU of the 2 cores goes to the server:

- ``driver``: no HTTP and no API: this process sends ``RETURN 1`` through the async
  driver itself, as the API does (the floor of any request that reads Neo4j);
- ``http``: a FastAPI route that returns a canned 20-item rail (no Neo4j at all);
- ``bolt``: the same after one ``RETURN 1`` round trip through the async driver;
- ``bolt2``: after two, the fewest a personalised home rail makes (the user's context,
  then eligibility), each doing no work;
- ``home``: the real API's home rail on the ``bench`` graph (the model
  ``bench/train_tv.py`` published), 10 % of its users unknown, as in ``load_api.py``;
- ``because``, ``similar``, ``popular``, ``best``: the API's because-you-watched rails
  (``limit=20``, up to three rails per request), similar programs of a random program for
  the user, popular in the user's bundles and best of them (``limit=20``), same users.

``bolt`` is the floor the rails are compared with: one empty round trip through the API's
stack (its middleware, FastAPI, the async driver). The last table gives each kind's
throughput as a ratio to the floor's at the same number of clients, in the same run.

Each kind runs a warm-up (``--warmup`` requests from the most clients, not recorded),
then a phase for each number of ``--clients``, each for ``--duration`` seconds. The
percentiles are of every request's own latency (no coordinated-omission correction, as in
``load_api.py``). Prints one Markdown row per phase for docs/benchmarks.md, with the CPU
time per request of the server processes, of Neo4j and of this load generator (all on the
same cores). Starts the ``bench`` instance if it is stopped, and stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import uvloop
from floor_app import return_one  # bench/ is on sys.path
from load_api import (  # bench/ is on sys.path
    NOW,
    Phase,
    bench_settings,
    children,
    known_programs,
    known_users,
    measured,
    start_api,
    stop_api,
    wait_ready,
)
from neo4j import AsyncDriver

from api.main import settle_garbage_collector
from graph.driver import open_async_driver
from graph.server import LocalServer

KINDS = ("driver", "http", "bolt", "bolt2", "home", "because", "similar", "popular", "best")
FLOOR = "bolt"
"""The kind every other is compared with: one empty round trip through the API's stack."""
PATHS = {
    "http": "/floor/0/{user}",
    "bolt": "/floor/1/{user}",
    "bolt2": "/floor/2/{user}",
    "home": "/v1/users/{user}/rails/home?limit=20&now=" + NOW,
    "because": "/v1/users/{user}/rails/because-you-watched?limit=20&now=" + NOW,
    "similar": "/v1/programs/{program}/similar?user_id={user}&limit=20&now=" + NOW,
    "popular": "/v1/rails/popular?user_id={user}&limit=20&now=" + NOW,
    "best": "/v1/rails/best-of-bundle?user_id={user}&limit=20&now=" + NOW,
}
APPS = {kind: "api.main:create_app" for kind in ("home", "because", "similar", "popular", "best")}
FLOOR_APP = "bench.floor_app:create_floor_app"


HEADER = (
    "| kind | clients | requests | p50 ms | p95 ms | p99 ms | max ms | req/s | errors "
    "| CPU ms/req server | Neo4j | load gen | load avg 1/5/15 |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    """One keep-alive GET; the status code (the body is read and dropped)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(head[9:12])


Send = Callable[[], Awaitable[bool]]
"""One request of a client; whether it succeeded."""


@asynccontextmanager
async def http_client(port: int, path: Callable[[], str]) -> AsyncIterator[Send]:
    """A client on its own keep-alive connection, GETting ``path()``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> bool:
        return await _get(reader, writer, path()) == 200

    try:
        yield send
    finally:
        writer.close()


@asynccontextmanager
async def driver_client(driver: AsyncDriver, database: str) -> AsyncIterator[Send]:
    """A client that sends ``RETURN 1`` through the async driver itself, as the API does."""

    async def send() -> bool:
        await return_one(driver, database)
        return True

    yield send


async def run_phase(
    phase: Phase,
    client: Callable[[], AbstractAsyncContextManager[Send]],
    *,
    duration: float,
    requests: int | None = None,
    pids: dict[str, list[int]],
) -> Phase:
    """``phase.clients`` closed-loop clients for ``duration`` s (or until ``requests`` are
    done)."""
    deadline = time.perf_counter() + duration
    issued = 0

    async def loop() -> None:
        nonlocal issued
        async with client() as send:
            while time.perf_counter() < deadline and (requests is None or issued < requests):
                issued += 1
                t0 = time.perf_counter()
                if await send():
                    phase.latencies_ms.append((time.perf_counter() - t0) * 1000)
                else:
                    phase.errors["not 200"] += 1

    return await measured(phase, pids, [loop() for _ in range(phase.clients)])


async def run_kind(
    kind: str,
    client: Callable[[], AbstractAsyncContextManager[Send]],
    args: argparse.Namespace,
    pids: dict[str, list[int]],
) -> list[Phase]:
    """The warm-up (not kept), then a phase per number of ``args.clients``; each row
    printed."""
    await run_phase(Phase(kind, max(args.clients), cpu_digits=2), client,
                    requests=args.warmup, duration=args.duration, pids=pids)  # fmt: skip
    out = []
    for clients in args.clients:
        phase = Phase(kind, clients, cpu_digits=2)
        await run_phase(phase, client, duration=args.duration, pids=pids)
        out.append(phase)
        print(phase.row(), flush=True)
    return out


def ratios(rows: list[Phase]) -> str:
    """Each kind's throughput over the floor's (``FLOOR``) at the same number of clients,
    as a Markdown table (empty when the run had no floor)."""
    floor = {p.clients: p.throughput for p in rows if p.name == FLOOR}
    if not floor:
        return ""
    clients = sorted(floor)
    lines = [
        "| kind | " + " | ".join(f"{c} clients: req/s (x floor)" for c in clients) + " |",
        "|---|" + "---|" * len(clients),
    ]
    for kind in dict.fromkeys(p.name for p in rows if p.name != FLOOR):
        got = {p.clients: p.throughput for p in rows if p.name == kind}
        cells = [f"{got[c]:,.1f} ({got[c] / floor[c]:.3f})" if c in got else "-" for c in clients]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines.append(f"| {FLOOR} (floor) | " + " | ".join(f"{floor[c]:,.1f}" for c in clients) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--clients", type=lambda text: [int(n) for n in text.split(",")], default=[1, 32],
        help="closed-loop clients of each phase, comma-separated (default: 1,32)",
    )  # fmt: skip
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--warmup", type=int, default=1000, help="requests, not recorded")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"among {', '.join(KINDS)}")
    parser.add_argument("--unknown-share", type=float, default=0.1)
    parser.add_argument("--port", type=int, default=38000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument(
        "--gc", choices=("settled", "default", "off"), default="settled",
        help="the cyclic GC of this process (the load generator, and the client of the "
             "driver kind): as the API settles it after start-up, Python's default, or off",
    )  # fmt: skip
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if unknown := sorted(set(kinds) - set(KINDS)):
        parser.error(f"--kinds: unknown {', '.join(unknown)} (choose among {', '.join(KINDS)})")

    settings = bench_settings()
    models_dir = args.models_dir or settings.home / "bench-models"
    server = LocalServer(settings)
    rows: list[Phase] = []
    with server.running():
        users = known_users(settings)
        programs = known_programs(settings)
        if args.gc == "settled":
            settle_garbage_collector()
        elif args.gc == "off":
            gc.disable()
        rng = random.Random(args.seed)

        def user() -> str:
            if rng.random() < args.unknown_share:
                return f"bench-unknown-{rng.randrange(1_000_000)}"
            return rng.choice(users)

        neo4j_pid = server.pid()
        for kind in kinds:
            if kind == "driver":  # no HTTP, no API: this process is the driver's client
                pids = {"api": [os.getpid()], "neo4j": [neo4j_pid] if neo4j_pid else []}

                async def direct(pids: dict[str, list[int]] = pids) -> list[Phase]:
                    async with open_async_driver(settings) as driver:
                        return await run_kind(
                            "driver", lambda: driver_client(driver, settings.neo4j_database),
                            args, pids,
                        )  # fmt: skip

                rows += uvloop.run(direct())
                continue
            api = start_api(settings, models_dir, port=args.port, workers=args.workers,
                            blas_threads=1, app=APPS.get(kind, FLOOR_APP))  # fmt: skip
            try:
                wait_ready(f"http://127.0.0.1:{args.port}", api)
                time.sleep(1.0)  # every worker up, not only the one that answered /ready
                pids = {
                    "api": children(api.pid),
                    "neo4j": [neo4j_pid] if neo4j_pid else [],
                    "loadgen": [os.getpid()],
                }

                def path(template: str = PATHS[kind]) -> str:
                    return template.format(user=user(), program=rng.choice(programs))

                rows += uvloop.run(
                    run_kind(kind, lambda path=path: http_client(args.port, path), args, pids)
                )
            finally:
                stop_api(api)
            time.sleep(2)  # the port is free again before the next kind binds it
    print(HEADER)
    for phase in rows:
        print(phase.row())
    print(ratios(rows))
    print(f"uvicorn workers {args.workers}; this process's GC {args.gc}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")  # fmt: skip


if __name__ == "__main__":
    main()
