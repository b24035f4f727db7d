from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from graph.domain import MAX_ID_LENGTH, MAX_TEXT_LENGTH
from loaders.rejects import REASON_CODES, Reject, write_rejects_report
from loaders.validate import (
    Dataset,
    format_summary,
    iter_watch_events,
    to_records,
    validate_dataset,
)

# A small data set every row of which is valid; each test breaks one thing.
BASE: dict[str, list[str]] = {
    "genres": ["genre_id,name", "film,Film", "serie,Série"],
    "channels": ["channel_id,name", "c1,Un", "c2,Deux"],
    "bundles": ["bundle_id,name,is_free", "base,Base,true", "cine,Ciné,No"],
    "bundle_channels": ["bundle_id,channel_id", "base,c1", "cine,c2"],
    "series": ["series_id,title", "s1,Les Voisins"],
    "programs": [
        "program_id,title,genres,csa,duration_s,year,series_id,season,episode,availability",
        "p1,Le Film,film,TP,5400,1999,,,,live",
        'p2,"Voisins, le retour",serie|film,-12,1800,,s1,1,2,Replay',
    ],
    "availability": [
        "program_id,channel_id,start,end,kind",
        "p1,c1,2025-01-06T20:50:00Z,2025-01-06T22:20:00Z,live",
        "p2,c2,2025-01-06 21:00:00,2025-01-13T21:00:00+01:00,replay",
    ],
    "users": ["user_id,country,profile,csa_ceiling", "u1,FR,adult,-18", "u2,BE,kids,-10"],
    "subscriptions": [
        "user_id,bundle_id,since,until",
        "u1,base,2024-01-01,",
        "u1,cine,2024-03-01T00:00:00Z,2025-03-01T00:00:00Z",
    ],
    "blacklists": ["user_id,target_type,target_id", "u1,channel,c2", "u2,genre,film"],
    "watch_events": [
        "event_id,user_id,program_id,channel_id,ts,watched_s,completion",
        "e1,u1,p1,c1,2025-01-06T21:00:00Z,5400,1",
        "e2,u2,p1,c1,2025-01-06T21:10:00Z,600,0.1111",
    ],
}
NEXT_ROW = 4  # header on line 1, two data rows: an appended row is line 4


