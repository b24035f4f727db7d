"""Apply ``cypher/schema.cypher``: constraints and indexes, idempotently."""

from __future__ import annotations

from neo4j import Driver

from graph.queries import statements


def init_schema(driver: Driver, *, database: str) -> int:
    """Apply every schema statement (each is ``IF NOT EXISTS``); return how many ran."""
    schema = statements("schema")
    for statement in schema:
        driver.execute_query(statement, database_=database)
    return len(schema)
