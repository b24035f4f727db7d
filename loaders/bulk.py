"""Bulk path for a large first load: Neo4j's import tool (``neo4j-admin database import full``).

The import tool writes the store files directly, far faster than transactions,
but only into an empty, stopped database of a local server. This module
validates the data set exactly as :func:`loaders.tv.load_tv` does, writes the
import tool's CSV files (one per label and relationship type, ``WATCHED``
already aggregated from the events), stops the local server, imports, starts
it again and applies the schema. The resulting graph is the one the UNWIND
path builds from the same files.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd
from neo4j import Driver

from graph.driver import open_driver
from graph.schema import init_schema
from graph.server import LocalServer, ServerError
from loaders.tv import LoadReport, graph_counts
from loaders.validate import Validated, empty_frame, iter_watch_events, validate_dataset
from loaders.writer import BatchWriter, FileSummary

ARRAY_DELIMITER = ";"

# (file, label, id column, {column: import-tool type}) for every node file.
NODE_FILES: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("genres", "Genre", "genre_id", {"name": "string"}),
    ("channels", "Channel", "channel_id", {"name": "string"}),
    ("bundles", "Bundle", "bundle_id", {"name": "string", "is_free": "boolean"}),
    ("series", "Series", "series_id", {"title": "string"}),
    ("programs", "Program", "program_id", {
        "title": "string", "csa": "string", "csa_level": "int", "duration_s": "int",
        "year": "int", "availability": "string", "season": "int", "episode": "int"}),
    ("users", "User", "user_id", {
        "country": "string", "profile": "string", "csa_ceiling": "string",
        "csa_ceiling_level": "int"}),
)  # fmt: skip


def bulk_load_tv(
    server: LocalServer, folder: str | Path, *, database: str, progress: bool = True
) -> LoadReport:
    """Import ``folder`` into the empty ``database`` of the local ``server``."""
    settings = server.settings
    with open_driver(settings) as driver:
        _require_empty(driver, database)
    dataset = validate_dataset(folder, include_watch_events=False)
    report = LoadReport()
    work = server.dir / "import" / "bulk"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    args: list[str] = []
    # watch_events is in files only when it is not to be read: then its reject is taken here.
    frames = {n: _take(v, report) for n, v in dataset.files.items()}

    for name, label, id_column, props in NODE_FILES:
        frame = frames[name].rename(columns={id_column: "id"})[["id", *props]]
        args.append(f"--nodes={label}={_write(work, name, frame, 'id', label, props)}")

    rels: list[tuple[str, str, pd.DataFrame, tuple[str, str], dict[str, str]]] = []
    bc = frames["bundle_channels"]
    rels.append(("INCLUDES", "bundle_channels", bc, ("Bundle", "Channel"), {}))
    subs = frames["subscriptions"]
    rels.append(("SUBSCRIBES_TO", "subscriptions", subs[["user_id", "bundle_id", "since", "until"]],
                 ("User", "Bundle"), {"since": "datetime", "until": "datetime"}))  # fmt: skip
    programs = frames["programs"]
    rels.append(("HAS_GENRE", "program_genres", genre_ranks(programs), ("Program", "Genre"),
                 {"rank": "int"}))  # fmt: skip
    episodes = programs.loc[programs["series_id"].notna(), ["program_id", "series_id"]]
    rels.append(("EPISODE_OF", "program_series", episodes, ("Program", "Series"), {}))
    avail = frames["availability"]
    avail = avail.assign(countries=_array_cells(avail, "countries"))
    rels.append(("AVAILABLE_ON", "availability", avail, ("Program", "Channel"),
                 {"start": "datetime", "end": "datetime", "kind": "string",
                  "countries": "string[]"}))  # fmt: skip
    black = frames["blacklists"]
    for target, label in (("program", "Program"), ("channel", "Channel"), ("genre", "Genre")):
        subset = black.loc[black["target_type"] == target, ["user_id", "target_id"]]
        rels.append(("BLACKLISTED", f"blacklists_{target}", subset, ("User", label), {}))
    events_path = dataset.paths["watch_events"]
    if "watch_events" not in frames and events_path is not None:
        chunks = iter_watch_events(events_path, known=dataset.known)
        watched = aggregate_watches(chunks, report)
        rels.append(("WATCHED", "watched", watched, ("User", "Program"), {
            "first_ts": "datetime", "last_ts": "datetime", "seconds": "long",
            "completion": "double", "count": "int", "event_ids": "string[]",
            "last_channel_id": "string"}))  # fmt: skip

    for rel_type, name, frame, (start, end), props in rels:
        path = _write_rel(work, name, frame, start, end, props)
        args.append(f"--relationships={rel_type}={path}")

    server.stop()
    started = time.perf_counter()
    done = server.admin(
        None, "database", "import", "full", database, "--overwrite-destination=true",
        f"--array-delimiter={ARRAY_DELIMITER}", f"--report-file={work / 'import.report'}",
        "--high-parallel-io=on", *args,
    )  # fmt: skip
    server.start()
    if done.returncode != 0:
        raise ServerError(f"the import tool failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    report.notes.append(f"import tool: {time.perf_counter() - started:.1f} s")
    with open_driver(settings) as driver:
        init_schema(driver, database=database)
        writer = BatchWriter(driver, database=database)
        writer.write("load/data_source", [{"id": "tv", "not_applicable": []}])
        counts = graph_counts(driver, database=database)
    files = [
        FileSummary(n, v.rows_read, len(v.frame), v.rows_rejected) for n, v in dataset.files.items()
    ]
    report.files = files + report.files  # watch_events, summarised while aggregating, last
    report.notes.append("graph: " + ", ".join(f"{k} {n:,}" for k, n in counts.items()))
    shutil.rmtree(work, ignore_errors=True)
    return report


def aggregate_watches(chunks: Any, report: LoadReport) -> pd.DataFrame:
    """Fold watch-event chunks into one row per (user, program), as ``WATCHED`` holds them."""
    parts = []
    summary = FileSummary("watch_events")
    for chunk in chunks:
        report.rejects += chunk.rejects
        summary.read += chunk.rows_read
        summary.rejected += chunk.rows_rejected
        parts.append(_aggregate(chunk.frame))
    report.files.append(summary)
    if not parts:
        return pd.DataFrame(columns=["user_id", "program_id"])
    combined = _aggregate_partials(pd.concat(parts, ignore_index=True))
    summary.written = int(combined["count"].sum())
    return combined


def genre_ranks(programs: pd.DataFrame) -> pd.DataFrame:
    """One row per (program, genre) with its ``rank`` in ``genres`` (0 = the main genre), as
    ``cypher/load/programs.cypher`` sets it: a repeated genre keeps its first place."""
    pairs = programs[["program_id", "genres"]].explode("genres").drop_duplicates()
    return pairs.assign(rank=pairs.groupby("program_id", sort=False).cumcount())


def _array_cells(frame: pd.DataFrame, column: str) -> pd.Series:
    """A ``str list`` column as import-tool array cells (items joined by
    :data:`ARRAY_DELIMITER`, which no valid country code holds); a missing list stays an
    empty cell, which the tool leaves unset, as the UNWIND path's null."""
    return frame[column].map(lambda v: None if v is None else ARRAY_DELIMITER.join(v))