def write(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def with_row(name: str, line: str) -> dict[str, list[str]]:
    files = {k: list(v) for k, v in BASE.items()}
    files[name].append(line)
    return files


def codes(rejects: list[Reject]) -> list[tuple[str, int, str | None, str]]:
    return [(r.file, r.row, r.column, r.code) for r in rejects]


def test_the_base_data_set_is_valid_and_typed(tmp_path: Path) -> None:
    dataset = validate_dataset(write(tmp_path, BASE))
    assert dataset.ok
    assert dataset.rejects == []
    programs = dataset["programs"].frame
    assert list(programs.index) == [2, 3]  # the CSV line of each row
    assert programs.loc[3, "genres"] == ["serie", "film"]
    assert programs.loc[3, "availability"] == "replay"  # enumerations are lower-cased
    assert programs.loc[3, "csa_level"] == 12
    assert str(programs["duration_s"].dtype) == "int64"
    assert str(programs["year"].dtype) == "Int64"
    assert pd.isna(programs.loc[3, "year"])
    assert programs.loc[3, "title"] == "Voisins, le retour"
    assert list(dataset["bundles"].frame["is_free"]) == [True, False]
    assert list(dataset["users"].frame["csa_ceiling_level"]) == [18, 10]
    windows = dataset["availability"].frame
    # Naive timestamps are UTC; offsets are converted to UTC.
    assert windows.loc[3, "start"] == pd.Timestamp("2025-01-06T21:00:00Z")
    assert windows.loc[3, "end"] == pd.Timestamp("2025-01-13T20:00:00Z")
    assert str(windows["start"].dtype) == "datetime64[us, UTC]"
    assert pd.isna(dataset["subscriptions"].frame.loc[2, "until"])
    assert set(dataset.known["programs"]) == {"p1", "p2"}
    # availability.csv has no countries column: every window is unrestricted.
    assert [r["countries"] for r in to_records(windows)] == [None, None]


CASES = [
    # file, appended row, column, code
    ("genres", ",Sans id", "genre_id", "missing_value"),
    ("channels", "c1,Doublon", "channel_id", "duplicate_id"),
    ("bundle_channels", "base,c1", "bundle_id+channel_id", "duplicate_id"),
    ("bundles", "sport,Sport,maybe", "is_free", "bad_type"),
    ("programs", "p3,X,film,TP,long,,,,,vod", "duration_s", "bad_type"),
    ("programs", "p3,X,film,TP,12.5,,,,,vod", "duration_s", "bad_type"),
    ("programs", "p3,X,film,TP,-5,,,,,vod", "duration_s", "negative_value"),
    ("programs", "p3,X,film,TP,0,,,,,vod", "duration_s", "out_of_range"),
    ("programs", "p3,X,film,TP,60,1700,,,,vod", "year", "out_of_range"),
    # Beyond int64: it used to pass as a float and wrap round to -2^63 when stored.
    ("programs", "p3,X,film,TP,99999999999999999999,,,,,vod", "duration_s", "out_of_range"),
    ("programs", "p3,X,film,TP,60,-99999999999999999999,,,,vod", "year", "out_of_range"),
    ("programs", "p3,X,film,-21,60,,,,,vod", "csa", "unknown_csa"),
    ("programs", "p3,X,film|polar,TP,60,,,,,vod", "genres", "unknown_reference"),
    ("programs", "p3,X,,TP,60,,,,,vod", "genres", "missing_value"),
    ("programs", "p3,X,film,TP,60,,s9,1,1,vod", "series_id", "unknown_reference"),
    ("programs", "p3,X,film,TP,60,,,,,stream", "availability", "unknown_value"),
    (
        "availability",
        "p1,c9,2025-01-06T20:00:00Z,2025-01-06T21:00:00Z,vod",
        "channel_id",
        "unknown_reference",
    ),
    (
        "availability",
        "p9,c1,2025-01-06T20:00:00Z,2025-01-06T21:00:00Z,vod",
        "program_id",
        "unknown_reference",
    ),
    ("availability", "p1,c1,yesterday,2025-01-06T21:00:00Z,vod", "start", "bad_type"),
    # pandas reads these as the time of the load: loading twice would not be idempotent.
    ("availability", "p1,c1,now,2025-01-06T21:00:00Z,vod", "start", "bad_type"),
    ("subscriptions", "u2,base,today,", "since", "bad_type"),
    ("watch_events", "e3,u1,p1,c1,now,60,0.5", "ts", "bad_type"),
    (
        "availability",
        "p1,c1,2025-01-06T21:00:00Z,2025-01-06T21:00:00Z,vod",
        "end",
        "inverted_window",
    ),
    (
        "availability",
        "p1,c1,2025-01-06T20:00:00Z,2025-01-06T21:00:00Z,ppv",
        "kind",
        "unknown_value",
    ),
    ("users", "u3,France,adult,-18", "country", "bad_format"),
    ("users", "u3,FR,kid,-10", "profile", "unknown_value"),
    ("users", "u3,FR,adult,18+", "csa_ceiling", "unknown_csa"),
    ("subscriptions", "u1,base,2024-06-01,2024-05-01", "until", "inverted_window"),
    ("subscriptions", "u1,sport,2024-06-01,", "bundle_id", "unknown_reference"),
    ("subscriptions", "u9,base,2024-06-01,", "user_id", "unknown_reference"),
    ("genres", "polar,Pol\ufffdar", "name", "bad_encoding"),
    ("subscriptions", "u2,base,,", "since", "missing_value"),
    ("blacklists", "u1,user,u2", "target_type", "unknown_value"),
    ("blacklists", "u1,genre,polar", "target_id", "unknown_reference"),
    ("blacklists", "u1,program,c1", "target_id", "unknown_reference"),
    ("blacklists", "u1,channel,c2", "user_id+target_type+target_id", "duplicate_id"),
    ("watch_events", "e3,u1,p1,c1,2025-01-06T21:00:00Z,60,1.5", "completion", "out_of_range"),
    ("watch_events", "e3,u1,p1,c1,2025-01-06T21:00:00Z,60,-0.1", "completion", "negative_value"),
    ("watch_events", "e3,u1,p1,c1,2025-01-06T21:00:00Z,-60,0.5", "watched_s", "negative_value"),
    ("watch_events", "e3,u1,p1,c1,2025-01-06T21:00:00Z,60,half", "completion", "bad_type"),
    (
        "watch_events",
        "e3,u1,p1,c1,2025-01-06T21:00:00Z,9223372036854775808,0.5",
        "watched_s",
        "out_of_range",
    ),
    # More than a year in one event: the API's bound too (a sum of them must fit in 64 bits).
    ("watch_events", "e3,u1,p1,c1,2025-01-06T21:00:00Z,31622401,0.5", "watched_s", "out_of_range"),
    ("watch_events", "e3,u3,p1,c1,2025-01-06T21:00:00Z,60,0.5", "user_id", "unknown_reference"),
    ("watch_events", "e1,u1,p1,c1,2025-01-07T21:00:00Z,60,0.5", "event_id", "duplicate_id"),
]


@pytest.mark.parametrize(("name", "line", "column", "code"), CASES)
def test_a_bad_row_is_rejected_and_the_good_rows_are_kept(
    tmp_path: Path, name: str, line: str, column: str, code: str
) -> None:
    dataset = validate_dataset(write(tmp_path, with_row(name, line)))
    assert codes(dataset.rejects) == [(name, NEXT_ROW, column, code)]
    result = dataset[name]
    assert result.rows_read == 3
    assert list(result.frame.index) == [2, 3]  # both base rows kept, the bad one dropped
    assert dataset.ok  # a bad row never rejects the whole file
    assert dataset.rejects[0].reason.startswith(f"{code}: ")


def test_every_documented_code_is_produced_somewhere() -> None:
    row_codes = {case[3] for case in CASES} | {"too_long", "bad_value", "future_time"}
    file_codes = {
        "missing_file",
        "ambiguous_file",
        "unreadable",
        "missing_column",
        "extra_column",
        "duplicate_column",
        "dependency_rejected",
    }
    assert row_codes | file_codes == set(REASON_CODES)


def test_a_rejected_value_is_shown_as_written(tmp_path: Path) -> None:
    dataset = validate_dataset(
        write(tmp_path, with_row("programs", "p3,X,film|polar,TP,60,,,,,vod"))
    )
    [reject] = dataset.rejects
    assert reject.value == "polar"  # only the unknown id, not the whole cell
    assert "programs row 4, column genres: unknown_reference" in str(reject)


def test_a_byte_that_is_not_utf8_rejects_its_row_only(tmp_path: Path) -> None:
    folder = write(tmp_path, BASE)
    users = folder / "users.csv"
    lines = users.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"u9,FR,adult,T\xe9P\n")  # Latin-1 in the middle of the file
    users.write_bytes(b"".join(lines))
    dataset = validate_dataset(folder, chunk_rows=1)  # a chunk per row: rows after it too
    assert codes(dataset.rejects) == [("users", 3, "csa_ceiling", "bad_encoding"),
                                      ("users", 3, "csa_ceiling", "unknown_csa")]  # fmt: skip
    assert list(dataset["users"].frame["user_id"]) == ["u1", "u2"]  # both others kept


