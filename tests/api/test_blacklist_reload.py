"""A blacklist from the files against an un-blacklist event: loading the same files again
never brings back what the user lifted (a file row has no time; the event is newer)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from neo4j import Driver

from graph.queries import query
from graph.settings import Settings
from loaders.tv import load_tv
from tests.loaders.neo4j_data import loaded_tv_fixture

pytestmark = pytest.mark.neo4j

tv = loaded_tv_fixture("tv-blacklist-reload", users=200, programs=200, seed=11)


def blacklists(driver: Driver, db: str, users: list[str]) -> set[tuple[str, str]]:
    records, _, _ = driver.execute_query(
        "MATCH (u:User)-[:BLACKLISTED]->(t) WHERE u.id IN $users "
        "RETURN u.id AS user_id, t.id AS target_id",
        users=users, database_=db,
    )  # fmt: skip
    return {(r["user_id"], r["target_id"]) for r in records}


def test_reloading_the_files_keeps_an_unblacklist(
    tv: Path, driver: Driver, neo4j_settings: Settings
) -> None:
    db = neo4j_settings.neo4j_database
    rows = pd.read_csv(tv / "blacklists.csv", dtype=str)
    assert len(rows) >= 2, "the generated data set has too few blacklists for this test"
    users = sorted(set(rows["user_id"]))
    loaded = {(r.user_id, r.target_id) for r in rows.itertuples()}
    assert blacklists(driver, db, users) == loaded

    lifted = rows.iloc[0]
    driver.execute_query(
        query("events/unblacklist"),
        rows=[{"user_id": lifted["user_id"], "target_type": lifted["target_type"],
               "target_id": lifted["target_id"], "event_id": "e-reload-1",
               "ts": pd.Timestamp("2025-01-09T12:00:00Z").to_pydatetime()}],
        database_=db,
    )  # fmt: skip
    expected = loaded - {(lifted["user_id"], lifted["target_id"])}
    assert blacklists(driver, db, users) == expected

    load_tv(driver, tv, database=db, progress=False)  # the same files again
    assert blacklists(driver, db, users) == expected  # the lifted one stays lifted, the rest stay
