"""Load test of the home rail: one client, then N concurrent clients, on the bench graph.

    .venv/bin/python bench/load_api.py [--clients 32] [--requests 4000] [--duration 60]
                                       [--workers 1] [--unknown-share 0.1]

Serves the API with uvicorn in a subprocess on 127.0.0.1, pointed at the
``bench`` Neo4j instance (the 100,000-user graph ``bench/load_tv.py`` loads,
started here if it is stopped) and at the model versions that
``bench/train_tv.py`` publishes. It waits for ``/ready``, warms up, then
requests ``/v1/users/{user}/rails/home?limit=20&now=...`` for random users
of the graph (plus ``--unknown-share`` of ids the graph does not know):
first from a single client (the cost of one request, no queueing), then from
``--clients`` concurrent clients, each with its own keep-alive connection,
until ``--requests`` are done or ``--duration`` seconds have passed.

Prints one Markdown row per phase for docs/benchmarks.md: latency
percentiles, throughput, errors, and the CPU time per request of the API
processes, of Neo4j and of this load generator (all on the same cores), with
the load averages. Stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from graph.driver import open_driver
from graph.server import LocalServer
from graph.settings import Settings

NOW = "2025-01-09T20:00:00Z"
"""Inside the generated EPG week (it starts 2025-01-06)."""
TICKS = os.sysconf("SC_CLK_TCK")


def bench_settings() -> Settings:
    """The ``bench`` instance that ``bench/load_tv.py`` fills."""
    return Settings.with_fields(
        instance="bench", bolt_port=37687, http_port=37474, heap="4g", pagecache="4g"
    )


def load_averages() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (Linux ``/proc``); gone processes count 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def children(pid: int) -> list[int]:
    """``pid`` and its direct children (uvicorn's worker processes)."""
    out = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


@dataclass
class Phase:
    name: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    load: str = ""
    cpu_digits: int = 1
    """Decimals of the CPU ms per request (``bench/floor.py``'s are a tenth of a ms)."""

    @property
    def throughput(self) -> float:
        """Requests (errors included) per second of the phase."""
        return (len(self.latencies_ms) + sum(self.errors.values())) / (self.seconds or 1)

    def row(self) -> str:
        lat = sorted(self.latencies_ms)
        done = len(lat) + sum(self.errors.values())

        def pct(p: float) -> str:
            if not lat:
                return "-"
            return f"{lat[min(len(lat) - 1, round(p / 100 * (len(lat) - 1)))]:.1f}"

        cpu = " | ".join(f"{self.cpu.get(k, 0) / max(done, 1) * 1000:.{self.cpu_digits}f}"
                         for k in ("api", "neo4j", "loadgen"))  # fmt: skip
        return (
            f"| {self.name} | {self.clients} | {done:,} | {pct(50)} | {pct(95)} | {pct(99)} | "
            f"{max(lat, default=0):.1f} | {done / self.seconds:,.1f} | "
            f"{sum(self.errors.values())} | {cpu} | {self.load} |"
        )


HEADER = (
    "| phase | clients | requests | p50 ms | p95 ms | p99 ms | max ms | req/s | errors "
    "| CPU ms/req API | Neo4j | load gen | load avg 1/5/15 |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


class UserPicker:
    """Random users: known ids of the graph, and a share of ids it does not know."""

    def __init__(self, known: list[str], unknown_share: float, seed: int):
        self.known = known
        self.unknown_share = unknown_share
        self.rng = random.Random(seed)

    def __call__(self) -> str:
        if self.rng.random() < self.unknown_share:
            return f"bench-unknown-{self.rng.randrange(1_000_000)}"
        return self.rng.choice(self.known)


async def run_phase(
    phase: Phase,
    base_url: str,
    pick: UserPicker,
    *,
    requests: int,
    duration: float,
    limit: int,
    pids: dict[str, list[int]],
) -> Phase:
    """``phase.clients`` clients share ``requests`` home-rail requests, within ``duration`` s."""
    issued = 0
    deadline = time.perf_counter() + duration

    async def client() -> None:
        nonlocal issued
        async with httpx.AsyncClient(base_url=base_url, timeout=120.0) as http:
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                url = f"/v1/users/{pick()}/rails/home"
                t0 = time.perf_counter()
                try:
                    r = await http.get(url, params={"limit": limit, "now": NOW})
                except httpx.HTTPError as e:
                    phase.errors[type(e).__name__] += 1
                    continue
                elapsed = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    phase.errors[f"HTTP {r.status_code}"] += 1
                    continue
                phase.latencies_ms.append(elapsed)
                body = r.json()
                phase.sources[body["sources"][0] if body["sources"] else "empty"] += 1

    return await measured(phase, pids, [client() for _ in range(phase.clients)])


async def measured(
    phase: Phase, pids: dict[str, list[int]], clients: list[Coroutine[Any, Any, None]]
) -> Phase:
    """Run ``clients`` together; ``phase`` gets their wall time, the CPU seconds each group
    of ``pids`` spent meanwhile, and the load averages at the end."""
    before = {k: cpu_seconds(v) for k, v in pids.items()}
    t0 = time.perf_counter()
    await asyncio.gather(*clients)
    phase.seconds = time.perf_counter() - t0
    phase.cpu = {k: cpu_seconds(v) - before[k] for k, v in pids.items()}
    phase.load = load_averages()
    return phase


def start_api(
    settings: Settings,
    models_dir: Path,
    *,
    port: int,
    workers: int,
    blas_threads: int | None,
    app: str = "api.main:create_app",
) -> subprocess.Popen[bytes]:
    """uvicorn serving ``app`` (an app factory, ``module:function``, imported from the
    repository root) on 127.0.0.1:``port``, pointed at ``settings``' instance."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            # Another server there would answer /ready and the load, and be measured instead.
            raise SystemExit(f"port {port} is in use (an API left from an earlier run?): "
                             "stop it or pass --port")  # fmt: skip
    env = {
        **os.environ,
        "GRAPHRAILS_NEO4J_INSTANCE": settings.instance,
        "GRAPHRAILS_NEO4J_BOLT_PORT": str(settings.bolt_port),
        "GRAPHRAILS_NEO4J_HTTP_PORT": str(settings.http_port),
        "GRAPHRAILS_MODELS_DIR": str(models_dir),
    }
    env.pop("NEO4J_URI", None)
    if blas_threads is not None:
        # OpenBLAS's worker threads spin between the API's small matrix-vector products,
        # burning a core that Neo4j needs; one thread gives the same scores bit for bit.
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    cmd = [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip
    return subprocess.Popen(cmd, env=env, cwd=Path(__file__).resolve().parent.parent)


def stop_api(api: subprocess.Popen[bytes]) -> None:
    """Stop what :func:`start_api` started (killed if it is not gone within 30 s)."""
    api.terminate()
    try:
        api.wait(timeout=30)
    except subprocess.TimeoutExpired:
        api.kill()
        api.wait()


def wait_ready(base_url: str, api: subprocess.Popen[bytes], timeout: float = 180.0) -> str:
    """The model version once ``/ready`` answers 200; raises if the API exits or times out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise RuntimeError(f"the API exited with code {api.returncode} before it was ready")
        try:
            r = httpx.get(f"{base_url}/ready", timeout=5.0)
            if r.status_code == 200:
                return str(r.json()["model_version"])
            last = r.text
        except httpx.HTTPError as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.5)
    raise RuntimeError(f"the API was not ready within {timeout:.0f} s: {last}")


def known_users(settings: Settings) -> list[str]:
    with open_driver(settings) as driver:
        records, _, _ = driver.execute_query(
            "MATCH (u:User) RETURN u.id AS id ORDER BY id", database_=settings.neo4j_database
        )
    return [str(r["id"]) for r in records]


def known_programs(settings: Settings) -> list[str]:
    with open_driver(settings) as driver:
        records, _, _ = driver.execute_query(
            "MATCH (p:Program) RETURN p.id AS id ORDER BY id", database_=settings.neo4j_database
        )
    return [str(r["id"]) for r in records]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=4000, help="for the concurrent phase")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds, per phase at most")
    parser.add_argument("--single-requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--unknown-share", type=float, default=0.1)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=38000)
    parser.add_argument(
        "--blas-threads", type=int, default=1,
        help="OPENBLAS_NUM_THREADS of the API (0: leave it unset, OpenBLAS uses every core)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models-dir", type=Path, default=None)
    args = parser.parse_args()

    settings = bench_settings()
    models_dir = args.models_dir or settings.home / "bench-models"
    server = LocalServer(settings)
    api = None
    with server.running():
        try:
            users = known_users(settings)
            neo4j_pid = server.pid()
            base_url = f"http://127.0.0.1:{args.port}"
            api = start_api(settings, models_dir, port=args.port, workers=args.workers,
                            blas_threads=args.blas_threads or None)  # fmt: skip
            version = wait_ready(base_url, api)
            pids = {
                "api": children(api.pid),
                "neo4j": [neo4j_pid] if neo4j_pid else [],
                "loadgen": [os.getpid()],
            }
            pick = UserPicker(users, args.unknown_share, args.seed)
            print(f"model {version}; {len(users):,} known users; {args.unknown_share:.0%} unknown; "
                  f"workers {args.workers}; OpenBLAS threads {args.blas_threads or 'all'}",
                  flush=True)  # fmt: skip

            async def phases() -> list[Phase]:
                common = {"limit": args.limit, "pids": pids}
                await run_phase(Phase("warm-up", args.clients), base_url, pick,
                                requests=args.warmup, duration=args.duration, **common)  # fmt: skip
                single = await run_phase(Phase("1 client", 1), base_url, pick,
                                         requests=args.single_requests, duration=args.duration,
                                         **common)  # fmt: skip
                many = await run_phase(Phase(f"{args.clients} clients", args.clients), base_url,
                                       pick, requests=args.requests, duration=args.duration,
                                       **common)  # fmt: skip
                return [single, many]

            results = asyncio.run(phases())
            print(HEADER)
            for phase in results:
                print(phase.row())
            for phase in results:
                mean = statistics.fmean(phase.latencies_ms) if phase.latencies_ms else 0.0
                print(f"{phase.name}: mean {mean:.1f} ms; first source {dict(phase.sources)}; "
                      f"errors {dict(phase.errors)}")  # fmt: skip
        finally:
            if api is not None:
                stop_api(api)


if __name__ == "__main__":
    main()