def test_a_timestamp_is_read_the_same_whatever_the_other_rows_hold(tmp_path: Path) -> None:
    # A cell finer than microseconds used to make pandas parse the column's chunk in ns,
    # where 9999-12-31 (an open-ended subscription written as a far date) overflowed.
    files = with_row("subscriptions", "u2,base,2024-06-01,2024-07-01T00:00:00.123456789Z")
    files["subscriptions"].append("u2,cine,2024-06-01,9999-12-31")
    dataset = validate_dataset(write(tmp_path, files))
    assert dataset.rejects == []
    until = dataset["subscriptions"].frame["until"]
    assert until[NEXT_ROW] == pd.Timestamp("2024-07-01T00:00:00.123456Z")
    assert until[NEXT_ROW + 1] == pd.Timestamp("9999-12-31T00:00:00Z")
    assert str(until.dtype) == "datetime64[us, UTC]"


def test_several_problems_in_one_row_are_all_reported(tmp_path: Path) -> None:
    dataset = validate_dataset(write(tmp_path, with_row("users", "u3,fr,kid,X")))
    assert codes(dataset.rejects) == [
        ("users", 4, "country", "bad_format"),
        ("users", 4, "profile", "unknown_value"),
        ("users", 4, "csa_ceiling", "unknown_csa"),
    ]


