"""Validate a data set against the contract before anything is written to Neo4j.

Every problem becomes a :class:`Reject` naming the file, the row, the column and
a reason whose first word is a stable code (see :data:`REASON_CODES`). Bad rows
are dropped and reported; good rows are kept, typed:

* ``str`` -> pandas string, stripped; enumerations lower-cased, CSA upper-cased;
* ``int`` -> ``int64`` (``Int64`` when the column is optional), ``float`` -> ``float64``;
* ``bool`` -> ``bool``; ``datetime`` -> ``datetime64[us, UTC]`` (naive input is UTC);
* ``str list`` (``programs.genres``) -> a Python ``list[str]`` per row;
* each CSA column ``x`` gains an integer ``x_level`` column (``csa_level``,
  ``csa_ceiling_level``).

The frame's index is the source row number (named ``row``), so a loader can
still name the line of a row that Neo4j refuses.

Row numbers: in a CSV, the line of the record with the header on line 1 (first
data row = 2; a quoted field spanning lines shifts later numbers). In Parquet,
the 1-based row index. Row 0 is a problem with the whole file (missing or extra
column, unreadable file, missing required file, a file it references was
rejected): then no row of that file is kept.

``watch_events`` can be tens of millions of rows: :func:`iter_watch_events`
validates it in chunks with bounded memory.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graph.domain import CSA_LEVELS
from loaders.contract import (
    EXTENSIONS,
    FALSE_SPELLINGS,
    FILE_SPECS,
    FILES,
    GENRE_SEPARATOR,
    TRUE_SPELLINGS,
    Column,
    FileSpec,
    Kind,
)

REPLACEMENT = "\ufffd"
"""What the CSV reader puts for a byte that is not UTF-8."""
DEFAULT_CHUNK_ROWS = 500_000
"""Rows per chunk when streaming a file (about 0.5 GB peak for ``watch_events``)."""

REASON_CODES: Mapping[str, str] = {
    "missing_file": "a required file is absent from the folder (row 0)",
    "ambiguous_file": "both NAME.csv and NAME.parquet exist (row 0)",
    "unreadable": "the file cannot be parsed as CSV / Parquet (row 0)",
    "missing_column": "a required column is absent (row 0; the file is rejected)",
    "extra_column": "a column not in the contract (row 0; the file is rejected)",
    "duplicate_column": "a column name appears twice in the header (row 0)",
    "dependency_rejected": "a file this one references was rejected as a whole (row 0)",
    "bad_encoding": "a cell is not valid UTF-8 (or holds U+FFFD, the replacement character)",
    "missing_value": "a required cell is empty",
    "bad_type": "a cell does not parse as its type (int, float, bool, ISO 8601 timestamp)",
    "unknown_csa": "not one of the CSA ratings TP, -10, -12, -16, -18",
    "unknown_value": "not one of the column's allowed values",
    "bad_format": "text does not match the column's pattern",
    "negative_value": "a negative number where only values >= 0 make sense",
    "out_of_range": "a number outside the column's bounds",
    "inverted_window": "a time window whose end is not after its start",
    "unknown_reference": "an id absent from the valid rows of the referenced file",
    "duplicate_id": "the key of an earlier valid row (the first one is kept)",
}
"""Every reject code, with what it means."""

_SHOWN_CHARS = 200
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True, slots=True)
class Reject:
    """One problem: ``row`` is the CSV line / Parquet row (0 = the whole file).

    ``reason`` is ``"code: explanation"``; ``value`` is the offending cell as text
    (``None`` for file-level problems).
    """

    file: str
    row: int
    column: str | None
    reason: str
    value: str | None

    @property
    def code(self) -> str:
        """The stable code, e.g. ``unknown_reference``."""
        return self.reason.split(":", 1)[0]

    def __str__(self) -> str:
        where = f"{self.file} row {self.row}" if self.row else self.file
        col = f", column {self.column}" if self.column else ""
        val = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}{col}: {self.reason}{val}"


@dataclass(slots=True)
class Validated:
    """The valid, typed rows of one file (or of one chunk of it) and its rejects.

    ``path`` is ``None`` when the file is absent. ``rows_read`` counts the data
    rows read, so ``rows_read - len(frame)`` rows were rejected.
    """

    name: str
    path: Path | None
    frame: pd.DataFrame
    rejects: list[Reject]
    rows_read: int

    @property
    def ok(self) -> bool:
        """False when the whole file was rejected (a reject on row 0)."""
        return not any(r.row == 0 for r in self.rejects)

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - len(self.frame)


@dataclass(slots=True)
class Dataset:
    """A validated data-set folder.

    ``files`` holds a :class:`Validated` per contract file in load order (an
    absent optional file gives an empty frame; ``watch_events`` is absent from
    ``files`` when validation was asked to skip it, unless it is rejected as a
    whole without being read). ``paths`` says where each
    file was found. ``known`` holds the valid ids of every single-key file, as
    :func:`iter_watch_events` wants them.
    """

    folder: Path
    files: dict[str, Validated]
    paths: dict[str, Path | None]
    known: dict[str, pd.Index] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Validated:
        return self.files[name]

    @property
    def ok(self) -> bool:
        """True when no file was rejected as a whole (rows may still have been rejected)."""
        return all(v.ok for v in self.files.values())

    @property
    def rejects(self) -> list[Reject]:
        return [r for v in self.files.values() for r in v.rejects]


# ------------------------------------------------------------------ public entry points
def find_file(folder: Path, name: str) -> tuple[Path | None, list[Reject]]:
    """Where ``NAME.csv`` / ``NAME.parquet`` is in ``folder``, or why it cannot be used."""
    spec = FILE_SPECS[name]
    found = [folder / f"{name}{ext}" for ext in EXTENSIONS if (folder / f"{name}{ext}").is_file()]
    if len(found) > 1:
        return None, [_file_reject(name, "ambiguous_file", f"both {found[0]} and {found[1]} exist")]
    if not found:
        if spec.required:
            return None, [_file_reject(name, "missing_file", f"no {name}.csv or {name}.parquet")]
        return None, []
    return found[0], []


def validate_dataset(
    folder: str | Path,
    *,
    include_watch_events: bool = True,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Dataset:
    """Validate every contract file of ``folder`` in load order.

    References are checked against the valid rows of the referenced file. With
    ``include_watch_events=False`` the (possibly huge) ``watch_events`` file is
    only located, for the caller to stream through :func:`iter_watch_events`
    with ``known=dataset.known``; it is in ``files`` only when it is not to be
    read (absent, or a file it references was rejected as a whole), with that
    reject. Raises ``ValueError`` if ``folder`` is not a
    directory; every problem with the data itself is a :class:`Reject`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"data set folder {folder} does not exist or is not a directory")
    dataset = Dataset(folder=folder, files={}, paths={})
    for spec in FILES:
        path, problems = find_file(folder, spec.name)
        dataset.paths[spec.name] = path
        broken = sorted({r.target for r in spec.references if not dataset.files[r.target].ok})
        if broken and path is not None:
            problems.append(
                _file_reject(
                    spec.name,
                    "dependency_rejected",
                    f"it references {', '.join(broken)}, rejected as a whole",
                )
            )
        if spec.name == "watch_events" and not include_watch_events and not problems:
            continue  # left for the caller to stream; a rejected file is not to be read
        if problems or path is None:
            result = Validated(spec.name, path, empty_frame(spec.name), problems, 0)
        else:
            result = validate_file(spec.name, path, known=dataset.known, chunk_rows=chunk_rows)
        dataset.files[spec.name] = result
        if spec.id_column is not None:
            dataset.known[spec.name] = pd.Index(result.frame[spec.id_column].unique())
    return dataset