def _aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """One chunk's events as partial WATCHED rows (each event is a partial of count 1)."""
    bad = frame["event_id"].str.contains(ARRAY_DELIMITER, regex=False)
    if bad.any():
        raise ValueError(
            f"watch_events row {frame.index[bad][0]}: event_id contains '{ARRAY_DELIMITER}', "
            "which the import tool uses between array items; use the UNWIND path"
        )
    events = pd.DataFrame({
        "user_id": frame["user_id"], "program_id": frame["program_id"],
        "first_ts": frame["ts"], "last_ts": frame["ts"], "seconds": frame["watched_s"],
        "completion": frame["completion"], "count": 1, "event_ids": frame["event_id"],
        "last_channel_id": frame["channel_id"],
    })  # fmt: skip
    return _aggregate_partials(events)


def _aggregate_partials(frame: pd.DataFrame) -> pd.DataFrame:
    """Combine partial WATCHED rows of the same (user, program): the one fold rule
    (``cypher/load/watch_events.cypher``; the channel is the latest event's, ties on ``ts``
    going to the greatest channel id)."""
    keys = ["user_id", "program_id"]
    grouped = frame.groupby(keys, sort=False)
    out = grouped.agg(
        first_ts=("first_ts", "min"), last_ts=("last_ts", "max"), seconds=("seconds", "sum"),
        completion=("completion", "max"), count=("count", "sum"),
        event_ids=("event_ids", ARRAY_DELIMITER.join),
    )  # fmt: skip
    latest = frame.sort_values(["last_ts", "last_channel_id"], kind="stable")
    out["last_channel_id"] = latest.groupby(keys, sort=False)["last_channel_id"].last()
    return out.reset_index()


def _require_empty(driver: Driver, database: str) -> None:
    nodes = sum(graph_counts(driver, database=database).values())
    if nodes:
        raise ValueError(
            f"database '{database}' is not empty ({nodes:,} nodes and relationships): the import "
            "tool only fills an empty database. Load with the UNWIND path (without --bulk)."
        )


def _take(v: Validated, report: LoadReport) -> pd.DataFrame:
    """The rows of ``v`` to import (none when the file was rejected as a whole); its
    rejects go to ``report``."""
    report.rejects += v.rejects
    return v.frame if v.ok else empty_frame(v.name)


def _write(
    work: Path, name: str, frame: pd.DataFrame, id_column: str, space: str, props: dict[str, str]
) -> Path:
    header = [f"{id_column}:ID({space})", *(f"{c}:{t}" for c, t in props.items())]
    return _to_csv(work / f"{name}.csv", frame[[id_column, *props]], header)


def _write_rel(
    work: Path, name: str, frame: pd.DataFrame, start: str, end: str, props: dict[str, str]
) -> Path:
    columns = list(frame.columns[:2])
    header = [f":START_ID({start})", f":END_ID({end})", *(f"{c}:{t}" for c, t in props.items())]
    return _to_csv(work / f"{name}.csv", frame[[*columns, *props]], header)


def _to_csv(path: Path, frame: pd.DataFrame, header: list[str]) -> Path:
    out = frame.copy()
    for column, title in zip(out.columns, header, strict=True):
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            # With the microseconds validation keeps: the UNWIND path stores them, and
            # since / start / end are merge keys of a later load of the same folder.
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif title.endswith(":boolean"):
            # The import tool reads only "true" as true: pandas' "True" would load as false.
            out[column] = out[column].map({True: "true", False: "false"})
    out.to_csv(path, index=False, header=header)
    return path