def test_references_are_checked_against_valid_rows_only(tmp_path: Path) -> None:
    files = with_row("channels", "c3,")  # c3 has no name: rejected
    files["availability"].append("p1,c3,2025-01-06T20:00:00Z,2025-01-06T21:00:00Z,vod")
    dataset = validate_dataset(write(tmp_path, files))
    assert codes(dataset.rejects) == [
        ("channels", 4, "name", "missing_value"),
        ("availability", 4, "channel_id", "unknown_reference"),
    ]


def test_the_first_of_duplicate_keys_is_kept(tmp_path: Path) -> None:
    files = with_row("genres", "film,Autre")
    dataset = validate_dataset(write(tmp_path, files))
    assert dataset["genres"].frame.loc[2, "name"] == "Film"
    assert dataset.rejects[0].value == "film"


def test_a_missing_required_column_rejects_the_file_and_its_dependents(tmp_path: Path) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["channels"] = ["channel_id", "c1", "c2"]
    dataset = validate_dataset(write(tmp_path, files))
    assert not dataset.ok
    assert not dataset["channels"].ok
    assert dataset["channels"].frame.empty
    rejects = dataset.rejects
    assert codes(rejects)[0] == ("channels", 0, "name", "missing_column")
    assert "required column 'name'" in rejects[0].reason
    dependents = {r.file for r in rejects if r.code == "dependency_rejected"}
    assert dependents == {"bundle_channels", "availability", "blacklists", "watch_events"}
    # Files that do not reference channels are still validated normally.
    assert len(dataset["users"].frame) == 2


def test_an_extra_column_rejects_the_file(tmp_path: Path) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["genres"] = ["genre_id,name,colour", "film,Film,red", "serie,Série,blue"]
    dataset = validate_dataset(write(tmp_path, files))
    assert codes(dataset["genres"].rejects) == [("genres", 0, "colour", "extra_column")]
    assert dataset["genres"].frame.empty


def test_a_duplicated_column_rejects_the_file(tmp_path: Path) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["genres"] = ["genre_id,name,name", "film,Film,Film"]
    dataset = validate_dataset(write(tmp_path, files))
    assert codes(dataset["genres"].rejects) == [("genres", 0, "name", "duplicate_column")]


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["programs"] = [
        "program_id,title,genres,csa,duration_s,availability",
        "p1,Le Film,film,TP,5400,live",
        "p2,Voisins,serie,-12,1800,replay",
    ]
    dataset = validate_dataset(write(tmp_path, files))
    assert dataset.rejects == []
    assert dataset["programs"].frame["season"].isna().all()


