"""Every saved exploration query in cypher/explore/ runs against a loaded graph; the audits
run over rails really served by the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.main import create_app
from api.served import ServedLog
from graph.queries import CYPHER_DIR, query
from graph.settings import Settings
from loaders.contract import GENRE_SEPARATOR
from tests.api.random_model import random_model
from tests.loaders.neo4j_data import loaded_tv_fixture

pytestmark = pytest.mark.neo4j


tv = loaded_tv_fixture("tv-explore", users=200, programs=150, seed=9)
NOW = "2025-01-09T20:00:00Z"  # the generated EPG week starts 2025-01-06


def run(driver: Driver, settings: Settings, name: str, **params: object) -> list[dict[str, object]]:
    records, _, _ = driver.execute_query(
        query(f"explore/{name}"), params, database_=settings.neo4j_database
    )
    return [r.data() for r in records]


def test_every_saved_query_is_tested() -> None:
    saved = {p.stem for p in (CYPHER_DIR / "explore").glob("*.cypher")}
    assert saved == {
        "user_neighbourhood", "why_recommended", "co_watch_neighbours", "bundle_coverage",
        "csa_audit", "blacklist_audit", "most_active_users",
    }  # fmt: skip


def test_user_neighbourhood_and_why_recommended(
    driver: Driver, neo4j_settings: Settings, tv: Path
) -> None:
    events = pd.read_csv(tv / "watch_events.csv", dtype=str)
    user = events["user_id"].value_counts().index[0]
    rows = run(driver, neo4j_settings, "user_neighbourhood", user_id=user, now=NOW)
    assert rows and rows[0]["watch_paths"] and rows[0]["bundle_paths"]
    popular = events.loc[events["user_id"] != user, "program_id"].value_counts().index[:50]
    why = {p: run(driver, neo4j_settings, "why_recommended", user_id=user, program_id=p,
                  now=NOW)[0] for p in popular}  # fmt: skip
    assert all(set(w) == {"subscription", "free_bundle", "genre", "co_watch", "series"}
               for w in why.values())  # fmt: skip
    program = next(p for p, w in why.items() if w["subscription"])
    # Only subscriptions active at `now` are drawn: in 2020 none had started.
    past = "2020-01-01T00:00:00Z"
    assert run(driver, neo4j_settings, "user_neighbourhood", user_id=user, now=past
               )[0]["bundle_paths"] == []  # fmt: skip
    assert run(driver, neo4j_settings, "why_recommended", user_id=user, program_id=program,
               now=past)[0]["subscription"] == []  # fmt: skip


def test_co_watch_neighbours_are_ranked(driver: Driver, neo4j_settings: Settings, tv: Path) -> None:
    events = pd.read_csv(tv / "watch_events.csv", dtype=str)
    program = events["program_id"].value_counts().index[0]
    rows = run(driver, neo4j_settings, "co_watch_neighbours", program_id=program)
    counts = [r["co_viewers"] for r in rows]
    assert counts and counts == sorted(counts, reverse=True)
    assert program not in {r["program_id"] for r in rows}


def test_bundle_coverage_lists_every_bundle(
    driver: Driver, neo4j_settings: Settings, tv: Path
) -> None:
    rows = {r["bundle_id"]: r for r in run(driver, neo4j_settings, "bundle_coverage")}
    bundles = pd.read_csv(tv / "bundles.csv", dtype=str)["bundle_id"]
    assert set(bundles) <= set(rows)
    assert all(0 <= rows[b]["percent_of_catalogue"] <= 100 for b in bundles)


PREFIX = f"test-explore-{uuid.uuid4().hex[:8]}-"
"""Request ids of the rails this module serves (and of its violating records)."""


@pytest.fixture(scope="module")
def api(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory, tv: Path
) -> Iterator[TestClient]:
    """The API on the loaded graph (a random model, so home rails are personalised), its
    served log flushed only when a test asks; this module's Served nodes deleted after."""
    settings = neo4j_settings.model_copy(
        update={"models_path": tmp_path_factory.mktemp("models"), "served_flush_s": 3600.0}
    )
    try:
        with TestClient(create_app(settings)) as client:
            client.app.state.rails.swap_model(random_model(tv, version="m-explore"))  # type: ignore[attr-defined]
            yield client
    finally:
        driver.execute_query(
            "MATCH (s:Served) WHERE s.request_id STARTS WITH $prefix DETACH DELETE s",
            prefix=PREFIX, database_=neo4j_settings.neo4j_database,
        )  # fmt: skip


