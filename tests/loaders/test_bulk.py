"""The bulk path's CSV files for the import tool (the import itself is tested against Neo4j)."""

from __future__ import annotations

from pathlib import Path

from loaders.bulk import _take
from loaders.tv import LoadReport
from loaders.validate import validate_dataset
from tests.loaders.test_validate import BASE, write


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
