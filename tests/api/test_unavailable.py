"""Neo4j going away in the middle of serving (issue 18): the API answers 503 with
Retry-After, counts it, says so in /ready, keeps what it served for the served log, and
recovers by itself when Neo4j is back. Real Neo4j behind a proxy the test cuts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver
from pydantic import SecretStr

from api.main import create_app
from api.rails import admission as admission_module
from api.rails.admission import Admission
from api.served import ServedLog
from graph.server import resolve_password
from graph.settings import Settings
from tests.api.bolt_proxy import BoltProxy, bolt_proxy
from tests.api.served_requests import NOW, served_cleanup
from tests.loaders.neo4j_data import loaded_tv_fixture

pytestmark = pytest.mark.neo4j

PREFIX = f"unavail-{uuid.uuid4().hex[:8]}-"
tv = loaded_tv_fixture("tv-unavailable", users=60, programs=60, seed=33)
_delete_served = served_cleanup(PREFIX)


@pytest.fixture
def proxied(
    neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> Iterator[tuple[TestClient, BoltProxy]]:
    port = int(neo4j_settings.uri.rsplit(":", 1)[1])
    with bolt_proxy(port) as proxy:
        settings = neo4j_settings.model_copy(update={
            "neo4j_uri": f"bolt://127.0.0.1:{proxy.port}",
            "neo4j_password": SecretStr(resolve_password(neo4j_settings)),
            "models_path": tmp_path, "served_flush_s": 3600.0, "model_poll_s": 3600.0,
        })  # fmt: skip
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield client, proxy


def _counted(client: TestClient) -> float:
    text = client.get("/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("graphrails_neo4j_unavailable_total{")
    )


def test_neo4j_away_is_a_503_with_retry_after_counted_then_recovered(
    proxied: tuple[TestClient, BoltProxy],
    tv: Path,
    driver: Driver,
    neo4j_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, proxy = proxied
    user = str(pd.read_csv(tv / "watch_events.csv", dtype=str)["user_id"].mode()[0])
    urls = [f"/v1/users/{user}/rails/home", f"/v1/users/{user}/rails/because-you-watched",
            "/v1/rails/popular", "/v1/rails/best-of-bundle"]  # fmt: skip
    served_ids = []
    for url in urls:
        rid = f"{PREFIX}{uuid.uuid4().hex}"
        r = client.get(url, params={"now": NOW}, headers={"X-Request-ID": rid})
        assert r.status_code == 200, (url, r.text)
        served_ids.append(rid)

    proxy.cut()
    explain = ("/v1/explain", {"user_id": user, "program_id": "p1"})
    for url, params in [*((u, {}) for u in urls), explain]:
        started = time.monotonic()
        r = client.get(url, params={"now": NOW, **params})
        assert r.status_code == 503, (url, r.status_code, r.text)
        assert time.monotonic() - started < 1.0, url
        assert r.headers["Retry-After"].isdigit() and "Neo4j" in r.json()["detail"]
    assert _counted(client) >= len(urls)
    # One rail at a time from now on: a second one finding the turn held is turned away at
    # once with a short Retry-After, not queued behind a Neo4j that is away or cold.
    admission: Admission = client.app.state.rails.admission  # type: ignore[attr-defined]
    assert admission.allowed == 1

    async def held_turn() -> tuple[int, str, str]:
        async with admission.turn():
            r = await asyncio.to_thread(client.get, urls[0], params={"now": NOW})
            return r.status_code, r.headers["Retry-After"], r.json()["detail"]

    assert client.portal.call(held_turn) == (  # type: ignore[union-attr]
        503, "1", "Neo4j is warming up after a start or an outage: the API computes 1 rail at "
        f"a time for now (up to {admission.limit}); retry in 1 s",
    )  # fmt: skip
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["neo4j"] != "ok"
    # The rails served before are kept while Neo4j is away, not dropped.
    log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
    assert client.portal.call(log.flush) == 0  # type: ignore[union-attr]
    assert log.queued() >= len(served_ids)

    turns = admission.allowed
    # Each request of the recovery waits for its rail, so that exactly one success is
    # counted: past the slow start's wait (0.5 s, tests/api/test_admission.py) a rail on a
    # loaded machine would be answered 503 and its success, later, open a turn too.
    monkeypatch.setattr(admission_module, "SLOW_START_WAIT_S", 10.0)
    proxy.restore()
    deadline = time.monotonic() + 10
    while client.get(urls[0], params={"now": NOW}).status_code != 200:
        assert time.monotonic() < deadline, "no 200 within 10 s of Neo4j coming back"
        time.sleep(0.2)
    assert client.get("/ready").json()["neo4j"] == "ok"
    assert admission.allowed == turns * 2  # the success doubled the turns
    client.portal.call(log.flush)  # type: ignore[union-attr]
    records, _, _ = driver.execute_query(
        "MATCH (s:Served) WHERE s.request_id IN $ids RETURN DISTINCT s.request_id AS id",
        ids=served_ids, database_=neo4j_settings.neo4j_database,
    )  # fmt: skip
    assert sorted(r["id"] for r in records) == sorted(served_ids)


def test_the_served_log_stores_a_bounded_request_id(
    proxied: tuple[TestClient, BoltProxy], driver: Driver, neo4j_settings: Settings
) -> None:
    client, _ = proxied
    given = PREFIX + "x" * 60_000
    r = client.get("/v1/rails/popular", params={"now": NOW}, headers={"X-Request-ID": given})
    assert r.status_code == 200
    rid = r.headers["X-Request-ID"]
    client.portal.call(client.app.state.served_log.flush)  # type: ignore[attr-defined,union-attr]
    records, _, _ = driver.execute_query(
        "MATCH (s:Served {request_id: $rid}) RETURN size(s.request_id) AS n",
        rid=rid, database_=neo4j_settings.neo4j_database,
    )  # fmt: skip
    driver.execute_query("MATCH (s:Served {request_id: $rid}) DETACH DELETE s", rid=rid,
                         database_=neo4j_settings.neo4j_database)  # fmt: skip
    assert [r["n"] for r in records] == [len(rid)] and len(rid) <= 128
