"""Hand-built test graphs: a Cypher file of ``tests/api`` run with a fresh id prefix and a
label of its own on every node, deleted afterwards (only this graph's nodes)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from neo4j import Driver

from graph.settings import Settings


@contextlib.contextmanager
def scratch_graph(
    driver: Driver, settings: Settings, name: str, *, tag: str = "t"
) -> Iterator[str]:
    """Create the graph of ``tests/api/<name>.cypher`` (its ids start with ``$p``, its nodes
    carry the label ``$scratch``); yield the prefix; delete its nodes on the way out."""
    prefix = f"{tag}{uuid.uuid4().hex[:8]}_"
    scratch = f"Scratch_{prefix}"
    setup = (Path(__file__).parent / f"{name}.cypher").read_text()
    db = settings.neo4j_database
    driver.execute_query(setup, p=prefix, scratch=scratch, database_=db)
    try:
        yield prefix
    finally:
        driver.execute_query("MATCH (n:$($l)) DETACH DELETE n", l=scratch, database_=db)
