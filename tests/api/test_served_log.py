"""The served-rails log: what the API served is written to Neo4j behind the response."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from neo4j import Driver

from api.main import create_app
from api.served import BATCH, ServedLog
from graph.domain import CSA_LEVELS
from graph.schema import init_schema
from graph.settings import Settings
from tests.api.random_model import random_model
from tests.api.served_requests import served_cleanup, tagged_get
from tests.api.test_metrics import samples, value
from tests.loaders.neo4j_data import active_users, loaded_tv_fixture

pytestmark = pytest.mark.neo4j

PREFIX = f"test-served-{uuid.uuid4().hex[:8]}-"
"""Request ids of this module's requests: the Served nodes to check and to delete."""


tv = loaded_tv_fixture("tv-served", users=80, programs=80, seed=32)


_delete_served = served_cleanup(PREFIX)


def app_with(settings: Settings, tmp_path: Path, **fields: Any) -> FastAPI:
    return create_app(settings.model_copy(update={"models_path": tmp_path, **fields}))


get = tagged_get(PREFIX)
"""GET with a fresh request id of this module; (request id, body)."""


def flush(client: TestClient) -> int:
    log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
    written: int = client.portal.call(log.flush)  # type: ignore[union-attr]
    return written


def served(driver: Driver, settings: Settings, request_id: str) -> list[dict[str, Any]]:
    records, _, _ = driver.execute_query(
        """
        MATCH (s:Served {request_id: $rid})
        OPTIONAL MATCH (u:User)-[:WAS_SERVED]->(s)
        RETURN s {.*, linked_user: u.id,
                  items: [(s)-[i:SERVED_ITEM]->(p:Program) | i {.*, program_id: p.id}]} AS s
        ORDER BY s.rail, s.anchor_program_id
        """,
        rid=request_id, database_=settings.neo4j_database,
    )  # fmt: skip
    return [r["s"] for r in records]


