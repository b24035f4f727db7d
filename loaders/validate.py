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

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from loaders.chunks import IdSet, SeenKeys, header_problems, validate_chunk
from loaders.contract import (
    EXTENSIONS,
    FILE_SPECS,
    FILES,
    FileSpec,
)
from loaders.files import read_chunks, read_header
from loaders.rejects import Reject, file_reject

DEFAULT_CHUNK_ROWS = 500_000
"""Rows per chunk when streaming a file (about 0.5 GB peak for ``watch_events``)."""


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
        return None, [file_reject(name, "ambiguous_file", f"both {found[0]} and {found[1]} exist")]
    if not found:
        if spec.required:
            return None, [file_reject(name, "missing_file", f"no {name}.csv or {name}.parquet")]
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
                file_reject(
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
        header = read_header(path)
    except (ValueError, OSError) as e:
        yield _failed(spec, path, "unreadable", str(e).strip())
        return
    problems = header_problems(spec, header)
    if problems:
        yield Validated(name, path, empty_frame(name), problems, 0)
        return
    seen = SeenKeys()
    id_sets = {ref.target: IdSet(known[ref.target]) for ref in spec.references}
    first_row = 2 if path.suffix == ".csv" else 1
    reader = read_chunks(path, chunk_rows)
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except (ValueError, OSError) as e:
            yield _failed(spec, path, "unreadable", str(e).strip())
            return
        frame, rejects = validate_chunk(spec, raw, first_row, id_sets, seen)
        yield Validated(name, path, frame, rejects, len(raw))
        first_row += len(raw)


def empty_frame(name: str) -> pd.DataFrame:
    """A typed frame with no rows and the columns validation gives ``name``."""
    spec = FILE_SPECS[name]
    raw = pd.DataFrame({c: pd.Series([], dtype="str") for c in spec.column_names})
    frame, _ = validate_chunk(spec, raw, 1, {}, SeenKeys())  # no rows: no lookups
    return frame


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


def _failed(spec: FileSpec, path: Path, code: str, text: str) -> Validated:
    return Validated(
        spec.name, path, empty_frame(spec.name), [file_reject(spec.name, code, text)], 0
    )
