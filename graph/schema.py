"""Apply ``cypher/schema.cypher``: constraints and indexes, idempotently."""

from __future__ import annotations

from neo4j import AsyncDriver, Driver

from graph.queries import statements


def init_schema(driver: Driver, *, database: str) -> int:
    """Apply every schema statement (each is ``IF NOT EXISTS``); return how many ran."""
    schema = statements("schema")
    for statement in schema:
        driver.execute_query(statement, database_=database)
    return len(schema)


async def init_schema_async(driver: AsyncDriver, *, database: str) -> int:
    """:func:`init_schema` with the async driver (the API applies it as it starts)."""
    schema = statements("schema")
    for statement in schema:
        await driver.execute_query(statement, database_=database)
    return len(schema)
