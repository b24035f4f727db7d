"""Batched writes into Neo4j: ``UNWIND $rows`` statements from ``cypher/load/``.

Each batch is one transaction (``execute_query`` retries transient errors), so a
failure leaves no half-written batch; every statement is idempotent, so a
re-run completes a load that stopped half-way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from neo4j import Driver
from tqdm import tqdm

from graph.queries import query

DEFAULT_BATCH_ROWS = 5_000
"""Rows per transaction: large enough to amortise a round trip, small enough for a 2 GB heap."""


@dataclass
class FileSummary:
    """What a load did with one file."""

    name: str
    read: int = 0
    written: int = 0
    rejected: int = 0
    note: str = ""

    def line(self, width: int) -> str:
        note = f"  {self.note}" if self.note else ""
        return (
            f"{self.name.ljust(width)}  {self.read:>10,}  {self.written:>10,}  "
            f"{self.rejected:>10,}{note}"
        )


def format_summaries(summaries: Sequence[FileSummary]) -> str:
    width = max([len(s.name) for s in summaries] + [4])
    head = f"{'file'.ljust(width)}  {'read':>10}  {'written':>10}  {'rejected':>10}"
    return "\n".join([head, *(s.line(width) for s in summaries)])


class BatchWriter:
    """Runs one load statement over many rows, ``batch_rows`` per transaction."""

    def __init__(
        self, driver: Driver, *, database: str, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
        self.driver = driver
        self.database = database
        self.batch_rows = batch_rows

    def write(
        self,
        statement: str,
        rows: Sequence[dict[str, Any]],
        *,
        progress: tqdm[Any] | None = None,
    ) -> int:
        """Write ``rows`` with ``cypher/<statement>.cypher``; return the sum of its results.

        A statement that returns one numeric column (e.g. ``applied``) has it
        summed; otherwise the number of rows sent is returned.
        """
        cypher = query(statement)
        total = 0
        for batch in _batches(rows, self.batch_rows):
            records, _, keys = self.driver.execute_query(
                cypher, rows=batch, database_=self.database
            )
            if keys:
                total += sum(int(r[0] or 0) for r in records)
            else:
                total += len(batch)
            if progress is not None:
                progress.update(len(batch))
        return total

    def count(self, statement: str, **params: Any) -> dict[str, int]:
        """The single row of a counting statement, as ``{column: count}``."""
        records, _, _ = self.driver.execute_query(query(statement), params, database_=self.database)
        return {k: int(v) for k, v in records[0].data().items()} if records else {}


def _batches(rows: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bar(total: int, desc: str, *, enabled: bool) -> tqdm[Any]:
    """A progress bar over rows (hidden when ``enabled`` is false or nothing to do)."""
    return tqdm(total=total, desc=desc, unit="row", disable=not enabled or total == 0)