AVAILABILITY_WITH_COUNTRIES = [
    "program_id,channel_id,start,end,kind,countries",
    "p1,c1,2025-01-06T20:50:00Z,2025-01-06T22:20:00Z,live,FR|BE",
    "p2,c2,2025-01-06 21:00:00,2025-01-13T21:00:00+01:00,replay,",
    "p1,c2,2025-01-07T20:00:00Z,2025-01-07T21:00:00Z,vod, CH ",
    "p1,c1,2025-01-08T20:00:00Z,2025-01-08T21:00:00Z,vod,FR|fr",
    "p2,c1,2025-01-08T20:00:00Z,2025-01-08T21:00:00Z,vod,FRA",
    "p2,c2,2025-01-09T20:00:00Z,2025-01-09T21:00:00Z,vod,FR;BE",
    "p2,c1,2025-01-09T20:00:00Z,2025-01-09T21:00:00Z,live,BE||LU",
]


def test_availability_countries_are_upper_case_codes_and_empty_is_everywhere(
    tmp_path: Path,
) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["availability"] = AVAILABILITY_WITH_COUNTRIES
    dataset = validate_dataset(write(tmp_path, files))
    rejects = dataset.rejects
    assert codes(rejects) == [("availability", row, "countries", "bad_format") for row in (5, 6, 7)]
    assert [r.value for r in rejects] == ["FR|fr", "FRA", "FR;BE"]  # as written
    assert "availability row 5, column countries: bad_format" in str(rejects[0])
    assert "[A-Z]{2}" in rejects[0].reason
    frame = dataset["availability"].frame
    assert list(frame.index) == [2, 3, 4, 8]  # the valid windows are all kept
    assert [r["countries"] for r in to_records(frame)] == [
        ["FR", "BE"], None, ["CH"], ["BE", "LU"]]  # fmt: skip
    assert dataset.ok and len(dataset["watch_events"].frame) == 2  # nothing else lost


def test_availability_countries_in_parquet_may_be_a_list_column(tmp_path: Path) -> None:
    folder = write(tmp_path, BASE)
    (folder / "availability.csv").unlink()
    pd.DataFrame(
        {"program_id": ["p1", "p2", "p1"], "channel_id": ["c1", "c2", "c2"],
         "start": ["2025-01-06T20:00:00Z"] * 3, "end": ["2025-01-06T21:00:00Z"] * 3,
         "kind": ["live", "replay", "vod"], "countries": [["FR", "BE"], [], ["fr"]]}
    ).to_parquet(folder / "availability.parquet", index=False)  # fmt: skip
    dataset = validate_dataset(folder)
    assert codes(dataset.rejects) == [("availability", 3, "countries", "bad_format")]
    frame = dataset["availability"].frame
    assert [r["countries"] for r in to_records(frame)] == [["FR", "BE"], None]


def test_missing_files(tmp_path: Path) -> None:
    files = {k: v for k, v in BASE.items() if k not in ("blacklists", "users")}
    dataset = validate_dataset(write(tmp_path, files))
    assert dataset["blacklists"].rejects == []  # optional: simply empty
    assert dataset["blacklists"].frame.empty
    assert dataset["blacklists"].path is None
    assert codes(dataset["users"].rejects) == [("users", 0, None, "missing_file")]
    assert {r.file for r in dataset.rejects if r.code == "dependency_rejected"} == {
        "subscriptions",
        "watch_events",
    }


def test_an_absent_optional_file_leaves_its_references_unknown(tmp_path: Path) -> None:
    files = {k: v for k, v in BASE.items() if k != "series"}
    dataset = validate_dataset(write(tmp_path, files))
    assert codes(dataset.rejects) == [
        ("programs", 3, "series_id", "unknown_reference"),
        # ...and the rejection of p2 cascades to the rows that reference it.
        ("availability", 3, "program_id", "unknown_reference"),
    ]


