"""Every saved exploration query in cypher/explore/ runs against a loaded graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from neo4j import Driver

from graph.queries import CYPHER_DIR, query
from graph.settings import Settings
from tests.loaders.neo4j_data import generated_and_loaded

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def tv(
    driver: Driver, neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    yield from generated_and_loaded(
        driver, neo4j_settings.neo4j_database, tmp_path_factory.mktemp("tv-explore"),
        users=200, programs=150, seed=9,
    )  # fmt: skip


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
    rows = run(driver, neo4j_settings, "user_neighbourhood", user_id=user)
    assert rows and rows[0]["watch_paths"]
    program = events.loc[events["user_id"] != user, "program_id"].value_counts().index[0]
    why = run(driver, neo4j_settings, "why_recommended", user_id=user, program_id=program)
    assert set(why[0]) == {"access", "genre", "co_watch"}


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


def test_audits_run(driver: Driver, neo4j_settings: Settings, tv: Path) -> None:
    for row in run(driver, neo4j_settings, "csa_audit"):
        assert row["csa"] != "TP"  # only programs above some ceiling can appear
    kinds = {r["kind"] for r in run(driver, neo4j_settings, "blacklist_audit")}
    assert kinds <= {"Program", "Channel", "Genre"} and kinds


def test_most_active_users(driver: Driver, neo4j_settings: Settings, tv: Path) -> None:
    events = pd.read_csv(tv / "watch_events.csv", dtype=str)
    pairs = events.drop_duplicates(["user_id", "program_id"])
    top = pairs["user_id"].value_counts()
    rows = run(driver, neo4j_settings, "most_active_users", limit=3)
    assert [r["watched"] for r in rows] == top.iloc[:3].tolist()
    assert rows[0]["user_id"] in set(top[top == top.iloc[0]].index)
