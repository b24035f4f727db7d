"""What the TV loaders send to Neo4j, checked with a driver that records the writes."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from loaders.tv import load_tv
from loaders.validate import validate_dataset
from tests.loaders.test_validate import BASE, write


class RecordingDriver:
    """Stands in for the Neo4j driver: keeps the rows each load statement was given."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def execute_query(self, statement: str, *args: Any, **kwargs: Any) -> Any:
        self.rows.setdefault(statement, []).extend(kwargs.get("rows", []))
        return [], None, []


def load(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RecordingDriver, Any]:
    monkeypatch.setattr("loaders.writer.query", lambda name: name)  # the driver sees the name
    # One row per chunk, so that a problem met mid-file comes after chunks of valid rows.
    monkeypatch.setattr("loaders.tv.validate_dataset",
                        functools.partial(validate_dataset, chunk_rows=1))  # fmt: skip
    driver = RecordingDriver()
    report = load_tv(driver, folder, database="neo4j", progress=False)  # type: ignore[arg-type]
    return driver, report


def written(driver: RecordingDriver, file: str) -> list[dict[str, Any]]:
    return driver.rows.get(f"load/{file}", [])


def test_a_file_unreadable_after_valid_chunks_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["genres"].append("polar,Polar,extra")  # line 4: after two valid chunks
    driver, report = load(write(tmp_path, files), monkeypatch)
    assert written(driver, "genres") == []
    assert written(driver, "channels") != []  # files that do not reference genres still load
    genres = next(f for f in report.files if f.name == "genres")
    assert (genres.read, genres.written, genres.rejected) == (2, 0, 2)
    assert [r.code for r in report.rejects if r.file == "genres"] == ["unreadable"]


@pytest.mark.parametrize("broken", ["users", "programs", "channels"])
def test_events_of_a_rejected_file_get_one_dependency_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files[broken][0] += ",colour"  # extra_column: the whole file is rejected
    driver, report = load(write(tmp_path, files), monkeypatch)
    events = [(r.row, r.code) for r in report.rejects if r.file == "watch_events"]
    assert events == [(0, "dependency_rejected")]  # not an unknown_reference per event
    assert written(driver, "watch_events") == []
