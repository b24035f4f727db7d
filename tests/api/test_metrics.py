"""Prometheus metrics: what ``GET /metrics`` shows after real requests against the test Neo4j."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.main import create_app
from graph.settings import Settings
from tests.api.random_model import random_model
from tests.loaders.neo4j_data import loaded_tv_fixture

pytestmark = pytest.mark.neo4j

NOW = "2025-01-09T20:00:00Z"  # the generated EPG week starts 2025-01-06
HOME = "/v1/users/{user_id}/rails/home"


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``/metrics``, keyed by (sample name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:  # fmt: skip
    return found.get((name, frozenset(labels.items())), 0.0)


tv = loaded_tv_fixture("tv-metrics", users=80, programs=80, seed=31)


@pytest.fixture
def client(neo4j_settings: Settings, tmp_path: Path, tv: Path) -> Iterator[TestClient]:
    """A fresh app (fresh registry), serving a random model; no served log. Each source
    proposes 4 candidates at most, so rails of more items are backfilled."""
    settings = neo4j_settings.model_copy(
        update={"models_path": tmp_path, "served_log": False, "candidates": 4}
    )
    with TestClient(create_app(settings)) as client:
        client.app.state.rails.swap_model(random_model(tv, version="m-test-1"))  # type: ignore[attr-defined]
        yield client


def test_metrics_count_latency_rails_backfill_and_eligibility(client: TestClient, tv: Path) -> None:
    events = pd.read_csv(tv / "watch_events.csv", dtype=str)
    users = [*events["user_id"].value_counts().index[:6], "never-seen"]
    served: Counter[tuple[str, str]] = Counter()
    backfill: Counter[tuple[str, str]] = Counter()
    sizes: Counter[str] = Counter()
    rails: Counter[str] = Counter()
    for user in users:
        bodies: list[dict[str, Any]] = [
            client.get(f"/v1/users/{user}/rails/home", params={"now": NOW, "limit": 10}).json(),
            client.get(
                "/v1/rails/popular", params={"now": NOW, "user_id": user, "limit": 5}
            ).json(),
        ]
        for body in bodies:
            rails[body["rail"]] += 1
            sizes[body["rail"]] += len(body["items"])
            for item in body["items"]:
                served[body["rail"], item["source"]] += 1
                backfill[body["rail"], item["source"]] += item["backfill"]
    assert client.get("/v1/programs/no-such-program/similar").status_code == 404
    assert client.get("/v1/users/u1/rails/home", params={"limit": 1000}).status_code == 422
    assert client.get("/no/such/path").status_code == 404
    empty = client.get(f"/v1/users/{users[0]}/rails/home", params={"now": "2031-01-01T00:00:00Z"})
    assert empty.json()["items"] == []

    found = samples(client)
    latency = "graphrails_http_request_duration_seconds_count"
    # Home: the users' rails, the empty one; the 422 never reached the handler but matched it.
    assert value(found, latency, route=HOME, status="2xx") == len(users) + 1
    assert value(found, latency, route=HOME, status="4xx") == 1
    assert value(found, latency, route="/v1/programs/{program_id}/similar", status="4xx") == 1
    assert value(found, latency, route="/v1/rails/popular", status="2xx") == len(users)
    assert value(found, latency, route="<unmatched>", status="4xx") == 1
    routes = {dict(labels).get("route") for name, labels in found if name == latency}
    assert not any(r and ("never-seen" in r or users[0] in r) for r in routes), routes

    assert value(found, "graphrails_rail_size_count", rail="home") == len(users) + 1
    assert value(found, "graphrails_rail_size_sum", rail="home") == sizes["home"]
    assert (
        value(found, "graphrails_rail_size_sum", rail="popular_in_bundle")
        == sizes["popular_in_bundle"]
    )
    assert value(found, "graphrails_rail_empty_total", rail="home") == 1
    assert served and backfill["home", "personalised"] == 0
    assert sum(backfill.values()) > 0, "some rail was expected to backfill"
    for (rail, source), n in served.items():
        assert value(found, "graphrails_rail_items_total", rail=rail, source=source) == n
        assert value(found, "graphrails_rail_backfill_items_total", rail=rail,
                     source=source) == backfill[rail, source]  # fmt: skip

    asked = value(found, "graphrails_eligibility_candidates_total")
    offered = value(found, "graphrails_eligibility_offers_total")
    assert asked > offered >= sum(served.values())
    assert value(found, "graphrails_model_info", version="m-test-1") == 1
    assert value(found, "graphrails_served_log_queue") == 0
    # Between requests no rail request waits for a turn or is being computed.
    assert value(found, "graphrails_rails_waiting") == 0
    assert value(found, "graphrails_rails_in_flight") == 0


def test_model_info_follows_a_hot_swap(client: TestClient, tv: Path) -> None:
    rails = client.app.state.rails  # type: ignore[attr-defined]
    rails.swap_model(random_model(tv, version="m-test-2", seed=1))
    found = samples(client)
    assert value(found, "graphrails_model_info", version="m-test-2") == 1
    assert ("graphrails_model_info", frozenset({("version", "m-test-1")})) not in found
    rails.swap_model(None)
    assert value(samples(client), "graphrails_model_info", version="") == 0


def test_apps_have_their_own_registries(neo4j_settings: Settings, tmp_path: Path) -> None:
    settings = neo4j_settings.model_copy(update={"models_path": tmp_path, "served_log": False})
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        assert a.get("/health").status_code == 200
        on_a = value(samples(a), "graphrails_http_request_duration_seconds_count",
                     route="/health", status="2xx")  # fmt: skip
        on_b = value(samples(b), "graphrails_http_request_duration_seconds_count",
                     route="/health", status="2xx")  # fmt: skip
        assert (on_a, on_b) == (1, 0)
        assert "/metrics" not in a.get("/openapi.json").json()["paths"]