def validate_file(
    name: str,
    path: str | Path,
    *,
    known: Mapping[str, pd.Index],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Validated:
    """Validate one contract file (``name``, e.g. ``"programs"``) in memory.

    ``known`` maps each referenced file name to its valid ids (``Dataset.known``).
    A file rejected as a whole keeps no row, even when the problem (an unreadable
    line) was met after chunks of valid rows.
    """
    parts = list(iter_validated(name, path, known=known, chunk_rows=chunk_rows))
    rejects = [r for p in parts for r in p.rejects]
    read = sum(p.rows_read for p in parts)
    if not all(p.ok for p in parts):
        return Validated(name, Path(path), empty_frame(name), rejects, read)
    frames = [p.frame for p in parts]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames)
    return Validated(name, Path(path), frame, rejects, read)


def iter_watch_events(
    path: str | Path,
    *,
    known: Mapping[str, pd.Index],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[Validated]:
    """Validate ``watch_events`` chunk by chunk; see :func:`iter_validated`.

    ``known`` must hold the valid ids of ``users``, ``programs`` and ``channels``.
    """
    return iter_validated("watch_events", path, known=known, chunk_rows=chunk_rows)


def iter_validated(
    name: str,
    path: str | Path,
    *,
    known: Mapping[str, pd.Index],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[Validated]:
    """Yield one :class:`Validated` per chunk of at most ``chunk_rows`` rows.

    Memory is bounded by the chunk plus the keys seen so far: duplicate keys are
    found across chunks through a sorted array of 64-bit key hashes, 8 bytes per
    distinct key (160 MB for 20M event ids, plus a transient copy while merging).
    Two different keys sharing a hash would be reported as a duplicate; at 20M
    keys the odds of that happening at all are about 1 in 100,000.

    A file-level problem is yielded as a chunk with an empty frame and a row-0
    reject; an unreadable line met mid-file ends the iteration that way, after
    the chunks already yielded.
    """
    spec = FILE_SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown contract file {name!r}; expected one of {', '.join(FILE_SPECS)}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    for ref in spec.references:
        if ref.target not in known:
            raise ValueError(f"known ids of '{ref.target}' are needed to check {name}.{ref.column}")
    path = Path(path)
    if path.suffix not in EXTENSIONS:
        raise ValueError(f"{path}: expected a .csv or .parquet file")
    try:
        header = _read_header(path)
    except (ValueError, OSError) as e:
        yield _failed(spec, path, "unreadable", str(e).strip())
        return
    problems = _header_problems(spec, header)
    if problems:
        yield Validated(name, path, empty_frame(name), problems, 0)
        return
    seen = _SeenKeys()
    id_sets = {ref.target: _IdSet(known[ref.target]) for ref in spec.references}
    first_row = 2 if path.suffix == ".csv" else 1
    reader = _read_chunks(path, chunk_rows)
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except (ValueError, OSError) as e:
            yield _failed(spec, path, "unreadable", str(e).strip())
            return
        frame, rejects = _validate_chunk(spec, raw, first_row, id_sets, seen)
        yield Validated(name, path, frame, rejects, len(raw))
        first_row += len(raw)


def empty_frame(name: str) -> pd.DataFrame:
    """A typed frame with no rows and the columns validation gives ``name``."""
    spec = FILE_SPECS[name]
    raw = pd.DataFrame({c: pd.Series([], dtype="str") for c in spec.column_names})
    frame, _ = _validate_chunk(spec, raw, 1, {}, _SeenKeys())  # no rows: no lookups
    return frame


def write_rejects_report(rejects: Iterable[Reject], path: str | Path) -> int:
    """Write rejects as CSV (``file,row,column,reason,value``); return how many."""
    count = 0
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "row", "column", "reason", "value"])
        for r in rejects:
            writer.writerow([r.file, r.row, r.column or "", r.reason, r.value or ""])
            count += 1
    return count


