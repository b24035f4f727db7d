"""A bundle's audience list: the catalogue's rows of the programs on its channels (Neo4j)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from neo4j import Driver

from api.rails.popularity import PopularityCache
from graph.driver import open_async_driver
from graph.settings import Settings

NOW = datetime(2025, 1, 9, 20, 30, tzinfo=UTC)

# Two bundles sharing the channel "shared"; program "elsewhere" is on neither's channels,
# "both" is on a channel of each, "late" has one watch after the hour of NOW (not counted).
GRAPH = """
CREATE (a:Bundle:$($l) {id: $p + 'a', is_free: true}),
       (b:Bundle:$($l) {id: $p + 'b', is_free: false}),
       (ca:Channel:$($l) {id: $p + 'ca'}), (cs:Channel:$($l) {id: $p + 'shared'}),
       (cb:Channel:$($l) {id: $p + 'cb'}), (cx:Channel:$($l) {id: $p + 'cx'}),
       (a)-[:INCLUDES]->(ca), (a)-[:INCLUDES]->(cs), (b)-[:INCLUDES]->(cs),
       (b)-[:INCLUDES]->(cb)
WITH *
UNWIND [['only_a', 'ca', 3], ['both', 'shared', 5], ['only_b', 'cb', 1],
        ['elsewhere', 'cx', 9], ['late', 'ca', 0]] AS row
MERGE (c:Channel {id: $p + row[1]})
CREATE (p:Program:$($l) {id: $p + row[0]}),
       (p)-[:AVAILABLE_ON {kind: 'vod', start: $now - duration('P2D'),
                           end: $now + duration('P2D')}]->(c)
WITH p, row
UNWIND range(1, row[2]) AS i
CREATE (u:User:$($l) {id: $p + row[0] + '_u' + toString(i)}),
       (u)-[:WATCHED {last_ts: $now - duration('PT1H'), completion: 0.5}]->(p)
"""


@pytest.mark.neo4j
def test_a_bundle_list_is_the_catalogue_rows_of_its_programs(
    driver: Driver, neo4j_settings: Settings, scratch_label: str
) -> None:
    p = f"pop{uuid.uuid4().hex[:8]}_"
    db = neo4j_settings.neo4j_database
    driver.execute_query(GRAPH, l=scratch_label, p=p, now=NOW, database_=db)
    driver.execute_query(
        "MATCH (p:Program {id: $p + 'late'}) CREATE (:User:$($l) {id: $p + 'late_u'})"
        "-[:WATCHED {last_ts: $later, completion: 1.0}]->(p)",
        p=p, l=scratch_label, later=datetime(2025, 1, 9, 22, tzinfo=UTC), database_=db,
    )  # fmt: skip

    async def lists() -> tuple[list[dict[str, Any]], ...]:
        async with open_async_driver(neo4j_settings) as async_driver:
            cache = PopularityCache(async_driver, neo4j_settings)
            return (
                await cache.popularity(None, NOW),
                await cache.popularity(p + "a", NOW),
                await cache.popularity(p + "b", NOW),
                await cache.popularity(p + "unknown", NOW),
            )

    catalogue, a, b, unknown = asyncio.run(lists())
    ours = [r for r in catalogue if r["program_id"].startswith(p)]
    assert [r["program_id"].removeprefix(p) for r in ours] == [
        "elsewhere", "both", "only_a", "only_b", "late"
    ]  # fmt: skip
    assert {r["program_id"]: r["watchers_week"] for r in ours}[p + "late"] == 0
    assert [r["program_id"].removeprefix(p) for r in a] == ["both", "only_a", "late"]
    assert [r["program_id"].removeprefix(p) for r in b] == ["both", "only_b"]
    # The same rows as the catalogue's, not copies with other figures.
    assert all(r in catalogue for r in a + b)
    assert unknown == []
