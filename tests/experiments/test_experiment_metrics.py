"""An experiment's metrics on a hand-built served log and watches, against values worked
out by hand; and the experiments' storage (real Neo4j; only this module's data is
created and deleted)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from neo4j import Driver

from experiments import store
from experiments.arms import Arm, Experiment
from experiments.cli import report
from graph.settings import Settings

pytestmark = pytest.mark.neo4j

TAG = uuid.uuid4().hex[:8]
NAME = f"test-metrics-{TAG}"
T = datetime(2025, 1, 9, 20, tzinfo=UTC)
H = timedelta(hours=1)


def uid(name: str) -> str:
    return f"{name}-{TAG}"


# Served rails: (user, arm, rail, as_of, [programs]).
SERVED = [
    ("u1", "A", "home", T, ["p1", "p2"]),
    ("u1", "A", "home", T + 48 * H, ["p1"]),
    ("u2", "A", "home", T, ["p3"]),
    ("u2", "A", "home", T + H, []),  # an empty rail still exposes u2
    ("u3", "B", "home", T, ["p1", "p3"]),
    ("u3", "B", "similar", T, ["p2"]),
]
# Watches: (user, program, last_ts, completion, seconds).
WATCHES = [
    ("u1", "p1", T + 3 * H, 0.95, 1000),  # played and completed after the first rail
    ("u1", "p2", T + 30 * H, 1.0, 500),  # outside the 24 h window
    ("u2", "p3", T - H, 1.0, 700),  # before it was served
    ("u3", "p1", T + H, 0.5, 300),  # played, abandoned
    ("u3", "p3", T + 2 * H, 0.9, 2000),  # played, completed (threshold 0.9)
]
GENRES = {"p1": ["g1"], "p2": ["g2"], "p3": ["g1", "g2"]}


@pytest.fixture(scope="module")
def graph(driver: Driver, neo4j_settings: Settings) -> Iterator[None]:
    db = neo4j_settings.neo4j_database
    label = f"Scratch_{TAG}"
    driver.execute_query(
        """
        UNWIND $genres AS g CREATE (:Genre:$($label) {id: g})
        WITH count(*) AS _
        UNWIND $programs AS row
        CREATE (p:Program:$($label) {id: row.id})
        WITH p, row
        UNWIND range(0, size(row.genres) - 1) AS rank
        MATCH (genre:Genre {id: row.genres[rank]}) CREATE (p)-[:HAS_GENRE {rank: rank}]->(genre)
        """,
        label=label, genres=[uid("g1"), uid("g2")],
        programs=[{"id": uid(p), "genres": [uid(g) for g in gs]} for p, gs in GENRES.items()],
        database_=db,
    )  # fmt: skip
    driver.execute_query(
        """
        UNWIND $users AS u CREATE (:User:$($label) {id: u})
        WITH count(*) AS _
        UNWIND $watches AS w
        MATCH (u:User {id: w.user}), (p:Program {id: w.program})
        CREATE (u)-[:WATCHED {last_ts: w.ts, first_ts: w.ts, completion: w.completion,
                              seconds: w.seconds, count: 1}]->(p)
        """,
        label=label, users=[uid(u) for u in ("u1", "u2", "u3")],
        watches=[{"user": uid(u), "program": uid(p), "ts": ts, "completion": c, "seconds": s}
                 for u, p, ts, c, s in WATCHES],
        database_=db,
    )  # fmt: skip
    driver.execute_query(
        """
        UNWIND range(0, size($served) - 1) AS k
        WITH k, $served[k] AS row
        CREATE (s:Served {id: $name + '-' + toString(k), experiment: $name, arm: row.arm,
                          rail: row.rail, user_id: row.user, as_of: row.as_of,
                          at: row.as_of, size: size(row.items)})
        WITH s, row
        UNWIND range(0, size(row.items) - 1) AS i
        MATCH (p:Program {id: row.items[i]})
        CREATE (s)-[:SERVED_ITEM {position: i + 1}]->(p)
        """,
        name=NAME,
        served=[{"user": uid(u), "arm": a, "rail": r, "as_of": t, "items": [uid(p) for p in ps]}
                for u, a, r, t, ps in SERVED],
        database_=db,
    )  # fmt: skip
    store.create(driver, Experiment(name=NAME, salt="s", arms=(Arm("A"), Arm("B"))), database=db)
    store.stop(driver, NAME, database=db)
    try:
        yield
    finally:
        driver.execute_query(
            """
            OPTIONAL MATCH (s:Served {experiment: $name}) DETACH DELETE s
            WITH count(*) AS _
            OPTIONAL MATCH (e:Experiment {name: $name}) OPTIONAL MATCH (e)-[:HAS_ARM]->(a:Arm)
            DETACH DELETE e, a
            WITH count(*) AS _
            MATCH (n:$($label)) DETACH DELETE n
            """,
            name=NAME, label=label, database_=db,
        )  # fmt: skip


def arm(data: dict[str, Any], name: str, rail: str | None = None) -> dict[str, Any]:
    arms = (
        data["arms"]
        if rail is None
        else next(r for r in data["rails"] if r["rail"] == rail)["arms"]
    )
    metrics: dict[str, Any] = next(a for a in arms if a["name"] == name)["metrics"]
    return metrics


def h(*weights: float) -> float:
    total = sum(weights)
    return -sum(w / total * math.log2(w / total) for w in weights)


def test_metrics_match_the_hand_computed_values(
    graph: None, driver: Driver, neo4j_settings: Settings
) -> None:
    data = report(driver, neo4j_settings, NAME, resamples=500, seed=3)
    catalogue = data["catalogue_programs"]
    a = arm(data, "A")
    expected_a = {
        "users_exposed": 2,
        "impressions": 4,  # 2 + 1 + 1 + 0
        "play_rate": 1 / 4,  # only p1 to u1 after the first rail
        "completed_rate": 1 / 4,
        "plays_per_user": 1 / 2,
        "completed_watches_per_user": 1 / 2,
        "watch_seconds_per_user": 1000 / 2,
        "coverage": 3 / catalogue,
        # u1 was shown p1 twice (g1) and p2 once (g2); u2 p3 once (half g1, half g2).
        "genre_diversity": (h(2, 1) + h(0.5, 0.5)) / 2,
    }
    b = arm(data, "B")
    expected_b = {
        "users_exposed": 1,
        "impressions": 3,
        "play_rate": 2 / 3,  # p1 and p3 on home; p2 on similar was never watched
        "completed_rate": 1 / 3,
        "plays_per_user": 2,
        "completed_watches_per_user": 1,
        "watch_seconds_per_user": 2300,
        "coverage": 3 / catalogue,
        "genre_diversity": h(1.5 + 0, 0.5 + 1),  # p1: g1; p3: half each; p2: g2
    }
    for got, expected in ((a, expected_a), (b, expected_b)):
        for metric, value in expected.items():
            assert got[metric]["value"] == pytest.approx(value), metric
            assert got[metric]["low"] <= got[metric]["value"] + 1e-12 <= got[metric]["high"] + 2e-12
    # Per rail: B's home rail alone.
    home_b = arm(data, "B", "home")
    assert home_b["impressions"]["value"] == 2 and home_b["play_rate"]["value"] == 1.0
    assert arm(data, "B", "similar")["plays_per_user"]["value"] == 0
    # A resample of A's two users is {u1,u1}: 1/3, {u2,u2}: 0, or both: 1/4.
    assert a["play_rate"]["low"] >= 0 and a["play_rate"]["high"] <= 1 / 3 + 1e-12
    [comparison] = data["comparisons"]
    assert comparison["arm"] == "B" and comparison["against"] == "A"
    d = comparison["difference"]["completed_watches_per_user"]
    assert d["value"] == pytest.approx(0.5) and d["relative"] == pytest.approx(1.0)
    assert 0 <= d["p_value"] <= 1
    # Seeded: the same report twice.
    assert report(driver, neo4j_settings, NAME, resamples=500, seed=3) == data


def test_play_window_is_a_setting(graph: None, driver: Driver, neo4j_settings: Settings) -> None:
    wide = neo4j_settings.model_copy(update={"play_window_h": 72.0})
    a = arm(report(driver, wide, NAME, resamples=50), "A")
    # Within 72 h u1's watch of p2 (30 h after) counts too, for the first rail only.
    assert a["play_rate"]["value"] == pytest.approx(2 / 4)
    assert a["completed_watches_per_user"]["value"] == pytest.approx(2 / 2)


def test_experiments_are_created_once_and_one_runs_at_a_time(
    graph: None, driver: Driver, neo4j_settings: Settings
) -> None:
    db = neo4j_settings.neo4j_database
    first = Experiment(
        name=f"test-store-{TAG}", salt="salt",
        arms=(Arm("ctl", fatigue_programs=0), Arm("new", weight=3, popularity_blend=0.2,
                                                  source="popular_in_bundle")),
    )  # fmt: skip
    second = Experiment(name=f"test-store2-{TAG}", salt="salt", arms=(Arm("a"), Arm("b")))
    try:
        stored = store.create(driver, first, database=db)
        assert stored.arms == first.arms and stored.salt == "salt"
        assert stored.status == "running" and stored.created_at is not None
        with pytest.raises(store.ExperimentError, match=f"'{first.name}' already exists"):
            store.create(driver, first, database=db)
        with pytest.raises(store.ExperimentError, match=f"'{first.name}' is running"):
            store.create(driver, second, database=db)
        assert store.stop(driver, first.name, database=db) is True
        assert store.stop(driver, first.name, database=db) is False
        assert store.get(driver, first.name, database=db).status == "stopped"
        store.create(driver, second, database=db)
        assert [e.name for e in store.find(driver, database=db, status="running")] == [second.name]
        with pytest.raises(store.ExperimentError, match="no experiment named 'nope"):
            store.stop(driver, f"nope-{TAG}", database=db)
    finally:
        driver.execute_query(
            "MATCH (e:Experiment) WHERE e.name IN $names "
            "OPTIONAL MATCH (e)-[:HAS_ARM]->(a:Arm) DETACH DELETE e, a",
            names=[first.name, second.name], database_=db,
        )  # fmt: skip
