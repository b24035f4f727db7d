"""The bulk path's files for the import tool, with the server and the tool faked (the real
import is compared with the UNWIND path against Neo4j in test_load_neo4j.py)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from loaders.bulk import _take, bulk_load_tv
from loaders.tv import LoadReport
from loaders.validate import validate_dataset
from tests.loaders.test_tv import RecordingDriver
from tests.loaders.test_validate import AVAILABILITY_WITH_COUNTRIES, BASE, write


class FakeServer:
    """Keeps, per import-tool argument ``--nodes=...`` / ``--relationships=...``, the CSV
    file the tool would have read."""

    def __init__(self, folder: Path) -> None:
        self.settings = None
        self.dir = folder
        self.files: dict[str, pd.DataFrame] = {}

    def stop(self) -> None:
        pass

    def start(self) -> None:
        pass

    def admin(self, java: str | None, *args: str) -> subprocess.CompletedProcess[str]:
        for arg in args:
            if arg.startswith(("--nodes=", "--relationships=")):
                kind, path = arg[2:].split("=", 1)[0], arg.rsplit("=", 1)[1]
                self.files[f"{kind}:{Path(path).stem}"] = pd.read_csv(path, dtype=str)
        return subprocess.CompletedProcess(args, 0, "", "")


@pytest.fixture
def bulk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    @contextlib.contextmanager
    def open_driver(settings: Any) -> Iterator[RecordingDriver]:
        yield RecordingDriver()

    monkeypatch.setattr("loaders.bulk.open_driver", open_driver)
    monkeypatch.setattr("loaders.bulk.graph_counts", lambda driver, database: {})
    monkeypatch.setattr("loaders.bulk.init_schema", lambda driver, database: None)
    monkeypatch.setattr("loaders.writer.query", lambda name: name)
    yield FakeServer(tmp_path / "server")


def run(server: FakeServer, folder: Path) -> LoadReport:
    return bulk_load_tv(server, folder, database="neo4j", progress=False)  # type: ignore[arg-type]


def test_the_fake_import_sees_every_file(bulk: FakeServer, tmp_path: Path) -> None:
    report = run(bulk, write(tmp_path / "data", BASE))
    assert report.rejects == []
    assert len(bulk.files["nodes:users"]) == 2
    assert len(bulk.files["relationships:watched"]) == 2


def test_a_file_rejected_as_a_whole_gives_the_import_tool_no_row(tmp_path: Path) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["genres"].append("polar,Polar,extra")  # unreadable after two valid chunks
    dataset = validate_dataset(write(tmp_path, files), chunk_rows=1)
    # Whatever frame a caller hands over, a file that is not ok is not imported.
    genres = dataset["genres"]
    genres.frame = validate_dataset(write(tmp_path / "ok", BASE))["genres"].frame
    report = LoadReport()
    assert _take(genres, report).empty
    assert [r.code for r in report.rejects] == ["unreadable"]
    assert len(_take(dataset["users"], report)) == 2


@pytest.mark.parametrize("broken", ["users", "programs", "channels"])
def test_events_of_a_rejected_file_get_one_dependency_rejected(
    bulk: FakeServer, tmp_path: Path, broken: str
) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files[broken][0] += ",colour"  # extra_column: the whole file is rejected
    report = run(bulk, write(tmp_path / "data", files))
    events = [(r.row, r.code) for r in report.rejects if r.file == "watch_events"]
    assert events == [(0, "dependency_rejected")]
    assert "relationships:watched" not in bulk.files


def test_times_keep_their_microseconds(bulk: FakeServer, tmp_path: Path) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["subscriptions"].append("u2,base,2024-03-01T10:00:00.123456Z,")
    files["availability"][1] = "p1,c1,2025-01-06T20:50:00.5Z,2025-01-06T22:20:00Z,live"
    files["watch_events"][1] = "e1,u1,p1,c1,2025-01-06T21:00:00.000001Z,5400,1"
    folder = write(tmp_path / "data", files)
    run(bulk, folder)
    # As the UNWIND path writes them (to_records keeps the microseconds).
    dataset = validate_dataset(folder)
    for name, file, columns in (
        ("subscriptions", "relationships:subscriptions", ["since", "until"]),
        ("availability", "relationships:availability", ["start", "end"]),
    ):
        written = bulk.files[file]
        for column in columns:
            header = next(h for h in written.columns if h.startswith(f"{column}:"))
            times = pd.to_datetime(written[header], utc=True, format="ISO8601")
            expected = dataset[name].frame[column].reset_index(drop=True)
            pd.testing.assert_series_equal(times, expected, check_names=False)
    watched = bulk.files["relationships:watched"]
    assert "2025-01-06T21:00:00.000001Z" in set(watched["first_ts:datetime"])


def test_country_rights_are_string_arrays_and_genres_carry_their_rank(
    bulk: FakeServer, tmp_path: Path
) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["availability"] = AVAILABILITY_WITH_COUNTRIES
    files["programs"][2] = 'p2,"Voisins, le retour",serie|film|serie,-12,1800,,s1,1,2,Replay'
    report = run(bulk, write(tmp_path / "data", files))
    assert {r.code for r in report.rejects} == {"bad_format"}  # the three bad codes
    windows = bulk.files["relationships:availability"]
    # An empty cell: the import tool leaves the property unset, as the UNWIND path's null.
    assert list(windows["countries:string[]"].fillna("")) == ["FR;BE", "", "CH", "BE;LU"]
    genres = bulk.files["relationships:program_genres"]
    assert [tuple(row) for row in genres.itertuples(index=False)] == [
        ("p1", "film", "0"), ("p2", "serie", "0"), ("p2", "film", "1")]  # fmt: skip
    assert list(genres.columns) == [":START_ID(Program)", ":END_ID(Genre)", "rank:int"]


def test_booleans_are_written_as_the_import_tool_reads_them(
    bulk: FakeServer, tmp_path: Path
) -> None:
    run(bulk, write(tmp_path / "data", BASE))
    bundles = bulk.files["nodes:bundles"]
    assert list(bundles["is_free:boolean"]) == ["true", "false"]  # "True" would load false