def format_summary(results: Iterable[Validated], *, examples: int = 3) -> str:
    """A per-file table (rows read, kept, rejected, reject codes) and the first rejects.

    Chunks of one file (from :func:`iter_validated`) are added up under its name.
    """
    read: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    codes: dict[str, Counter[str]] = {}
    shown: list[Reject] = []
    for v in results:
        read[v.name] += v.rows_read
        kept[v.name] += len(v.frame)
        per_file = codes.setdefault(v.name, Counter())
        for r in v.rejects:
            per_file[r.code] += 1
            if r.row == 0 or len(shown) < examples:
                shown.append(r)
    width = max([len(n) for n in codes] + [4])
    lines = [f"{'file'.ljust(width)}  {'read':>10}  {'kept':>10}  {'rejected':>10}  rejects"]
    for name, per_file in codes.items():
        detail = ", ".join(f"{code} {n}" for code, n in per_file.most_common()) or "-"
        lines.append(
            f"{name.ljust(width)}  {read[name]:>10,}  {kept[name]:>10,}  "
            f"{read[name] - kept[name]:>10,}  {detail}"
        )
    lines += [f"  {r}" for r in shown]
    return "\n".join(lines)


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A validated frame's rows as dicts of plain Python values, as the Neo4j driver takes them.

    Missing values become ``None``; timestamps timezone-aware ``datetime``;
    numbers ``int`` / ``float``; ``genres`` a ``list[str]``. The row numbers (the
    index) are left out.
    """
    columns: list[list[Any]] = []
    for name in frame.columns:
        s = frame[name]
        present = s.notna().to_numpy()
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            values = [t.to_pydatetime() if ok else None for t, ok in zip(s, present, strict=True)]
        else:
            values = [v if ok else None for v, ok in zip(s.astype(object), present, strict=True)]
        columns.append(values)
    names = [str(c) for c in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


# ------------------------------------------------------------------ reading
def _read_header(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq  # type: ignore[import-untyped]  # pyarrow ships no stubs

        names: list[str] = list(pq.ParquetFile(path).schema_arrow.names)
        return names
    # The header and the first data row are read by the parser that reads the chunks,
    # so that both agree on quoting and blank lines (skipped before the header too).
    # With header=None the header line sets the number of fields: a first row with one
    # more is a ParserError here, as a longer row further down is for the chunk reader
    # (which would otherwise take the header for one column short of the data).
    try:
        top = pd.read_csv(
            path,
            header=None,
            nrows=2,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            # Decoding reads ahead of the header line: a bad byte further down is for its row.
            encoding_errors="replace",
        )
    except pd.errors.EmptyDataError:
        raise ValueError("empty file, no header line") from None
    return [str(h).strip() for h in top.iloc[0]]


def _read_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        if parquet.metadata.num_rows == 0:
            # No batch to iterate: one empty chunk with the file's columns, as a CSV
            # holding only its header gives.
            empty: pd.DataFrame = parquet.schema_arrow.empty_table().to_pandas()
            yield empty
            return
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            frame: pd.DataFrame = batch.to_pandas()
            yield frame
        return
    # Everything is read as text so that validation, not the CSV reader, decides what
    # a cell means (and can say which cell is wrong).
    with pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        chunksize=chunk_rows,
        # Never the first column as the index: a first row with one more field than the
        # header would shift every column by one (the header check rejects that row).
        index_col=False,
        encoding="utf-8-sig",
        # A byte that is not UTF-8 becomes U+FFFD, and validation rejects that row alone
        # (naming its row and column) instead of the rest of the file.
        encoding_errors="replace",
    ) as reader:
        for chunk in reader:
            chunk.columns = [str(c).strip() for c in chunk.columns]
            yield chunk


def _header_problems(spec: FileSpec, header: list[str]) -> list[Reject]:
    problems: list[Reject] = []
    counts = Counter(header)
    for name, n in counts.items():
        if n > 1:
            problems.append(
                _file_reject(spec.name, "duplicate_column", f"'{name}' appears {n} times", name)
            )
    allowed = set(spec.column_names)
    for name in header:
        if name not in allowed:
            problems.append(
                _file_reject(
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
                _file_reject(
                    spec.name,
                    "missing_column",
                    f"required column '{c.name}' is absent; the file has {', '.join(header)}",
                    c.name,
                )
            )
    return problems


def _file_reject(file: str, code: str, text: str, column: str | None = None) -> Reject:
    return Reject(file, 0, column, f"{code}: {text}", None)


def _failed(spec: FileSpec, path: Path, code: str, text: str) -> Validated:
    return Validated(
        spec.name, path, empty_frame(spec.name), [_file_reject(spec.name, code, text)], 0
    )


# ------------------------------------------------------------------ checking one chunk
class _IdSet:
    """Valid ids of a referenced file, for membership tests of whole chunks.

    Arrow's ``is_in`` is used because ``Series.isin`` against a million string ids
    rebuilds its hash table from Python objects on every call (~7 s per chunk).
    """

    def __init__(self, ids: pd.Index) -> None:
        import pyarrow as pa

        self._ids = pa.array(ids.to_numpy(dtype=object), type=pa.large_string())

    def contains(self, values: pd.Series) -> BoolArray:
        import pyarrow as pa
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        array = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
        found: BoolArray = pc.is_in(array, value_set=self._ids).to_numpy(zero_copy_only=False)
        return found


class _SeenKeys:
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


class _Problems:
    """Row-level rejects of one chunk, and which rows they rule out."""

    def __init__(self, spec: FileSpec, raw: pd.DataFrame, first_row: int) -> None:
        self.spec = spec
        self.raw = raw
        self.first_row = first_row
        self.bad = np.zeros(len(raw), dtype=bool)
        self._found: list[tuple[int, int, str | None, str, str | None]] = []

    def add(
        self,
        mask: np.ndarray[Any, np.dtype[np.bool_]],
        column: str | None,
        reason: str,
        values: pd.Series | None = None,
        *,
        joined: tuple[Sequence[str], str] | None = None,
    ) -> None:
        """Reject the rows of ``mask``; show ``values`` (default: the raw ``column``), or
        the raw cells of ``joined = (columns, separator)`` joined."""
        positions = np.flatnonzero(mask)
        if not len(positions):
            return
        self.bad[positions] = True
        if values is None and joined is None and column in self.raw.columns:
            values = self.raw[column]
        shown: list[str | None]
        if joined is not None:
            # Only the rejected rows are formatted: formatting all of a 1M-row chunk is slow.
            cells = [self.raw[c].iloc[positions] for c in joined[0]]
            shown = [joined[1].join(str(_show(v)) for v in row) for row in zip(*cells, strict=True)]
        elif values is not None:
            shown = [_show(v) for v in values.iloc[positions]]
        else:
            shown = [None] * len(positions)
        order = len(self._found)
        self._found += [
            (int(p), order, column, reason, s) for p, s in zip(positions, shown, strict=True)
        ]

    def rejects(self) -> list[Reject]:
        found = sorted(self._found, key=lambda f: (f[0], f[1]))
        return [
            Reject(self.spec.name, self.first_row + p, column, reason, value)
            for p, _, column, reason, value in found
        ]


def _show(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        value = GENRE_SEPARATOR.join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


@dataclass(slots=True)
class _Parsed:
    values: pd.Series  # typed; meaningless where missing or invalid
    missing: BoolArray
    invalid: BoolArray
    reason: str = ""  # reason for the invalid cells


def _validate_chunk(
    spec: FileSpec,
    raw: pd.DataFrame,
    first_row: int,
    id_sets: Mapping[str, _IdSet],
    seen: _SeenKeys,
) -> tuple[pd.DataFrame, list[Reject]]:
    raw = raw.reset_index(drop=True)
    problems = _Problems(spec, raw, first_row)
    parsed: dict[str, _Parsed] = {}
    for col in spec.columns:
        source = (
            raw[col.name] if col.name in raw.columns else pd.Series([""] * len(raw), dtype="str")
        )
        if source.dtype == object or pd.api.types.is_string_dtype(source.dtype):
            replaced = source.astype("str").str.contains(REPLACEMENT, regex=False).to_numpy()
            if replaced.any():
                reason = f"bad_encoding: {col.name} is not valid UTF-8 (shown with U+FFFD)"
                problems.add(replaced.astype(bool), col.name, reason, source)
        p = _parse(col, source)
        parsed[col.name] = p
        if col.required:
            problems.add(p.missing, col.name, f"missing_value: {col.name} is required", source)
        problems.add(p.invalid, col.name, p.reason, source)
        _check_range(col, p, problems, source)

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
        columns[col.name] = _final_dtype(col, values).set_axis(index)
        level = col.derived_level
        if level is not None:
            levels = values.map(CSA_LEVELS)
            columns[level] = levels.astype("int64" if col.required else "Int64").set_axis(index)
    return pd.DataFrame(columns, index=index), problems.rejects()


def _native(col: Column, dtype: Any) -> bool:
    """True when a (Parquet) column already has the contract's type: no text to parse."""
    types = pd.api.types
    if col.kind in (Kind.INT, Kind.FLOAT):
        return bool(types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype))
    if col.kind is Kind.DATETIME:
        return isinstance(dtype, pd.DatetimeTZDtype) or bool(types.is_datetime64_dtype(dtype))
    return col.kind is Kind.BOOL and bool(types.is_bool_dtype(dtype))


