"""Shared fixtures. Neo4j-backed tests use one real server for the whole session.

Without ``NEO4J_URI`` the session starts (if it is not already running) a local
instance of its own, ``test``, on ports apart from the demo's, and stops it
at the end if it started it. With ``NEO4J_URI`` the tests run against that
server. Either way a test deletes only the data it created.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator

import pytest
from neo4j import Driver

from graph.settings import Settings


def neo4j_test_settings(**overrides: object) -> Settings:
    """Settings for the tests' Neo4j: the external one if NEO4J_URI is set, else 'test'."""
    if os.environ.get("NEO4J_URI"):
        return Settings.with_fields(**overrides)
    defaults: dict[str, object] = {
        # A worktree of its own can run beside another test session on its own instance.
        "instance": os.environ.get("GRAPHRAILS_TEST_INSTANCE", "test"),
        "bolt_port": int(os.environ.get("GRAPHRAILS_TEST_BOLT_PORT", "17687")),
        "http_port": int(os.environ.get("GRAPHRAILS_TEST_HTTP_PORT", "17474")),
        "heap": "1g",
        "pagecache": "512m",
    }
    return Settings.with_fields(**{**defaults, **overrides})


@pytest.fixture(scope="session")
def neo4j_settings() -> Iterator[Settings]:
    settings = neo4j_test_settings()
    if not settings.managed:
        yield settings
        return
    from graph.server import LocalServer

    # Two test sessions on one instance would see each other's data (and the
    # first to finish would stop the server): they take turns.
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    with (settings.instance_dir / "tests.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("waiting for another test session to release the test Neo4j...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        with LocalServer(settings).running():
            yield settings


@pytest.fixture(scope="session")
def driver(neo4j_settings: Settings) -> Iterator[Driver]:
    from graph.driver import open_driver
    from graph.schema import init_schema

    with open_driver(neo4j_settings) as drv:
        init_schema(drv, database=neo4j_settings.neo4j_database)
        yield drv


@pytest.fixture
def scratch_label(driver: Driver, neo4j_settings: Settings) -> Iterator[str]:
    """A label unique to this test; every node carrying it is deleted afterwards."""
    label = f"Scratch_{uuid.uuid4().hex[:12]}"
    yield label
    driver.execute_query(
        "MATCH (n:$($label)) DETACH DELETE n",
        label=label,
        database_=neo4j_settings.neo4j_database,
    )
