"""Reading and writing contract files: ``NAME.csv`` or ``NAME.parquet`` (:mod:`loaders.contract`).

Reading gives text (CSV) or the file's own types (Parquet), in chunks, and leaves
every judgement to validation (:mod:`loaders.validate`); writing appends column blocks
in the contract's column order (the synthetic generator writes through it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loaders.contract import FILE_SPECS, Kind


# ------------------------------------------------------------------ reading
def read_header(path: Path) -> list[str]:
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


def read_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
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


# ------------------------------------------------------------------ writing
class ContractFileWriter:
    """Appends column blocks to ``NAME.csv`` / ``NAME.parquet`` through a temporary file.

    The file only takes its final name when closed, so an interrupted run never
    leaves a truncated file that looks complete.
    """

    def __init__(self, out: Path, name: str, fmt: str) -> None:
        self.spec = FILE_SPECS[name]
        self.path = out / f"{name}.{fmt}"
        self.tmp = out / f".{name}.{fmt}.partial"
        self.fmt = fmt
        self.rows = 0
        self._csv: Any = None
        self._parquet: Any = None
        self._schema: Any = None
        self._closed = False

    def __enter__(self) -> ContractFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, columns: Mapping[str, Any]) -> None:
        names = self.spec.column_names
        n = len(columns[names[0]])
        if self.fmt == "csv":
            frame = pd.DataFrame(
                {c.name: _csv_column(c.kind, columns[c.name]) for c in self.spec.columns}
            )
            if self._csv is None:
                self._csv = self.tmp.open("w", encoding="utf-8", newline="")
            frame.to_csv(self._csv, index=False, header=self.rows == 0, lineterminator="\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._schema is None:
                self._schema = pa.schema(
                    [(c.name, _arrow_type(pa, c.kind)) for c in self.spec.columns]
                )
                self._parquet = pq.ParquetWriter(self.tmp, self._schema)
            arrays = [
                pa.array(
                    _parquet_column(c.kind, columns[c.name]),
                    type=self._schema.field(c.name).type,
                    from_pandas=True,
                )
                for c in self.spec.columns
            ]
            self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self.rows += n

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.fmt == "csv":
            if self._csv is None:  # no rows: still a valid file with its header
                self.tmp.write_text(",".join(self.spec.column_names) + "\n", encoding="utf-8")
            else:
                self._csv.close()
        else:
            if self._parquet is None:
                self.write({c: [] for c in self.spec.column_names})
            self._parquet.close()
        self.tmp.replace(self.path)


def _arrow_type(pa: Any, kind: Kind) -> Any:
    """Parquet column type of a contract type (genres stay ``a|b`` text, as in CSV)."""
    if kind is Kind.INT:
        return pa.int64()
    if kind is Kind.FLOAT:
        return pa.float64()
    if kind is Kind.BOOL:
        return pa.bool_()
    if kind is Kind.DATETIME:
        return pa.timestamp("s", tz="UTC")
    return pa.string()


def _csv_column(kind: Kind, values: Any) -> Any:
    if kind is Kind.DATETIME:
        arr = np.asarray(values, dtype="datetime64[s]")
        text = np.char.add(np.datetime_as_string(arr, unit="s"), "Z").astype(object)
        text[np.isnat(arr)] = ""
        return text
    if kind is Kind.BOOL:
        return np.where(np.asarray(values, dtype=bool), "true", "false")
    return values


def _parquet_column(kind: Kind, values: Any) -> Any:
    if kind is Kind.DATETIME:
        return np.asarray(values, dtype="datetime64[s]")
    if isinstance(values, pd.Series):
        return values
    return values if isinstance(values, np.ndarray) else list(values)