def serve(client: TestClient, url: str, **params: object) -> dict[str, Any]:
    response = client.get(url, params={"now": NOW, **params},
                          headers={"X-Request-ID": f"{PREFIX}{uuid.uuid4().hex}"})  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def log_served(client: TestClient, name: str, user_id: str, program_id: str, at: datetime,
               *, channel_id: str | None = None, ceiling: int = 18) -> None:  # fmt: skip
    """Write a served record the rails would never produce, through the API's writer, as
    filtered for a CSA ceiling level ``ceiling``."""
    log: ServedLog = client.app.state.served_log  # type: ignore[attr-defined]
    log.record({
        "id": uuid.uuid4().hex, "request_id": f"{PREFIX}{name}", "rail": "home", "at": at,
        "as_of": at, "user_id": user_id, "anchor_program_id": None, "model_version": None,
        "csa_ceiling_level": ceiling, "bundles": [],
        "items": [[program_id, "test", False, channel_id, None]],
    })  # fmt: skip
    client.portal.call(log.flush)  # type: ignore[union-attr]


def test_audits_find_nothing_in_served_rails_and_exactly_a_violation(
    driver: Driver, neo4j_settings: Settings, tv: Path, api: TestClient
) -> None:
    users = pd.read_csv(tv / "users.csv", dtype=str).set_index("user_id")
    programs = pd.read_csv(tv / "programs.csv", dtype=str).set_index("program_id")
    blacklists = pd.read_csv(tv / "blacklists.csv", dtype=str)
    events = pd.read_csv(tv / "watch_events.csv", dtype=str)
    level = {"TP": 0, "-10": 10, "-12": 12, "-16": 16, "-18": 18}
    start = datetime.now(UTC)
    # Users whose rules bite: blacklists, low ceilings; plus the most active ones.
    chosen = [*blacklists["user_id"].unique()[:12],
              *users.index[users["csa_ceiling"] != "-18"][:12],
              *events["user_id"].value_counts().index[:6]]  # fmt: skip
    items = 0
    for user in dict.fromkeys(chosen):
        rails = [serve(api, f"/v1/users/{user}/rails/home", limit=10)]
        rails += serve(api, f"/v1/users/{user}/rails/because-you-watched", limit=5)["rails"]
        rails.append(serve(api, "/v1/rails/best-of-bundle", user_id=user, limit=5))
        items += sum(len(r["items"]) for r in rails)
    log: ServedLog = api.app.state.served_log  # type: ignore[attr-defined]
    assert api.portal.call(log.flush) > 0 and items > 200  # type: ignore[union-attr]
    assert run(driver, neo4j_settings, "csa_audit", since=start) == []
    assert run(driver, neo4j_settings, "blacklist_audit", since=start) == []

    # A program above a teen's ceiling, served to a user with no blacklist.
    clean = users.index[(users["csa_ceiling"] != "-18") & ~users.index.isin(blacklists["user_id"])]
    teen = clean[0]
    ceiling = level[users.loc[teen, "csa_ceiling"]]
    above = programs.index[programs["csa"].map(level) > ceiling][0]
    log_served(api, "csa-violation", teen, above, datetime.now(UTC), ceiling=ceiling)
    # A program its user blacklisted (in the file: no `at`, so at any time), within the ceiling.
    by_program = blacklists[blacklists["target_type"] == "program"]
    pairs = by_program.assign(ok=[
        level[programs.loc[p, "csa"]] <= level[users.loc[u, "csa_ceiling"]]
        for u, p in zip(by_program["user_id"], by_program["target_id"], strict=True)
    ])  # fmt: skip
    user, program = pairs.loc[pairs["ok"], ["user_id", "target_id"]].iloc[0]
    log_served(api, "blacklist-violation", user, program, datetime.now(UTC))

    csa = run(driver, neo4j_settings, "csa_audit", since=start)
    assert [(r["request_id"], r["user_id"], r["program_id"], r["csa_ceiling_level"])
            for r in csa] == [(f"{PREFIX}csa-violation", teen, above, ceiling)]  # fmt: skip
    found = run(driver, neo4j_settings, "blacklist_audit", since=start)
    assert [(r["request_id"], r["user_id"], r["program_id"], r["blacklisted"]) for r in found] == [
        (f"{PREFIX}blacklist-violation", user, program, "Program")
    ]


