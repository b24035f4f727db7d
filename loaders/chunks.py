"""Checking one chunk of a file: its header, then every cell (types, ranges, windows,
references, duplicate keys), keeping the good rows typed and naming the bad ones."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from graph.domain import CONTROL_CHARACTERS, CSA_LEVELS, FUTURE_TOLERANCE_S
from loaders.cells import BoolArray, Parsed, final_dtype, parse_cells
from loaders.contract import (
    FILE_SPECS,
    GENRE_SEPARATOR,
    Column,
    FileSpec,
    Kind,
)
from loaders.rejects import Problems, Reject, file_reject

REPLACEMENT = "\ufffd"
"""What the CSV reader puts for a byte that is not UTF-8."""


def header_problems(spec: FileSpec, header: list[str]) -> list[Reject]:
    problems: list[Reject] = []
    counts = Counter(header)
    for name, n in counts.items():
        if n > 1:
            problems.append(
                file_reject(spec.name, "duplicate_column", f"'{name}' appears {n} times", name)
            )
    allowed = set(spec.column_names)
    for name in header:
        if name not in allowed:
            problems.append(
                file_reject(
                    spec.name,
                    "extra_column",
                    f"'{name}' is not a column of {spec.name} "
                    f"(expected {', '.join(spec.column_names)}); remove or rename it",
                    name,
                )
            )
    for c in spec.columns:
        if c.required and c.name not in counts:
            problems.append(
                file_reject(
                    spec.name,
                    "missing_column",
                    f"required column '{c.name}' is absent; the file has {', '.join(header)}",
                    c.name,
                )
            )
    return problems


class IdSet:
    """Valid ids of a referenced file, for membership tests of whole chunks.

    Arrow's ``is_in`` is used because ``Series.isin`` against a million string ids
    rebuilds its hash table from Python objects on every call (~7 s per chunk).
    """

    def __init__(self, ids: pd.Index) -> None:
        import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no stubs

        self._ids = pa.array(ids.to_numpy(dtype=object), type=pa.large_string())

    def contains(self, values: pd.Series) -> BoolArray:
        import pyarrow as pa
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        array = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
        found: BoolArray = pc.is_in(array, value_set=self._ids).to_numpy(zero_copy_only=False)
        return found


class SeenKeys:
    """Hashes of the keys kept so far, as a sorted ``uint64`` array (8 bytes per key)."""

    def __init__(self) -> None:
        self._sorted = np.empty(0, dtype=np.uint64)

    def duplicates(self, keys: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Mark keys seen before (earlier in ``keys`` or in earlier calls); remember the rest."""
        hashes = pd.util.hash_pandas_object(keys, index=False).to_numpy(dtype=np.uint64)
        dup = np.array(pd.Series(hashes).duplicated(keep="first"), dtype=bool)
        if len(self._sorted):
            pos = np.searchsorted(self._sorted, hashes).clip(max=len(self._sorted) - 1)
            dup |= self._sorted[pos] == hashes
        new = np.sort(hashes[~dup])
        # np.insert merges two sorted arrays in linear time (a full re-sort would not).
        self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, new), new)
        return dup


def validate_chunk(
    spec: FileSpec,
    raw: pd.DataFrame,
    first_row: int,
    id_sets: Mapping[str, IdSet],
    seen: SeenKeys,
) -> tuple[pd.DataFrame, list[Reject]]:
    raw = raw.reset_index(drop=True)
    problems = Problems(spec, raw, first_row)
    parsed: dict[str, Parsed] = {}
    for col in spec.columns:
        source = (
            raw[col.name] if col.name in raw.columns else pd.Series([""] * len(raw), dtype="str")
        )
        if source.dtype == object or pd.api.types.is_string_dtype(source.dtype):
            replaced = source.astype("str").str.contains(REPLACEMENT, regex=False).to_numpy()
            if replaced.any():
                reason = f"bad_encoding: {col.name} is not valid UTF-8 (shown with U+FFFD)"
                problems.add(replaced.astype(bool), col.name, reason, source)
        p = parse_cells(col, source)
        parsed[col.name] = p
        if col.required:
            problems.add(p.missing, col.name, f"missing_value: {col.name} is required", source)
        problems.add(p.invalid, col.name, p.reason, source)
        _check_range(col, p, problems, source)
        _check_text(col, p, problems, source)
        _check_not_future(col, p, problems, source)

    for w in spec.windows:
        start, end = parsed[w.start], parsed[w.end]
        both = ~(start.missing | start.invalid | end.missing | end.invalid)
        s, e = start.values.to_numpy(), end.values.to_numpy()
        inverted = both & ((e <= s) if w.strict else (e < s))
        relation = "be after" if w.strict else "not be before"
        reason = f"inverted_window: {w.end} must {relation} {w.start}"
        problems.add(inverted, w.end, reason, joined=((w.start, w.end), " .. "))

    for ref in spec.references:
        _check_reference(spec, ref.column, ref.target, ref.when, parsed, id_sets, problems)

    if len(raw):
        candidates = ~problems.bad
        keys = pd.DataFrame({k: parsed[k].values[candidates] for k in spec.key})
        dup = np.zeros(len(raw), dtype=bool)
        dup[candidates] = seen.duplicates(keys)
        key_name = "+".join(spec.key)
        reason = f"duplicate_id: {key_name} already seen (first kept)"
        problems.add(dup, key_name, reason, joined=(spec.key, "|"))

    keep = ~problems.bad
    index = pd.Index(np.arange(first_row, first_row + len(raw))[keep], name="row")
    columns: dict[str, pd.Series] = {}
    for col in spec.columns:
        values = parsed[col.name].values[keep]
        columns[col.name] = final_dtype(col, values).set_axis(index)
        level = col.derived_level
        if level is not None:
            levels = values.map(CSA_LEVELS)
            columns[level] = levels.astype("int64" if col.required else "Int64").set_axis(index)
    return pd.DataFrame(columns, index=index), problems.rejects()


