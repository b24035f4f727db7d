"""The user context the rails read (cypher/rails/user_context.cypher) on a hand-built graph."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from neo4j import Driver

from api.rails.service import RailsService
from api.rails.types import UserContext
from graph.driver import open_async_driver
from graph.settings import Settings

pytestmark = pytest.mark.neo4j

NOW = datetime(2025, 1, 9, 20, tzinfo=UTC)


def context(settings: Settings, user_id: str) -> UserContext:
    async def run() -> UserContext:
        driver = open_async_driver(settings)
        try:
            return await RailsService(driver, settings, None).context(user_id, NOW)
        finally:
            await driver.close()

    return asyncio.run(run())


def test_genre_share_is_of_all_watch_time_each_watch_once(
    driver: Driver, neo4j_settings: Settings, scratch_label: str
) -> None:
    p = scratch_label + "_"
    driver.execute_query(
        """
        CREATE (u:User:$($l) {id: $p + 'u'})
        CREATE (film:Genre:$($l) {id: $p + 'film', name: 'Film'})
        CREATE (humour:Genre:$($l) {id: $p + 'humour', name: 'Humour'})
        CREATE (sport:Genre:$($l) {id: $p + 'sport', name: 'Sport'})
        CREATE (a:Program:$($l) {id: $p + 'a', title: 'A'})-[:HAS_GENRE {rank: 0}]->(film)
        CREATE (a)-[:HAS_GENRE {rank: 1}]->(humour)
        CREATE (b:Program:$($l) {id: $p + 'b', title: 'B'})-[:HAS_GENRE {rank: 0}]->(sport)
        CREATE (u)-[:WATCHED {seconds: 3600, completion: 1.0,
                              last_ts: datetime('2025-01-08T20:00:00Z')}]->(a)
        CREATE (u)-[:WATCHED {seconds: 3600, completion: 1.0,
                              last_ts: datetime('2025-01-08T22:00:00Z')}]->(b)
        """,
        l=scratch_label, p=p, database_=neo4j_settings.neo4j_database,
    )  # fmt: skip
    ctx = context(neo4j_settings, p + "u")
    # Half of the user's two hours went to sport, half to the film of two genres.
    assert ctx.genre_share == {
        p + "film": ("Film", 0.5), p + "humour": ("Humour", 0.5), p + "sport": ("Sport", 0.5),
    }  # fmt: skip
    assert context(neo4j_settings, p + "nobody").genre_share == {}
