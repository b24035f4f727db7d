"""Rejects: every problem of a data set as a file, row, column and a reason whose first
word is a stable code (:data:`REASON_CODES`); and the CSV report of them."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graph.errors import printable
from loaders.contract import (
    GENRE_SEPARATOR,
    FileSpec,
)

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
    "too_long": "text longer than the column allows (ids: 256 characters, names and titles: 1,000)",
    "bad_value": "text holding a control character (NUL, escape, newline...)",
    "future_time": "an event dated more than 24 hours after the time of the load",
}
"""Every reject code, with what it means."""

_SHOWN_CHARS = 200


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
        """The reject as a line for a terminal: a control character from the file (an
        escape code in a header, say) is shown escaped, never sent as is."""
        where = f"{self.file} row {self.row}" if self.row else self.file
        col = f", column {self.column}" if self.column else ""
        val = f" (value {self.value!r})" if self.value is not None else ""
        return printable(f"{where}{col}: {self.reason}{val}")


def file_reject(file: str, code: str, text: str, column: str | None = None) -> Reject:
    return Reject(file, 0, column, f"{code}: {text}", None)


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


class Problems:
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
            shown = [joined[1].join(str(show(v)) for v in row) for row in zip(*cells, strict=True)]
        elif values is not None:
            shown = [show(v) for v in values.iloc[positions]]
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


def show(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        value = GENRE_SEPARATOR.join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