def _parse(col: Column, source: pd.Series) -> _Parsed:
    if _native(col, source.dtype):
        # Formatting native values as text only to parse them back is slow (timestamps
        # especially), so typed Parquet columns skip the text path.
        missing = source.isna().to_numpy()
        text = pd.Series([], dtype="str")
    else:
        text = source.astype("str").str.strip().fillna("")
        missing = (text == "").to_numpy()
    if col.kind is Kind.STR:
        return _parse_str(col, text, missing)
    if col.kind is Kind.CSA:
        upper = text.str.upper()
        bad = ~missing & ~upper.isin(list(CSA_LEVELS)).to_numpy()
        return _Parsed(upper, missing, bad, f"unknown_csa: expected one of {', '.join(CSA_LEVELS)}")
    if col.kind in (Kind.INT, Kind.FLOAT):
        return _parse_number(col, source, text, missing)
    if col.kind is Kind.BOOL:
        if _native(col, source.dtype):
            return _Parsed(source.astype(bool), missing, np.zeros(len(source), dtype=bool))
        lower = text.str.lower()
        true = lower.isin(list(TRUE_SPELLINGS)).to_numpy()
        false = lower.isin(list(FALSE_SPELLINGS)).to_numpy()
        return _Parsed(
            pd.Series(true),
            missing,
            ~missing & ~true & ~false,
            f"bad_type: not a boolean ({'/'.join(TRUE_SPELLINGS)} or {'/'.join(FALSE_SPELLINGS)})",
        )
    if col.kind is Kind.DATETIME:
        return _parse_datetime(source, text, missing)
    return _parse_list(source, text, missing)


