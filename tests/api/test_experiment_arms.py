"""Experiments through the API: an arm's override really changes the rail, and every
rail response and served-log record names the experiment and the arm."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.experiments import ExperimentArms
from api.main import create_app
from api.rails.eligibility import Fatigue
from api.served import ServedLog
from experiments import store
from experiments.arms import Arm, Experiment
from graph.settings import Settings
from tests.api.random_model import random_model
from tests.api.served_requests import tagged_get
from tests.loaders.neo4j_data import active_users, loaded_tv_fixture

pytestmark = pytest.mark.neo4j

TAG = uuid.uuid4().hex[:8]
NAME = f"test-arms-{TAG}"
PREFIX = f"test-arms-{TAG}-"
EXPERIMENT = Experiment(
    name=NAME,
    salt="arms",
    arms=(
        Arm("popular", source="popular_in_bundle"),
        Arm("personal", source="personalised"),
        Arm("rested", fatigue_programs=0, fatigue_series=0, fatigue_channels=0),
    ),
)

tv = loaded_tv_fixture("tv-arms", users=80, programs=200, seed=41)
get = tagged_get(PREFIX)


@pytest.fixture
def client(
    tv: Path, driver: Driver, neo4j_settings: Settings, tmp_path: Path
) -> Iterator[TestClient]:
    db = neo4j_settings.neo4j_database
    store.create(driver, EXPERIMENT, database=db)
    settings = neo4j_settings.model_copy(
        update={"models_path": tmp_path, "served_flush_s": 3600.0, "experiments_poll_s": 3600.0}
    )
    try:
        with TestClient(create_app(settings)) as c:
            c.app.state.rails.swap_model(random_model(tv, version="m-arms"))  # type: ignore[attr-defined]
            yield c
    finally:
        driver.execute_query(
            """
            OPTIONAL MATCH (s:Served) WHERE s.request_id STARTS WITH $prefix DETACH DELETE s
            WITH count(*) AS _
            MATCH (e:Experiment {name: $name}) OPTIONAL MATCH (e)-[:HAS_ARM]->(a:Arm)
            DETACH DELETE e, a
            """,
            prefix=PREFIX, name=NAME, database_=db,
        )  # fmt: skip


def first_user(tv: Path, arm: str) -> str:
    return next(u for u in active_users(tv, 80) if EXPERIMENT.assign(u).name == arm)


def ids(rail: dict[str, Any]) -> list[str]:
    return [i["program_id"] for i in rail["items"]]


def test_the_popular_arm_serves_the_popular_list_as_home(
    client: TestClient, tv: Path, driver: Driver, neo4j_settings: Settings
) -> None:
    user = first_user(tv, "popular")
    rid, home = get(client, f"/v1/users/{user}/rails/home", limit=10)
    assert (home["experiment"], home["arm"]) == (NAME, "popular")
    assert home["sources"][0] == "popular_in_bundle"
    _, popular = get(client, "/v1/rails/popular", user_id=user, limit=10)
    assert ids(home) == ids(popular) and len(ids(home)) == 10
    assert popular["arm"] == "popular"  # every rail of the user names the arm

    personal_user = first_user(tv, "personal")
    _, theirs = get(client, f"/v1/users/{personal_user}/rails/home", limit=10)
    assert (theirs["arm"], theirs["sources"][0]) == ("personal", "personalised")

    # The served log records the arm.
    log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
    client.portal.call(log.flush)  # type: ignore[union-attr]
    records, _, _ = driver.execute_query(
        "MATCH (s:Served {request_id: $rid}) RETURN s.experiment AS e, s.arm AS a",
        rid=rid, database_=neo4j_settings.neo4j_database,
    )  # fmt: skip
    assert [(r["e"], r["a"]) for r in records] == [(NAME, "popular")]

    # Once the experiment stops, the same user's home is personalised again.
    store.stop(driver, NAME, database=neo4j_settings.neo4j_database)
    arms: ExperimentArms = client.app.state.experiments  # type: ignore[attr-defined]
    client.portal.call(arms.check)  # type: ignore[union-attr]
    _, after = get(client, f"/v1/users/{user}/rails/home", limit=10)
    assert after["experiment"] is None and after["arm"] is None
    assert after["sources"][0] == "personalised" and ids(after) != ids(home)
    assert client.get("/ready").json()["experiment"] is None


def test_an_arm_computes_with_its_overrides(client: TestClient, tv: Path) -> None:
    arms: ExperimentArms = client.app.state.experiments  # type: ignore[attr-defined]
    assert client.get("/ready").json()["experiment"] == NAME
    base = client.app.state.rails  # type: ignore[attr-defined]
    rested = arms.assignment(first_user(tv, "rested"))
    assert rested is not None and rested.arm.name == "rested"
    service = rested.rails(base)
    assert service.fatigue == Fatigue(completion=0.7, programs=0, series=0, channels=0)
    assert base.fatigue.programs == 30  # the API's own service is untouched
    assert service.model is base.model and service.personalised_home
    assert arms.assignment(None) is None  # anonymous rails are never assigned