def test_blacklist_audit_counts_a_blacklist_from_its_time(
    driver: Driver, neo4j_settings: Settings, tv: Path, api: TestClient
) -> None:
    users = pd.read_csv(tv / "users.csv", dtype=str).set_index("user_id")
    blacklists = pd.read_csv(tv / "blacklists.csv", dtype=str)
    programs = pd.read_csv(tv / "programs.csv", dtype=str)
    adult = users.index[(users["csa_ceiling"] == "-18") & ~users.index.isin(blacklists["user_id"])]
    user, program = adult[-1], programs["program_id"].iloc[-1]
    served_at = datetime.now(UTC)
    log_served(api, "served-before-blacklist", user, program, served_at)
    db = neo4j_settings.neo4j_database
    blacklist = """
        MATCH (u:User {id: $user}), (p:Program {id: $program})
        MERGE (u)-[b:BLACKLISTED]->(p) SET b.at = $at
    """
    try:
        driver.execute_query(blacklist, user=user, program=program,
                             at=served_at + timedelta(minutes=5), database_=db)  # fmt: skip
        assert run(driver, neo4j_settings, "blacklist_audit", since=served_at) == []
        driver.execute_query(blacklist, user=user, program=program,
                             at=served_at - timedelta(minutes=5), database_=db)  # fmt: skip
        rows = run(driver, neo4j_settings, "blacklist_audit", since=served_at)
        assert [(r["user_id"], r["program_id"]) for r in rows] == [(user, program)]
    finally:
        driver.execute_query(
            "MATCH (:User {id: $user})-[b:BLACKLISTED]->(:Program {id: $program}) DELETE b",
            user=user, program=program, database_=db,
        )  # fmt: skip


def test_blacklist_audit_checks_the_channel_offered_and_the_genres(
    driver: Driver, neo4j_settings: Settings, tv: Path, api: TestClient
) -> None:
    blacklists = pd.read_csv(tv / "blacklists.csv", dtype=str)
    programs = pd.read_csv(tv / "programs.csv", dtype=str)
    start = datetime.now(UTC)
    genre_user, genre = blacklists.loc[blacklists["target_type"] == "genre"].iloc[0][
        ["user_id", "target_id"]
    ]
    of_genre = programs.loc[programs["genres"].str.split(GENRE_SEPARATOR).map(lambda g: genre in g)]
    log_served(api, "genre-violation", genre_user, of_genre["program_id"].iloc[0], start)
    channel_user, channel = blacklists.loc[blacklists["target_type"] == "channel"].iloc[0][
        ["user_id", "target_id"]
    ]
    program = programs["program_id"].iloc[0]
    log_served(api, "channel-violation", channel_user, program, start, channel_id=channel)
    log_served(api, "other-channel", channel_user, program, start, channel_id=f"not-{channel}")
    rows = run(driver, neo4j_settings, "blacklist_audit", since=start)
    found = {(r["request_id"].removeprefix(PREFIX), r["blacklisted"], r["blacklisted_id"])
             for r in rows}  # fmt: skip
    assert ("genre-violation", "Genre", genre) in found
    assert ("channel-violation", "Channel", channel) in found
    assert not {f for f in found if f[0] == "other-channel" and f[1] == "Channel"}


def test_most_active_users(driver: Driver, neo4j_settings: Settings, tv: Path) -> None:
    events = pd.read_csv(tv / "watch_events.csv", dtype=str)
    pairs = events.drop_duplicates(["user_id", "program_id"])
    top = pairs["user_id"].value_counts()
    rows = run(driver, neo4j_settings, "most_active_users", limit=3)
    assert [r["watched"] for r in rows] == top.iloc[:3].tolist()
    assert rows[0]["user_id"] in set(top[top == top.iloc[0]].index)