def _parse_str(col: Column, text: pd.Series, missing: BoolArray) -> _Parsed:
    if col.allowed is not None:
        lower = text.str.lower()
        bad = ~missing & ~lower.isin(list(col.allowed)).to_numpy()
        return _Parsed(
            lower, missing, bad, f"unknown_value: expected one of {', '.join(col.allowed)}"
        )
    if col.pattern is not None:
        matches = text.str.fullmatch(col.pattern).fillna(False).to_numpy(dtype=bool)
        return _Parsed(text, missing, ~missing & ~matches, f"bad_format: must match {col.pattern}")
    return _Parsed(text, missing, np.zeros(len(text), dtype=bool))


def _parse_number(col: Column, source: pd.Series, text: pd.Series, missing: BoolArray) -> _Parsed:
    dtype = source.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        numbers = source.astype("float64") if col.kind is Kind.FLOAT else source
    else:
        numbers = pd.to_numeric(text.where(~missing), errors="coerce")
    as_float = numbers.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~missing & ~np.isfinite(as_float)
    if col.kind is Kind.INT:
        with np.errstate(invalid="ignore"):
            bad |= ~missing & (as_float != np.floor(as_float))
        return _Parsed(numbers, missing, bad, "bad_type: not an integer")
    return _Parsed(pd.Series(as_float), missing, bad, "bad_type: not a number")