def test_both_formats_of_one_file_is_an_error(tmp_path: Path) -> None:
    folder = write(tmp_path, BASE)
    pd.DataFrame({"genre_id": ["film"], "name": ["Film"]}).to_parquet(folder / "genres.parquet")
    dataset = validate_dataset(folder)
    assert codes(dataset["genres"].rejects) == [("genres", 0, None, "ambiguous_file")]


@pytest.mark.parametrize("position", [1, 2, 3])
def test_a_row_with_too_many_fields_makes_the_file_unreadable_wherever_it_is(
    tmp_path: Path, position: int
) -> None:
    # First (1), middle (2) or last (3) data row. A first row one field longer than the
    # header used to make pandas take the first column as the index: every column
    # shifted by one, a wrong row kept and the valid ones rejected.
    files = {k: list(v) for k, v in BASE.items()}
    files["genres"].insert(position, "polar,Polar,extra")
    dataset = validate_dataset(write(tmp_path, files))
    [reject] = dataset["genres"].rejects
    assert (reject.row, reject.code) == (0, "unreadable")
    assert "saw 3" in reject.reason
    assert dataset["genres"].frame.empty


def test_a_file_unreadable_after_valid_chunks_keeps_no_row(tmp_path: Path) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["channels"].append("c3,Trois,extra")  # line 4, after two chunks of one valid row
    dataset = validate_dataset(write(tmp_path, files), chunk_rows=1)
    channels = dataset["channels"]
    assert not channels.ok
    assert channels.frame.empty  # rejected as a whole: nothing of it is loaded
    assert (channels.rows_read, channels.rows_rejected) == (2, 2)
    assert list(dataset.known["channels"]) == []
    rejected = {r.file for r in dataset.rejects if r.code == "dependency_rejected"}
    assert rejected == {"bundle_channels", "availability", "blacklists", "watch_events"}


def test_blank_lines_before_the_header_are_skipped(tmp_path: Path) -> None:
    folder = write(tmp_path, BASE)
    genres = folder / "genres.csv"
    genres.write_text("\n\n" + genres.read_text(encoding="utf-8"), encoding="utf-8")
    dataset = validate_dataset(folder)
    assert dataset.rejects == []
    assert list(dataset["genres"].frame["genre_id"]) == ["film", "serie"]


def test_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        validate_dataset(tmp_path / "nope")


# ------------------------------------------------------------------ parquet
def to_parquet(csv_folder: Path, out: Path) -> Path:
    """The same files as Parquet with text columns (how many exports look)."""
    out.mkdir()
    for path in csv_folder.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.to_parquet(out / f"{path.stem}.parquet", index=False)
    return out


def test_parquet_files_read_like_csv(tmp_path: Path) -> None:
    from_csv = validate_dataset(write(tmp_path / "csv", BASE))
    from_parquet = validate_dataset(to_parquet(tmp_path / "csv", tmp_path / "pq"))
    assert from_parquet.rejects == []
    for name in BASE:
        a, b = from_csv[name].frame, from_parquet[name].frame
        # Parquet rows are numbered from 1, CSV lines from 2 (after the header).
        assert list(b.index) == [i - 1 for i in a.index]
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_parquet_rejects_name_the_1_based_row(tmp_path: Path) -> None:
    folder = to_parquet(
        write(tmp_path / "csv", with_row("users", "u3,FR,kid,-10")), tmp_path / "pq"
    )
    assert codes(validate_dataset(folder).rejects) == [("users", 3, "profile", "unknown_value")]


