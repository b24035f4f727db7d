"""Shared fixtures. Neo4j-backed tests use one real server for the whole session.

Without ``NEO4J_URI`` the session starts (if it is not already running) a local
instance of its own, ``test``, on ports apart from the demo's, and stops it
at the end if it started it. With ``NEO4J_URI`` the tests run against that
server. Either way a test deletes only the data it created.
"""

from __future__ import annotations

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
        "instance": "test",
        "bolt_port": int(os.environ.get("GRAPHRAILS_TEST_BOLT_PORT", "17687")),
        "http_port": int(os.environ.get("GRAPHRAILS_TEST_HTTP_PORT", "17474")),
        "heap": "1g",
        "pagecache": "512m",
    }
    return Settings.with_fields(**{**defaults, **overrides})


@pytest.fixture(scope="session")
def neo4j_settings() -> Iterator[Settings]:
    settings = neo4j_test_settings()
    started_here = False
    if settings.managed:
        from graph.server import LocalServer

        server = LocalServer(settings)
        if server.pid() is None:
            server.start()
            started_here = True
    yield settings
    if started_here:
        server.stop()


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