def test_what_is_served_is_written_as_served(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    user = active_users(tv, 1)[0]
    users = pd.read_csv(tv / "users.csv", dtype=str).set_index("user_id")
    app = app_with(neo4j_settings, tmp_path, served_flush_s=3600.0)
    before = datetime.now(UTC)
    with TestClient(app) as client:
        client.app.state.rails.swap_model(random_model(tv, version="m-served"))  # type: ignore[attr-defined]
        home_id, home = get(client, f"/v1/users/{user}/rails/home", limit=8)
        byw_id, byw = get(client, f"/v1/users/{user}/rails/because-you-watched", limit=4)
        anon_id, anon = get(client, "/v1/rails/popular", limit=5)
        assert served(driver, neo4j_settings, home_id) == []  # behind the response
        # The record keeps the rules the rail was filtered with, even when the user's
        # ceiling changes before it is written.
        level = driver.execute_query(
            "MATCH (u:User {id: $u}) WITH u, u.csa_ceiling_level AS level "
            "SET u.csa_ceiling_level = -1 RETURN level",
            u=user, database_=neo4j_settings.neo4j_database,
        ).records[0]["level"]  # fmt: skip
        try:
            assert flush(client) == 2 + len(byw["rails"])
        finally:
            driver.execute_query("MATCH (u:User {id: $u}) SET u.csa_ceiling_level = $level",
                                 u=user, level=level,
                                 database_=neo4j_settings.neo4j_database)  # fmt: skip

    [record] = served(driver, neo4j_settings, home_id)
    assert record["rail"] == "home" and record["user_id"] == user
    assert record["linked_user"] == user
    assert record["model_version"] == "m-served" == home["model_version"]
    assert record["csa_ceiling_level"] == CSA_LEVELS[str(users.loc[user, "csa_ceiling"])]
    assert before <= record["at"].to_native() <= datetime.now(UTC)
    assert record["as_of"].to_native() == datetime(2025, 1, 9, 20, tzinfo=UTC)
    assert {i["bundle_id"] for i in home["items"]} <= set(record["bundles"])
    items = sorted(record["items"], key=lambda i: i["position"])
    assert [(i["position"], i["program_id"], i["source"], i["backfill"], i["channel_id"])
            for i in items] == [
        (n, i["program_id"], i["source"], i["backfill"], i["channel_id"])
        for n, i in enumerate(home["items"], start=1)
    ]  # fmt: skip
    assert record["size"] == len(home["items"]) > 0

    rails = served(driver, neo4j_settings, byw_id)
    assert sorted(r["anchor_program_id"] for r in rails) == sorted(
        r["anchor_program_id"] for r in byw["rails"]
    )
    [anonymous] = served(driver, neo4j_settings, anon_id)
    assert anonymous.get("user_id") is None and anonymous["linked_user"] is None
    assert anonymous["csa_ceiling_level"] == CSA_LEVELS[neo4j_settings.anonymous_csa_ceiling]
    assert len(anonymous["items"]) == len(anon["items"])


def test_the_writer_flushes_on_its_own_and_on_shutdown(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    user = active_users(tv, 1)[0]
    with TestClient(app_with(neo4j_settings, tmp_path, served_flush_s=0.2)) as client:
        rid, _ = get(client, f"/v1/users/{user}/rails/home", limit=5)
        deadline = time.monotonic() + 15
        while not served(driver, neo4j_settings, rid):
            assert time.monotonic() < deadline, "the writer never flushed"
            time.sleep(0.1)
        assert value(samples(client), "graphrails_served_log_written_rails_total") == 1
    with TestClient(app_with(neo4j_settings, tmp_path, served_flush_s=3600.0)) as client:
        rid, _ = get(client, f"/v1/users/{user}/rails/home", limit=5)
    assert len(served(driver, neo4j_settings, rid)) == 1  # written as the app stopped


def test_a_neo4j_error_is_counted_and_never_fails_a_request(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    user = active_users(tv, 1)[0]
    with TestClient(app_with(neo4j_settings, tmp_path, served_flush_s=3600.0)) as client:
        log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
        first, _ = get(client, f"/v1/users/{user}/rails/home", limit=5)
        # A property Neo4j cannot store: the whole batch's transaction is refused.
        bad: dict[str, Any] = {"id": uuid.uuid4().hex, "request_id": f"{PREFIX}bad", "rail": "home",
               "at": {"not": "a time"}, "as_of": None, "user_id": None,
               "anchor_program_id": None, "model_version": None, "items": []}  # fmt: skip
        assert log.record(bad)
        assert flush(client) == 0
        found = samples(client)
        assert value(found, "graphrails_served_log_flush_errors_total") == 1
        assert value(found, "graphrails_served_log_dropped_rails_total", reason="error") == 2
        second, _ = get(client, f"/v1/users/{user}/rails/home", limit=5)  # still served
        assert flush(client) == 1
    assert served(driver, neo4j_settings, first) == []
    assert len(served(driver, neo4j_settings, second)) == 1


def test_a_full_queue_drops_and_counts(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    users = active_users(tv, 4)
    app = app_with(neo4j_settings, tmp_path, served_flush_s=3600.0, served_queue_size=2)
    with TestClient(app) as client:
        ids = [get(client, f"/v1/users/{u}/rails/home", limit=3)[0] for u in users]
        found = samples(client)
        assert value(found, "graphrails_served_log_queue") == 2
        assert value(found, "graphrails_served_log_dropped_rails_total", reason="full") == 2
    assert [len(served(driver, neo4j_settings, rid)) for rid in ids] == [1, 1, 0, 0]


def test_the_log_can_be_turned_off(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    with TestClient(app_with(neo4j_settings, tmp_path, served_log=False)) as client:
        assert client.app.state.served_log is None  # type: ignore[attr-defined]
        rid, body = get(client, f"/v1/users/{active_users(tv, 1)[0]}/rails/home", limit=3)
        assert body["items"]
    assert served(driver, neo4j_settings, rid) == []


def test_prune_deletes_records_older_than_the_retention(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    app = app_with(neo4j_settings, tmp_path, served_flush_s=3600.0, served_retention_days=30.0)
    now = datetime.now(UTC)
    with TestClient(app) as client:
        log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
        for name, at in (("old", now - timedelta(days=31)), ("recent", now - timedelta(days=29))):
            log.record({"id": uuid.uuid4().hex, "request_id": f"{PREFIX}{name}", "rail": "home",
                        "at": at, "as_of": at, "user_id": None, "anchor_program_id": None,
                        "model_version": None, "items": []})  # fmt: skip
        assert flush(client) == 2
        assert client.portal.call(log.prune) >= 1  # type: ignore[union-attr]
    assert served(driver, neo4j_settings, f"{PREFIX}old") == []
    assert len(served(driver, neo4j_settings, f"{PREFIX}recent")) == 1


def test_a_flush_writes_every_batch(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    n = 2 * BATCH + 3
    now = datetime.now(UTC)
    with TestClient(app_with(neo4j_settings, tmp_path, served_flush_s=3600.0)) as client:
        log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
        for _ in range(n):
            log.record({"id": uuid.uuid4().hex, "request_id": f"{PREFIX}batch", "rail": "home",
                        "at": now, "as_of": now, "user_id": None, "anchor_program_id": None,
                        "model_version": None, "items": []})  # fmt: skip
        assert flush(client) == n and log.queued() == 0
        assert value(samples(client), "graphrails_served_log_written_rails_total") == n
    assert len(served(driver, neo4j_settings, f"{PREFIX}batch")) == n


def test_writing_a_batch_again_changes_nothing(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path, tv: Path
) -> None:
    """A batch written twice (a flush cancelled at shutdown after Neo4j committed it is
    written again) neither fails on the id constraint nor duplicates the items."""
    program = pd.read_csv(tv / "programs.csv", dtype=str)["program_id"].iloc[0]
    now = datetime.now(UTC)
    rows = [{"id": uuid.uuid4().hex, "request_id": f"{PREFIX}again", "rail": "home", "at": now,
             "as_of": now, "user_id": None, "anchor_program_id": None, "model_version": None,
             "csa_ceiling_level": 10, "bundles": [],
             "items": [[program, "test", False, None, None]]} for _ in range(3)]  # fmt: skip
    with TestClient(app_with(neo4j_settings, tmp_path, served_flush_s=3600.0)) as client:
        log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
        for _ in range(2):
            for row in rows:
                log.record(dict(row))
            flush(client)
        assert value(samples(client), "graphrails_served_log_flush_errors_total") == 0
    records = served(driver, neo4j_settings, f"{PREFIX}again")
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in rows)
    assert all(len(r["items"]) == 1 for r in records)


def test_the_api_applies_the_schema_the_log_needs(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path
) -> None:
    """A graph loaded before the served log existed has no `served_id` constraint, and
    without it each write scans every Served node: the API applies the schema as it starts."""
    db = neo4j_settings.neo4j_database

    def served_schema() -> set[str]:
        records, _, _ = driver.execute_query(
            "SHOW INDEXES YIELD name, labelsOrTypes WHERE 'Served' IN labelsOrTypes RETURN name",
            database_=db,
        )
        return {r["name"] for r in records}

    try:
        driver.execute_query("DROP CONSTRAINT served_id IF EXISTS", database_=db)
        driver.execute_query("DROP INDEX served_at IF EXISTS", database_=db)
        driver.execute_query("DROP INDEX served_experiment IF EXISTS", database_=db)
        assert served_schema() == set()
        with TestClient(app_with(neo4j_settings, tmp_path)):
            assert served_schema() == {"served_id", "served_at", "served_experiment"}
    finally:
        init_schema(driver, database=db)
