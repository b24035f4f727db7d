"""Hot swap: the running API follows promotions and rollbacks in Neo4j, under load, with no
failed request; a version that fails to load, or a candidate the gate refuses, never serves."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from neo4j import Driver

from api.main import create_app
from gnn.artifacts import load_version
from gnn.pipeline import mark_serving, promote, rollback, train_version
from gnn.retrain import retrain
from gnn.train import TrainConfig
from graph.settings import Settings
from tests.loaders.neo4j_data import dataset_ids, generated_and_loaded

pytestmark = pytest.mark.neo4j

NOW = "2025-01-09T20:00:00Z"
SMALL = TrainConfig(embedding_dim=16, epochs=8, patience=3, batch_size=1024, num_negatives=64)
WORSE = SMALL.model_copy(update={"epochs": 1, "lr": 1e-6, "refit": False, "val_fraction": 0.0})


@dataclass
class Served:
    url: str
    settings: Settings
    users: list[str]
    a: str
    b: str


@pytest.fixture(scope="module")
def served(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    db = neo4j_settings.neo4j_database
    models = tmp_path_factory.mktemp("swap-models")
    folder = tmp_path_factory.mktemp("tv-swap")
    for _ in generated_and_loaded(driver, db, folder, users=300, programs=250, seed=31):
        a, b = (
            train_version(driver, database=db, models_dir=models, progress=False,
                          train_config=SMALL.model_copy(update={"seed": seed})).path.name
            for seed in (0, 1)
        )  # fmt: skip
        promote(driver, models, a, database=db, progress=False)
        settings = neo4j_settings.model_copy(
            update={"models_path": models, "model_poll_s": 0.2, "served_log": False}
        )
        try:
            with serve(settings) as url:
                yield Served(url, settings, dataset_ids(folder)["User"], a, b)
        finally:
            driver.execute_query(
                "MATCH (m:ModelVersion) WHERE m.id IN $ids DETACH DELETE m",
                ids=[p.name for p in models.iterdir()], database_=db,
            )  # fmt: skip


class serve:  # noqa: N801 (a context manager used like a function)
    """The real API under uvicorn in a background thread, on a free port."""

    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def ready(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{url}/ready", timeout=10).json()
    return body


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def serving_ids(driver: Driver, db: str) -> list[str]:
    records, _, _ = driver.execute_query(
        "MATCH (m:ModelVersion {serving: true}) RETURN m.id AS id", database_=db
    )
    return [r["id"] for r in records]


def test_promotions_and_rollback_under_load_fail_no_request(driver: Driver, served: Served) -> None:
    db = served.settings.neo4j_database
    models = served.settings.models_dir
    wait_for(lambda: ready(served.url)["model_version"] == served.a, "version a")
    statuses: Counter[int] = Counter()
    answered: Counter[str] = Counter()
    steps: list[tuple[str, str]] = []
    # A response reports the version its request started on, so around a switch requests
    # under way may finish in either order. Between switches the API serves one version:
    # phases[-1] is that version, None while a switch is under way.
    phases: list[str | None] = [served.a]
    within: list[tuple[str, str]] = []
    """(phase version, reported version) of the requests sent and answered in one phase."""

    async def client(seed: int, stop: asyncio.Event) -> None:
        rng = random.Random(seed)
        async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:
            while not stop.is_set():
                user = rng.choice(served.users)
                at = len(phases)
                r = await http.get(f"/v1/users/{user}/rails/home",
                                   params={"limit": 10, "now": NOW})  # fmt: skip
                statuses[r.status_code] += 1
                if r.status_code == 200:
                    version = r.json()["model_version"]
                    answered[version] += 1
                    current = phases[-1]
                    if at == len(phases) and current is not None:
                        within.append((current, version))

    async def answers(version: str, n: int) -> None:
        """Until ``n`` more responses came from ``version``."""
        target = answered[version] + n
        deadline = time.monotonic() + 60
        while answered[version] < target:
            assert time.monotonic() < deadline, f"fewer than {n} answers from {version}"
            await asyncio.sleep(0.05)

    async def operator(stop: asyncio.Event) -> None:
        await answers(served.a, 12)  # warm: the switches happen under steady load
        for action, expected in (("promote", served.b), ("rollback", served.a),
                                 ("promote", served.b)):  # fmt: skip
            phases.append(None)
            if action == "promote":
                await asyncio.to_thread(promote, driver, models, expected, database=db,
                                        progress=False)  # fmt: skip
            else:
                await asyncio.to_thread(rollback, driver, models, database=db, progress=False)
            steps.append((action, expected))
            assert serving_ids(driver, db) == [expected]
            deadline = time.monotonic() + 20
            async with httpx.AsyncClient(base_url=served.url) as http:
                while (await http.get("/ready")).json()["model_version"] != expected:
                    assert time.monotonic() < deadline, f"the API never served {expected}"
                    await asyncio.sleep(0.05)
            phases.append(expected)
            await answers(expected, 12)
        stop.set()

    async def scenario() -> None:
        stop = asyncio.Event()
        await asyncio.gather(operator(stop), *(client(i, stop) for i in range(6)))

    asyncio.run(scenario())
    assert len(steps) == 3
    assert set(statuses) == {200}, statuses
    assert statuses[200] >= 48
    # Between switches every response came from the version then serving, and every
    # switch showed, in order: a, b, a again (rollback), b again.
    assert [(p, v) for p, v in within if p != v] == []
    seen = [p for i, (p, _) in enumerate(within) if i == 0 or within[i - 1][0] != p]
    assert seen == [served.a, served.b, served.a, served.b]


def test_a_version_that_fails_to_load_never_serves_and_a_refused_one_is_never_marked(
    driver: Driver, served: Served
) -> None:
    db = served.settings.neo4j_database
    models = served.settings.models_dir
    current = ready(served.url)["model_version"]
    assert current in (served.a, served.b)
    # A candidate the gate refuses: Neo4j and the API keep the current version.
    worse = retrain(driver, database=db, models_dir=models, margin=0.01, min_users=20, keep=10,
                    train_config=WORSE, progress=False)  # fmt: skip
    assert worse.status == "refused", worse.reason
    time.sleep(1.0)  # five polls
    assert serving_ids(driver, db) == [current]
    assert ready(served.url)["model_version"] == current

    # A version whose artifact is corrupted after it was marked serving: logged, not loaded.
    broken = train_version(driver, database=db, models_dir=models, progress=False,
                           train_config=SMALL.model_copy(update={"seed": 2}))  # fmt: skip
    model = load_version(broken.path)
    data = bytearray((broken.path / "embeddings.npy").read_bytes())
    data[-4:] = b"\x00\x00\xc0\x7f"
    (broken.path / "embeddings.npy").write_bytes(bytes(data))
    mark_serving(driver, model, database=db)
    wait_for(lambda: ready(served.url)["model_error"] is not None, "the load error")
    body = ready(served.url)
    assert body["model_version"] == current
    assert str(broken.path / "embeddings.npy") in body["model_error"]
    user = served.users[0]
    r = httpx.get(f"{served.url}/v1/users/{user}/rails/home", params={"now": NOW}, timeout=30)
    assert r.status_code == 200 and r.json()["model_version"] == current
    # Rolling back marks the previous version again; the error clears.
    assert rollback(driver, models, database=db, progress=False) == (current, broken.path.name)
    wait_for(lambda: ready(served.url)["model_error"] is None, "the error to clear")
    assert ready(served.url)["model_version"] == current
