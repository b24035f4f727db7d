"""The statements the API plans after a Neo4j outage (api/rails/warm_up.py) run on the real
Neo4j with the parameters the warm-up gives them, and leave plans the rails then use."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from neo4j import Driver

from api.rails.eligibility import NO_FATIGUE, eligible_offers
from api.rails.service import MIN_HISTORY
from api.rails.warm_up import PLACEHOLDER, plan_rail_statements, rail_statements
from graph.driver import open_async_driver
from graph.queries import query
from graph.settings import Settings

pytestmark = pytest.mark.neo4j

USER = "warm-up-test-user"


def test_every_rail_statement_plans_with_the_warm_up_parameters(
    driver: Driver, neo4j_settings: Settings
) -> None:
    statements = rail_statements(neo4j_settings, NO_FATIGUE, None, min_history=MIN_HISTORY)
    assert {name for name, _ in statements} == {"rails/eligible", "rails/home"}
    for name, params in statements:
        # A parameter the statement needs and the warm-up lacks fails the plan.
        _, summary, _ = driver.execute_query(
            "EXPLAIN " + query(name), params, database_=neo4j_settings.neo4j_database
        )
        assert summary.plan is not None, name


def compile_times(driver: Driver, settings: Settings, statement: str) -> dict[str, list[int]]:
    """Neo4j's compile time (microseconds) of each run of ``statement`` it collected, by the
    run's ``user_id`` (other tests' apps may run the statement meanwhile)."""
    records, _, _ = driver.execute_query(
        "CALL db.stats.retrieve('QUERIES') YIELD data RETURN data",
        database_=settings.neo4j_database,
    )
    times: dict[str, list[int]] = {}
    for r in records:
        if r["data"]["query"] == statement:
            for run in r["data"]["invocations"]:
                user = str((run.get("params") or {}).get("user_id"))
                times.setdefault(user, []).append(run["elapsedCompileTimeInUs"])
    return times


def test_a_rail_after_the_warm_up_finds_its_statement_planned(
    driver: Driver, neo4j_settings: Settings
) -> None:
    """The warm-up runs the statements (Neo4j caches an EXPLAIN's plan apart from the plan of
    the statement run): the eligibility call of a rail that follows plans nothing, though it
    knows no country and has offered no series."""
    db = neo4j_settings.neo4j_database
    statements = rail_statements(neo4j_settings, NO_FATIGUE, None, min_history=MIN_HISTORY)

    async def warm_up_then_a_rail() -> None:
        async with open_async_driver(neo4j_settings) as adriver:
            await plan_rail_statements(adriver, neo4j_settings, statements)
            await eligible_offers(
                adriver, neo4j_settings, user_id=USER, program_ids=["p1", "p2"],
                now=datetime.now(UTC), rail="home",
            )  # fmt: skip

    driver.execute_query("CALL db.clearQueryCaches()", database_=db)
    driver.execute_query("CALL db.stats.clear('QUERIES')", database_=db)
    driver.execute_query("CALL db.stats.collect('QUERIES')", database_=db)
    try:
        asyncio.run(warm_up_then_a_rail())
    finally:
        driver.execute_query("CALL db.stats.stop('QUERIES')", database_=db)
    times = compile_times(driver, neo4j_settings, query("rails/eligible"))
    # The warm-up's run (Neo4j collects no run of an EXPLAIN), then the rail's; another
    # test's app still serving may add runs of its own, warm-ups included.
    assert times.get(PLACEHOLDER) and len(times.get(USER, [])) == 1, times
    [rail] = times[USER]
    # A plan of eligible.cypher takes hundreds of milliseconds; finding it cached, about one.
    # The plan is the warm-up's, unless another test's app ran the statement first.
    planned = max(t for runs in times.values() for t in runs)
    assert rail * 10 < planned, times