INT_LIMIT = 2.0**63
"""Integers are stored as int64, in pandas and in Neo4j: a larger one would wrap round."""


def _check_range(col: Column, p: _Parsed, problems: _Problems, source: pd.Series) -> None:
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


DATE_START = r"\d{4}-\d{2}-\d{2}|\d{8}"
"""How a timestamp written as text opens: an ISO 8601 date, extended or basic."""


def _parse_datetime(source: pd.Series, text: pd.Series, missing: BoolArray) -> _Parsed:
    if isinstance(source.dtype, pd.DatetimeTZDtype):
        values = source.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(source.dtype):
        values = source.dt.tz_localize("UTC")
    else:
        # pandas' ISO 8601 parser also takes "now" and "today": a load would then depend on
        # when it ran (and start / since are merge keys), so the text must open with a date.
        dated = text.str.match(DATE_START).to_numpy(dtype=bool)
        # With one cell finer than microseconds pandas parses the whole chunk in ns, where
        # a valid 9999-12-31 overflows: cut fractions to microseconds (what the frame keeps
        # anyway) so that a cell is accepted or not whatever the other rows hold.
        text = text.str.replace(r"(\.\d{6})\d+", r"\1", regex=True)
        values = pd.to_datetime(
            text.where(~missing & dated), utc=True, format="ISO8601", errors="coerce"
        )
    bad = ~missing & values.isna().to_numpy()
    values = values.astype("datetime64[us, UTC]")
    return _Parsed(values, missing, bad, "bad_type: not an ISO 8601 timestamp")


