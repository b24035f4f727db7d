"""Cell parsers: one column of a chunk, as text (or native Parquet values), to typed values
with the cells that are missing and those that are invalid, and why (a reject code first).

The rules of each type are those of the contract (:mod:`loaders.contract`); deciding what
to do with a bad cell (reject its row, name it) is validation's (:mod:`loaders.validate`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graph.domain import CSA_LEVELS
from loaders.contract import FALSE_SPELLINGS, GENRE_SEPARATOR, TRUE_SPELLINGS, Column, Kind

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(slots=True)
class Parsed:
    values: pd.Series  # typed; meaningless where missing or invalid
    missing: BoolArray
    invalid: BoolArray
    reason: str = ""  # reason for the invalid cells


def is_native(col: Column, dtype: Any) -> bool:
    """True when a (Parquet) column already has the contract's type: no text to parse."""
    types = pd.api.types
    if col.kind in (Kind.INT, Kind.FLOAT):
        return bool(types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype))
    if col.kind is Kind.DATETIME:
        return isinstance(dtype, pd.DatetimeTZDtype) or bool(types.is_datetime64_dtype(dtype))
    return col.kind is Kind.BOOL and bool(types.is_bool_dtype(dtype))


def parse_cells(col: Column, source: pd.Series) -> Parsed:
    if is_native(col, source.dtype):
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
        return Parsed(upper, missing, bad, f"unknown_csa: expected one of {', '.join(CSA_LEVELS)}")
    if col.kind in (Kind.INT, Kind.FLOAT):
        return _parse_number(col, source, text, missing)
    if col.kind is Kind.BOOL:
        if is_native(col, source.dtype):
            return Parsed(source.astype(bool), missing, np.zeros(len(source), dtype=bool))
        lower = text.str.lower()
        true = lower.isin(list(TRUE_SPELLINGS)).to_numpy()
        false = lower.isin(list(FALSE_SPELLINGS)).to_numpy()
        return Parsed(
            pd.Series(true),
            missing,
            ~missing & ~true & ~false,
            f"bad_type: not a boolean ({'/'.join(TRUE_SPELLINGS)} or {'/'.join(FALSE_SPELLINGS)})",
        )
    if col.kind is Kind.DATETIME:
        return _parse_datetime(source, text, missing)
    return _parse_list(col, source, text, missing)


def _parse_str(col: Column, text: pd.Series, missing: BoolArray) -> Parsed:
    if col.allowed is not None:
        lower = text.str.lower()
        bad = ~missing & ~lower.isin(list(col.allowed)).to_numpy()
        return Parsed(
            lower, missing, bad, f"unknown_value: expected one of {', '.join(col.allowed)}"
        )
    if col.pattern is not None:
        matches = text.str.fullmatch(col.pattern).fillna(False).to_numpy(dtype=bool)
        return Parsed(text, missing, ~missing & ~matches, f"bad_format: must match {col.pattern}")
    return Parsed(text, missing, np.zeros(len(text), dtype=bool))


def _parse_number(col: Column, source: pd.Series, text: pd.Series, missing: BoolArray) -> Parsed:
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
        return Parsed(numbers, missing, bad, "bad_type: not an integer")
    return Parsed(pd.Series(as_float), missing, bad, "bad_type: not a number")


DATE_START = r"\d{4}-\d{2}-\d{2}|\d{8}"
"""How a timestamp written as text opens: an ISO 8601 date, extended or basic."""


def _parse_datetime(source: pd.Series, text: pd.Series, missing: BoolArray) -> Parsed:
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
    return Parsed(values, missing, bad, "bad_type: not an ISO 8601 timestamp")


def _parse_list(col: Column, source: pd.Series, text: pd.Series, missing: BoolArray) -> Parsed:
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
    values = pd.Series(items, dtype=object)
    if col.pattern is None:
        return Parsed(values, missing | empty, np.zeros(len(items), dtype=bool))
    # One bad item rejects the row: dropping it would leave a list that says something else.
    pattern = re.compile(col.pattern)
    bad = np.array([any(not pattern.fullmatch(x) for x in v) for v in items], dtype=bool)
    reason = f"bad_format: each item must match {col.pattern} (separated by {GENRE_SEPARATOR})"
    return Parsed(values, missing | empty, bad, reason)


def final_dtype(col: Column, values: pd.Series) -> pd.Series:
    if col.kind in (Kind.STR, Kind.CSA):
        out = values.astype("str")
        return out if col.required else out.where(out != "")
    if col.kind is Kind.INT:
        return values.astype("int64" if col.required else "Int64")
    if col.kind is Kind.FLOAT:
        return values.astype("float64")
    if col.kind is Kind.BOOL:
        return values.astype(bool)
    if col.kind is Kind.STR_LIST and not col.required:
        # An empty optional list is a missing value, as an empty optional cell is: None.
        return values.where(values.map(len) > 0, None)
    return values
