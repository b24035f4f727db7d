"""Reading RecBole atomic files (loading ml-100k into Neo4j is tested in test_load_neo4j.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loaders.movielens import ATOMIC_FILES, read_atomic

HEADERS = {
    "inter": "user_id:token\titem_id:token\trating:float\ttimestamp:float",
    "item": "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq",
    "user": "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token",
}


def atomic(tmp_path: Path, name: str, *rows: str) -> Path:
    path = tmp_path / f"ml.{name}"
    path.write_text("\n".join([HEADERS[name], *rows]) + "\n", encoding="utf-8")
    return path


def rejects(path: Path, name: str) -> list[tuple[int, str, str]]:
    _, found, _ = read_atomic(path, ATOMIC_FILES[name])
    return [(r.row, r.column or "", r.reason.split(":", 1)[0]) for r in found]


def test_a_valid_row_after_an_invalid_one_with_its_key_is_kept(tmp_path: Path) -> None:
    path = atomic(tmp_path, "inter", "1\t10\tfive\t881250949", "1\t10\t4\t881250949",
                  "1\t10\t3\t881250950")  # fmt: skip
    frame, found, read = read_atomic(path, ATOMIC_FILES["inter"])
    assert [(r.row, r.column, r.code) for r in found] == [
        (2, "rating", "bad_type"),
        (4, "item_id", "duplicate_id"),  # a duplicate of line 3, the first valid row
    ]
    assert list(frame.index) == [3] and frame.loc[3, "rating"] == 4.0
    assert read == 3


def test_a_year_or_an_age_that_is_not_whole_is_rejected(tmp_path: Path) -> None:
    items = atomic(tmp_path, "item", "1\tToy Story\t1995\tAnimation",
                   "2\tHalf\t1995.5\tDrama", "3\tOld\tunkonwn\tDrama")  # fmt: skip
    assert rejects(items, "item") == [(3, "release_year", "bad_type")]
    frame, _, _ = read_atomic(items, ATOMIC_FILES["item"])
    assert list(frame["year"].astype("object").fillna(-1)) == [1995, -1]  # ml-100k's 'unkonwn'
    users = atomic(tmp_path, "user", "1\t24\tM\ttechnician\t85711", "2\t24.5\tF\tother\t94043",
                   "3\t1e30\tF\tother\t94043")  # fmt: skip
    assert rejects(users, "user") == [(3, "age", "bad_type"), (4, "age", "out_of_range")]


def test_a_file_that_cannot_be_parsed_is_named(tmp_path: Path) -> None:
    ragged = atomic(tmp_path, "inter", "1\t10\t4\t881250949", "1\t11\t4\t881250949\textra\tmore")
    with pytest.raises(ValueError, match=r"ml\.inter: cannot be read"):
        read_atomic(ragged, ATOMIC_FILES["inter"])
    latin1 = tmp_path / "latin1.user"
    latin1.write_bytes(HEADERS["user"].encode() + b"\n1\t24\tM\tartiste \xe9\t75001\n")
    with pytest.raises(ValueError, match=r"latin1\.user: cannot be read"):
        read_atomic(latin1, ATOMIC_FILES["user"])