def test_parquet_native_types_are_accepted(tmp_path: Path) -> None:
    folder = write(tmp_path, BASE)
    (folder / "watch_events.csv").unlink()
    pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "user_id": ["u1", "u2", "u1"],
            "program_id": ["p1", "p1", "p2"],
            "channel_id": ["c1", "c1", "c2"],
            "ts": pd.to_datetime(["2025-01-06 21:00", "2025-01-06 21:10", "2025-01-07 09:00"]),
            "watched_s": [5400, 600, -3],
            "completion": [1.0, 0.11, 0.5],
        }
    ).to_parquet(folder / "watch_events.parquet", index=False)
    dataset = validate_dataset(folder)
    assert codes(dataset.rejects) == [("watch_events", 3, "watched_s", "negative_value")]
    events = dataset["watch_events"].frame
    assert events.loc[1, "ts"] == pd.Timestamp("2025-01-06T21:00:00Z")  # naive = UTC


def test_an_empty_parquet_file_is_an_empty_file(tmp_path: Path) -> None:
    folder = write(tmp_path, BASE)
    (folder / "blacklists.csv").unlink()
    columns = BASE["blacklists"][0].split(",")
    pd.DataFrame({c: pd.Series([], dtype="str") for c in columns}).to_parquet(
        folder / "blacklists.parquet", index=False
    )
    (folder / "watch_events.csv").unlink()
    pd.DataFrame(  # native types, no rows
        {"event_id": pd.Series([], dtype="str"), "user_id": pd.Series([], dtype="str"),
         "program_id": pd.Series([], dtype="str"), "channel_id": pd.Series([], dtype="str"),
         "ts": pd.Series([], dtype="datetime64[us, UTC]"),
         "watched_s": pd.Series([], dtype="int64"), "completion": pd.Series([], dtype="float64")}
    ).to_parquet(folder / "watch_events.parquet", index=False)  # fmt: skip
    dataset = validate_dataset(folder)
    assert dataset.ok and dataset.rejects == []
    for name in ("blacklists", "watch_events"):
        assert dataset[name].rows_read == 0
        assert dataset[name].frame.empty
    assert str(dataset["watch_events"].frame["ts"].dtype) == "datetime64[us, UTC]"


# ------------------------------------------------------------------ chunked watch events
def test_watch_events_stream_in_chunks_and_find_duplicates_across_them(tmp_path: Path) -> None:
    files = with_row("watch_events", "e3,u1,p2,c2,2025-01-08T10:00:00Z,60,0.5")
    files["watch_events"] += [
        "e1,u2,p2,c2,2025-01-08T10:00:00Z,60,0.5",  # duplicate of line 2, two chunks later
        "e4,u9,p2,c2,2025-01-08T10:00:00Z,60,0.5",
    ]
    folder = write(tmp_path, files)
    dataset = validate_dataset(folder, include_watch_events=False)
    assert "watch_events" not in dataset.files
    path = dataset.paths["watch_events"]
    assert path is not None
    chunks = list(iter_watch_events(path, known=dataset.known, chunk_rows=2))
    assert [c.rows_read for c in chunks] == [2, 2, 1]
    assert [list(c.frame.index) for c in chunks] == [[2, 3], [4], []]
    rejects = [r for c in chunks for r in c.rejects]
    assert codes(rejects) == [
        ("watch_events", 5, "event_id", "duplicate_id"),
        ("watch_events", 6, "user_id", "unknown_reference"),
    ]
    summary = format_summary(chunks)
    assert "watch_events" in summary and "duplicate_id 1" in summary


def test_events_left_to_stream_are_rejected_when_a_file_they_reference_is(
    tmp_path: Path,
) -> None:
    files = {k: list(v) for k, v in BASE.items()}
    files["users"][0] += ",colour"  # extra_column: users rejected as a whole
    dataset = validate_dataset(write(tmp_path, files), include_watch_events=False)
    events = dataset["watch_events"]  # validated after all: it is not to be read
    assert codes(events.rejects) == [("watch_events", 0, None, "dependency_rejected")]
    assert events.frame.empty and events.rows_read == 0