def _parse_list(source: pd.Series, text: pd.Series, missing: BoolArray) -> _Parsed:
    # Parquet may hold a real list column; CSV holds "a|b" text.
    if source.dtype == object and any(isinstance(v, list | np.ndarray) for v in source):
        items = [
            [str(x).strip() for x in v if str(x).strip()]
            if isinstance(v, list | np.ndarray)
            else []
            for v in source
        ]
    else:
        items = [[x.strip() for x in t.split(GENRE_SEPARATOR) if x.strip()] for t in text]
    empty = np.array([not v for v in items], dtype=bool)
    return _Parsed(
        pd.Series(items, dtype=object), missing | empty, np.zeros(len(items), dtype=bool)
    )


def _check_reference(
    spec: FileSpec,
    column: str,
    target: str,
    when: tuple[str, str] | None,
    parsed: Mapping[str, _Parsed],
    id_sets: Mapping[str, _IdSet],
    problems: _Problems,
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


def _final_dtype(col: Column, values: pd.Series) -> pd.Series:
    if col.kind in (Kind.STR, Kind.CSA):
        out = values.astype("str")
        return out if col.required else out.where(out != "")
    if col.kind is Kind.INT:
        return values.astype("int64" if col.required else "Int64")
    if col.kind is Kind.FLOAT:
        return values.astype("float64")
    if col.kind is Kind.BOOL:
        return values.astype(bool)
    return values
