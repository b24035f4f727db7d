"""Requests a test module tags with request ids of its own, and the served-log records
(``Served`` nodes) they leave, which the module deletes after each test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from graph.settings import Settings

NOW = "2025-01-09T20:00:00Z"  # the generated EPG week starts 2025-01-06


def tagged_get(prefix: str) -> Callable[..., tuple[str, dict[str, Any]]]:
    """A ``get(client, url, **params)`` that sends a fresh request id starting with
    ``prefix`` (and ``now`` = :data:`NOW` unless given); it returns (request id, body)."""

    def get(client: TestClient, url: str, **params: Any) -> tuple[str, dict[str, Any]]:
        rid = f"{prefix}{uuid.uuid4().hex}"
        response = client.get(url, params={"now": NOW, **params}, headers={"X-Request-ID": rid})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return rid, body

    return get


def served_cleanup(prefix: str) -> Callable[..., Iterator[None]]:
    """An autouse fixture deleting, after each test, the Served records of the requests
    whose ids start with ``prefix``."""

    @pytest.fixture(autouse=True)
    def delete_served(driver: Driver, neo4j_settings: Settings) -> Iterator[None]:
        yield
        driver.execute_query(
            "MATCH (s:Served) WHERE s.request_id STARTS WITH $prefix DETACH DELETE s",
            prefix=prefix, database_=neo4j_settings.neo4j_database,
        )  # fmt: skip

    return delete_served