_CONTROL = re.compile(CONTROL_CHARACTERS)


def _check_text(col: Column, p: Parsed, problems: Problems, source: pd.Series) -> None:
    """No control character in text, and no text longer than the column allows: Neo4j
    refuses to index an id over about 8 KB, and a batch holding one fails as a whole."""
    ok = ~(p.missing | p.invalid)
    if col.kind is Kind.STR:
        text = p.values.astype("str")
        control = text.str.contains(CONTROL_CHARACTERS, regex=True).to_numpy(dtype=bool)
        longest = text.str.len().to_numpy()
        what = col.name
    elif col.kind is Kind.STR_LIST:
        lists = list(p.values)
        control = np.array([any(_CONTROL.search(x) for x in v) for v in lists], dtype=bool)
        longest = np.array([max((len(x) for x in v), default=0) for v in lists])
        what = f"an id of {col.name}"
    else:
        return
    control = control & ok
    problems.add(control, col.name, f"bad_value: {what} holds a control character", source)
    too_long = ok & ~control & (longest > col.max_length)
    reason = f"too_long: {what} is longer than {col.max_length:,} characters"
    problems.add(too_long, col.name, reason, source)


def _check_not_future(col: Column, p: Parsed, problems: Problems, source: pd.Series) -> None:
    if not col.not_future or not len(p.values):
        return
    latest = pd.Timestamp(datetime.now(UTC) + timedelta(seconds=FUTURE_TOLERANCE_S))
    ok = ~(p.missing | p.invalid)
    with np.errstate(invalid="ignore"):
        future = ok & (p.values > latest).to_numpy(dtype=bool)
    reason = (
        f"future_time: {col.name} is more than {FUTURE_TOLERANCE_S // 3600} hours after the "
        f"time of the load ({latest:%Y-%m-%dT%H:%M}Z with the tolerance)"
    )
    problems.add(future, col.name, reason, source)


INT_LIMIT = 2.0**63
"""Integers are stored as int64, in pandas and in Neo4j: a larger one would wrap round."""


def _check_range(col: Column, p: Parsed, problems: Problems, source: pd.Series) -> None:
    if col.kind not in (Kind.INT, Kind.FLOAT):
        return
    ok = ~(p.missing | p.invalid)
    values = p.values.to_numpy(dtype="float64", na_value=np.nan)
    if col.kind is Kind.INT:
        with np.errstate(invalid="ignore"):
            huge = ok & (np.abs(values) >= INT_LIMIT)
        problems.add(huge, col.name, f"out_of_range: {col.name} must fit in 64 bits "
                     "(below 2^63 in magnitude)", source)  # fmt: skip
        ok &= ~huge
    if col.minimum is None and col.maximum is None:
        return
    low, high = col.minimum, col.maximum
    with np.errstate(invalid="ignore"):
        below = ok & (values < low) if low is not None else np.zeros(len(values), dtype=bool)
        above = ok & (values > high) if high is not None else np.zeros(len(values), dtype=bool)
    if low is not None and high is not None:
        bounds = f"out_of_range: {col.name} must be in [{low:g}, {high:g}]"
    elif low is not None:
        bounds = f"out_of_range: {col.name} must be >= {low:g}"
    else:
        bounds = f"out_of_range: {col.name} must be <= {high:g}"
    if low is not None and low >= 0:
        negative = below & (values < 0)
        problems.add(negative, col.name, f"negative_value: {col.name} must be >= {low:g}", source)
        below &= ~negative
    problems.add(below | above, col.name, bounds, source)


def _check_reference(
    spec: FileSpec,
    column: str,
    target: str,
    when: tuple[str, str] | None,
    parsed: Mapping[str, Parsed],
    id_sets: Mapping[str, IdSet],
    problems: Problems,
) -> None:
    p = parsed[column]
    applies = ~(problems.bad | p.missing)
    if when is not None:
        applies &= (parsed[when[0]].values == when[1]).to_numpy()
    if not applies.any():
        return
    ids = id_sets[target]
    target_key = FILE_SPECS[target].id_column
    reason = f"unknown_reference: not a valid {target}.{target_key}"
    positions = np.flatnonzero(applies)
    values = p.values.iloc[positions]
    if spec.column(column).kind is Kind.STR_LIST:
        flat = values.explode()
        unknown = flat[~ids.contains(flat)]
        bad = np.zeros(len(applies), dtype=bool)
        if len(unknown):
            joined = unknown.groupby(level=0).agg(lambda s: GENRE_SEPARATOR.join(map(str, s)))
            bad[joined.index.to_numpy()] = True
            shown = joined.reindex(pd.RangeIndex(len(applies)), fill_value="")
            problems.add(bad, column, reason, shown)
        return
    bad = np.zeros(len(applies), dtype=bool)
    bad[positions] = ~ids.contains(values)
    problems.add(bad, column, reason)
