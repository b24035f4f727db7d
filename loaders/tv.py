"""Load a TV data set (the contract of ``docs/data.md``) into Neo4j.

Validation runs first (:mod:`loaders.validate`); only valid rows are written,
file by file in the contract's order, with ``UNWIND $rows`` statements from
``cypher/load/``. ``watch_events`` is streamed chunk by chunk and folded into
``WATCHED`` relationships that remember their event ids, so a replayed or
overlapping events file adds only what is new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from neo4j import Driver

from graph.domain import BLACKLIST_TARGETS, WATCH_EVENT_FIELDS, group_event_records
from loaders.contract import FILES
from loaders.rejects import Reject
from loaders.validate import (
    Validated,
    iter_watch_events,
    to_records,
    validate_dataset,
)
from loaders.writer import DEFAULT_BATCH_ROWS, BatchWriter, FileSummary, bar

# Labels of the files whose ids later files (and incremental events) refer to.
ID_LABELS = {"users": "User", "programs": "Program", "channels": "Channel"}


@dataclass
class LoadReport:
    """Per-file summaries and every reject of one load."""

    files: list[FileSummary] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)


def load_tv(
    driver: Driver,
    folder: str | Path,
    *,
    database: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: bool = True,
) -> LoadReport:
    """Validate ``folder`` and write its valid rows; return what happened per file."""
    dataset = validate_dataset(folder, include_watch_events=False)
    writer = BatchWriter(driver, database=database, batch_rows=batch_rows)
    report = LoadReport()
    for spec in FILES:
        if spec.name == "watch_events":
            continue
        validated = dataset[spec.name]
        report.rejects += validated.rejects
        summary = FileSummary(spec.name, read=validated.rows_read)
        summary.rejected = validated.rows_rejected
        if validated.path is None:
            summary.note = "absent (optional)" if validated.ok else "absent (required)"
        # A file rejected as a whole writes nothing, whatever rows its frame holds.
        rows = to_records(validated.frame) if validated.ok else []
        with bar(len(rows), spec.name, enabled=progress) as pbar:
            if spec.name == "blacklists":
                summary.written = _write_blacklists(writer, rows, pbar)
            else:
                summary.written = writer.write(f"load/{spec.name}", rows, progress=pbar)
        report.files.append(summary)

    events_path = dataset.paths["watch_events"]
    rejected = dataset.files.get("watch_events")
    if rejected is not None or events_path is None:
        # Not to be read (absent, or users, programs or channels rejected as a whole): its
        # one row-0 reject, not an unknown_reference per event.
        report.rejects += rejected.rejects if rejected is not None else []
        note = "absent" if events_path is None else "not read: a file it references was rejected"
        report.files.append(FileSummary("watch_events", note=note))
    else:
        chunks = iter_watch_events(events_path, known=dataset.known)
        report.files.append(write_watch_events(writer, chunks, report, progress=progress))
    writer.write("load/data_source", [{"id": "tv", "not_applicable": []}])
    return report


def load_events(
    driver: Driver,
    path: str | Path,
    *,
    database: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: bool = True,
) -> LoadReport:
    """Add one watch-events file to a loaded graph (ids are checked against Neo4j)."""
    writer = BatchWriter(driver, database=database, batch_rows=batch_rows)
    known = {name: _ids_in_graph(driver, database, label) for name, label in ID_LABELS.items()}
    report = LoadReport()
    chunks = iter_watch_events(Path(path), known=known)
    report.files.append(write_watch_events(writer, chunks, report, progress=progress))
    return report


def write_watch_events(
    writer: BatchWriter,
    chunks: Iterable[Validated],
    report: LoadReport,
    *,
    progress: bool,
) -> FileSummary:
    """Fold validated event chunks into ``WATCHED``; count events new to the graph."""
    summary = FileSummary("watch_events")
    with bar(0, "watch_events", enabled=progress) as pbar:
        for chunk in chunks:
            report.rejects += chunk.rejects
            summary.read += chunk.rows_read
            summary.rejected += chunk.rows_rejected
            rows = group_events(chunk.frame)
            pbar.total = (pbar.total or 0) + len(rows)
            summary.written += writer.write("load/watch_events", rows, progress=pbar)
    already = summary.read - summary.rejected - summary.written
    if already:
        summary.note = f"{already:,} events were already in the graph"
    return summary


def group_events(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per (user, program) with its events, as ``cypher/load/watch_events`` wants."""
    if frame.empty:
        return []
    return group_event_records(to_records(frame[["user_id", "program_id", *WATCH_EVENT_FIELDS]]))


def _write_blacklists(writer: BatchWriter, rows: list[dict[str, Any]], pbar: Any) -> int:
    # One statement per target label, so each MATCH uses its label's id index.
    written = 0
    for target in BLACKLIST_TARGETS:
        subset = [r for r in rows if r["target_type"] == target]
        written += writer.write(f"load/blacklists_{target}", subset, progress=pbar)
    return written


def _ids_in_graph(driver: Driver, database: str, label: str) -> pd.Index:
    from graph.queries import query

    records, _, _ = driver.execute_query(query("load/ids"), label=label, database_=database)
    ids: pd.Index = pd.Index([r["id"] for r in records])
    return ids


def graph_counts(driver: Driver, *, database: str) -> dict[str, int]:
    """Nodes per label and relationships per type."""
    return BatchWriter(driver, database=database).count("stats/counts")
