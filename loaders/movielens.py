"""Load MovieLens in RecBole's atomic-file format (``*.inter``, ``*.item``, ``*.user``).

Films become ``:Program`` (title, year, ``HAS_GENRE``), users ``:User`` (age,
gender, occupation, zip code), every rating a ``WATCHED`` (with ``rating``).
MovieLens has no channels, bundles, CSA ratings or completion ratios, so the
rules that need them are recorded as not applicable on ``(:DataSource
{id: 'movielens'})`` rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from neo4j import Driver

from loaders.chunks import INT_LIMIT
from loaders.rejects import Reject
from loaders.tv import LoadReport
from loaders.validate import to_records
from loaders.writer import DEFAULT_BATCH_ROWS, BatchWriter, FileSummary, bar

NOT_APPLICABLE = ("bundles", "availability", "csa", "completion", "blacklists")
"""Eligibility rules MovieLens data cannot support."""


@dataclass(frozen=True)
class AtomicFile:
    suffix: str
    columns: dict[str, str]
    """Required column -> RecBole type (``token``, ``float``, ``token_seq``)."""
    key: tuple[str, ...]
    integers: tuple[str, ...] = ()
    """Columns stored as integers (``Int64``): text that is no number is a missing value
    (ml-100k has the years ``unkonwn`` and ``V``), a number that is not whole a reject."""


ATOMIC_FILES = {
    "user": AtomicFile(
        ".user",
        dict.fromkeys(("user_id", "age", "gender", "occupation", "zip_code"), "token"),
        key=("user_id",),
        integers=("age",),
    ),
    "item": AtomicFile(
        ".item",
        {
            "item_id": "token",
            "movie_title": "token_seq",
            "release_year": "token",
            "class": "token_seq",
        },
        key=("item_id",),
        integers=("release_year",),
    ),
    "inter": AtomicFile(
        ".inter",
        {"user_id": "token", "item_id": "token", "rating": "float", "timestamp": "float"},
        key=("user_id", "item_id"),
    ),
}


def load_movielens(
    driver: Driver,
    folder: str | Path,
    *,
    database: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: bool = True,
) -> LoadReport:
    """Validate and load the ``.user``, ``.item`` and ``.inter`` files of ``folder``."""
    frames: dict[str, pd.DataFrame] = {}
    report = LoadReport()
    summaries: dict[str, FileSummary] = {}
    for name in ("user", "item", "inter"):
        path = find_atomic(Path(folder), name)
        frame, rejects, read = read_atomic(path, ATOMIC_FILES[name])
        frames[name] = frame
        report.rejects += rejects
        summaries[name] = FileSummary(path.name, read=read, rejected=read - len(frame))

    # References: ratings must name a valid user and a valid item.
    inter = frames["inter"]
    for column, target in (("user_id", "user"), ("item_id", "item")):
        known = set(frames[target][column])
        unknown = ~inter[column].isin(known)
        reason = f"unknown_reference: no valid row of the .{target} file has this id"
        report.rejects += [
            Reject(summaries["inter"].name, row, column, reason, value)
            for row, value in zip(inter.index[unknown], inter.loc[unknown, column], strict=True)
        ]
        inter = inter[~unknown]
    summaries["inter"].rejected = summaries["inter"].read - len(inter)

    writer = BatchWriter(driver, database=database, batch_rows=batch_rows)
    genres = sorted({g for gs in frames["item"]["genres"] for g in gs})
    genre_rows = [{"genre_id": g, "name": g} for g in genres]
    user_rows = to_records(frames["user"].rename(columns={"user_id": "id"}))
    item_rows = to_records(frames["item"].rename(columns={"item_id": "id"}))
    rating_rows = to_records(inter.rename(columns={"item_id": "program_id"}))
    steps: list[tuple[str, str, list[dict[str, Any]]]] = [
        ("genres", "load/genres", genre_rows),
        ("user", "load/movielens_users", user_rows),
        ("item", "load/movielens_programs", item_rows),
        ("inter", "load/movielens_ratings", rating_rows),
    ]
    for name, statement, rows in steps:
        with bar(len(rows), name, enabled=progress) as pbar:
            written = writer.write(statement, rows, progress=pbar)
        if name == "genres":
            report.files.append(FileSummary("(genres of .item)", len(rows), written))
        else:
            summaries[name].written = written
            report.files.append(summaries[name])
    writer.write("load/data_source", [{"id": "movielens", "not_applicable": list(NOT_APPLICABLE)}])
    report.notes.append(
        "MovieLens has no channels, bundles, CSA ratings or completion: these rules are "
        f"recorded as not applicable ({', '.join(NOT_APPLICABLE)})."
    )
    return report


def find_atomic(folder: Path, name: str) -> Path:
    """The single ``*.{name}`` file of ``folder``; ``ValueError`` naming what is wrong."""
    if not folder.is_dir():
        raise ValueError(f"MovieLens folder {folder} does not exist or is not a directory")
    found = sorted(folder.glob(f"*.{name}"))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise ValueError(f"{folder}: expected one *.{name} file, found {what}")
    return found[0]


def read_atomic(path: Path, spec: AtomicFile) -> tuple[pd.DataFrame, list[Reject], int]:
    """Read a RecBole atomic file: valid typed rows (index = line number), rejects, rows read.

    Raises ``ValueError`` naming the file when it cannot be parsed at all.
    """
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    except (ValueError, OSError) as e:  # a ragged line, a byte that is not UTF-8, ...
        raise ValueError(f"{path}: cannot be read as a RecBole atomic file: {e}".strip()) from e
    header = {c.split(":", 1)[0]: c.split(":", 1)[-1] for c in raw.columns}
    missing = [c for c in spec.columns if c not in header]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} in the header")
    raw.columns = list(header)
    raw.index = pd.RangeIndex(2, len(raw) + 2, name="row")  # header is line 1
    rejects: list[Reject] = []
    bad = pd.Series(False, index=raw.index)

    def reject(mask: pd.Series, column: str, reason: str) -> None:
        nonlocal bad
        mask = mask & ~bad
        rejects.extend(
            Reject(path.name, row, column, reason, value)
            for row, value in zip(raw.index[mask], raw.loc[mask, column], strict=True)
        )
        bad = bad | mask

    for column in spec.key:
        reject(raw[column].str.strip() == "", column, "missing_value: an id is required")
    numbers: dict[str, pd.Series] = {}
    for column, kind in spec.columns.items():
        if kind == "float":
            numbers[column] = pd.to_numeric(raw[column], errors="coerce")
            reject(numbers[column].isna(), column, "bad_type: not a number")
    if "rating" in numbers:
        reject(numbers["rating"] < 0, "rating", "negative_value: a rating cannot be negative")
    for column in spec.integers:
        numbers[column] = pd.to_numeric(raw[column], errors="coerce")
        values = numbers[column].to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad_int = ~np.isnan(values) & ~(np.isfinite(values) & (values == np.floor(values)))
            huge = np.isfinite(values) & (np.abs(values) >= INT_LIMIT)
        reject(pd.Series(bad_int, index=raw.index), column, "bad_type: not an integer")
        reject(pd.Series(huge, index=raw.index), column,
               f"out_of_range: {column} must fit in 64 bits (below 2^63 in magnitude)")  # fmt: skip
    # Among the rows still valid: an invalid row does not make a later valid one a duplicate.
    dup = pd.Series(False, index=raw.index)
    dup[~bad] = raw.loc[~bad].duplicated(list(spec.key)).to_numpy()
    reject(dup, spec.key[-1], "duplicate_id: repeats an earlier valid row")

    good = raw[~bad]
    return _typed(good, numbers), rejects, len(raw)


def _typed(frame: pd.DataFrame, numbers: dict[str, pd.Series]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    if "movie_title" in frame:
        out["item_id"] = frame["item_id"]
        out["title"] = frame["movie_title"]
        out["year"] = numbers["release_year"].loc[frame.index].astype("Int64")
        out["genres"] = frame["class"].str.split()
    elif "rating" in frame:
        out["user_id"] = frame["user_id"]
        out["item_id"] = frame["item_id"]
        out["rating"] = numbers["rating"].loc[frame.index]
        seconds = numbers["timestamp"].loc[frame.index]
        out["ts"] = pd.to_datetime(seconds, unit="s", utc=True)
        out["event_id"] = frame["user_id"] + ":" + frame["item_id"] + ":" + frame["timestamp"]
    else:
        out["user_id"] = frame["user_id"]
        out["age"] = numbers["age"].loc[frame.index].astype("Int64")
        for column in ("gender", "occupation", "zip_code"):
            out[column] = frame[column]
    return out