def test_streaming_needs_the_known_ids(tmp_path: Path) -> None:
    folder = write(tmp_path, BASE)
    with pytest.raises(ValueError, match="known ids of 'users'"):
        next(iter_watch_events(folder / "watch_events.csv", known={}))


# ------------------------------------------------------------------ reports
def test_rejects_report_and_summary(tmp_path: Path) -> None:
    dataset: Dataset = validate_dataset(
        write(tmp_path / "data", with_row("users", "u3,FR,kid,-10"))
    )
    report = tmp_path / "rejects.csv"
    assert write_rejects_report(dataset.rejects, report) == 1
    with report.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {
            "file": "users",
            "row": "4",
            "column": "profile",
            "reason": "unknown_value: expected one of adult, teen, kids",
            "value": "kid",
        }
    ]
    summary = format_summary(dataset.files.values())
    assert "unknown_value 1" in summary
    assert "users row 4, column profile" in summary


def test_records_hold_plain_python_values_for_the_driver(tmp_path: Path) -> None:
    dataset = validate_dataset(write(tmp_path, BASE))
    [film, episode] = to_records(dataset["programs"].frame)
    assert film["year"] == 1999 and type(film["year"]) is int
    assert film["series_id"] is None and film["season"] is None
    assert episode["genres"] == ["serie", "film"]
    [sub, _] = to_records(dataset["subscriptions"].frame)
    assert sub["until"] is None
    assert sub["since"].isoformat() == "2024-01-01T00:00:00+00:00"


def test_every_reject_code_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(encoding="utf-8")
    for code, meaning in REASON_CODES.items():
        assert f"| `{code}` | {meaning} |" in docs


# ------------------------------------------------------------------ hardening (issue 18)
@pytest.mark.parametrize(
    ("name", "line", "column", "code"),
    [("genres", "g" * 9_000 + ",Long", "genre_id", "too_long"),
     ("users", "u" * 10_000 + ",FR,adult,-18", "user_id", "too_long"),
     ("genres", "polar,Po\x00lar", "name", "bad_value"),
     ("genres", "po\x00lar,Polar", "genre_id", "bad_value"),
     ("genres", "polar,\x1b[2JPolar", "name", "bad_value"),
     ("programs", "p3,X," + "f" * 300 + ",TP,60,,,,,vod", "genres", "too_long"),
     ("programs", "p3," + "T" * 1_001 + ",film,TP,60,,,,,vod", "title", "too_long"),
     ("watch_events", "e3,u1,p1,c1,2999-01-01T00:00:00Z,60,0.5", "ts", "future_time")],
)  # fmt: skip
def test_long_ids_control_characters_and_future_events_are_rejected_rows(
    tmp_path: Path, name: str, line: str, column: str, code: str
) -> None:
    dataset = validate_dataset(write(tmp_path, with_row(name, line)))
    assert codes(dataset.rejects) == [(name, NEXT_ROW, column, code)]
    assert list(dataset[name].frame.index) == [2, 3]


def test_the_longest_id_and_name_and_a_watch_a_day_ahead_load(tmp_path: Path) -> None:
    soon = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=23)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, line in (("genres", "g" * MAX_ID_LENGTH + ",Long"),
                       ("genres", "polar," + "P" * MAX_TEXT_LENGTH),
                       ("watch_events", f"e3,u1,p1,c1,{soon},60,0.5")):  # fmt: skip
        dataset = validate_dataset(write(tmp_path / name / line[:8], with_row(name, line)))
        assert dataset.rejects == [], dataset.rejects


def test_a_reject_prints_control_characters_escaped() -> None:
    reject = Reject("genres", 0, "\x1b[2Jname", "extra_column: '\x1b[2Jname' is not...", None)
    text = str(reject)
    assert "\x1b" not in text and "\\x1b[2J" in text
    valued = Reject("genres", 3, "name", "bad_value: ...", "Po\x00\x1b[31mlar")
    assert "\x1b" not in str(valued) and "\x00" not in str(valued)
