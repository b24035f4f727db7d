from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cli.main import main


def write_interactions(path: Path, *, users: int = 12, items: int = 16) -> pd.DataFrame:
    """Users like the items of their parity, with ratings and timestamps like MovieLens."""
    rows = [
        (u, i, 1 + (u + i) % 5, 880_000_000 + 10 * u + i)
        for u in range(1, users + 1)
        for i in range(100, 100 + items)
        if (u + i) % 2 == 0 and (u * i) % 3 != 0
    ]
    df = pd.DataFrame(rows, columns=["userID", "itemID", "rating", "timestamp"])
    df.to_csv(path, index=False)
    return df


def test_benchmark_writes_top_k_unseen_items_for_every_user_deterministically(
    tmp_path: Path,
) -> None:
    train = write_interactions(tmp_path / "train.csv")
    out_a, out_b = tmp_path / "a.csv", tmp_path / "b.csv"
    for out in (out_a, out_b):
        args = ["benchmark", "--train", str(tmp_path / "train.csv"), "--k", "3", "--out", str(out)]
        # One thread: tiny graphs train faster on one, and the machine may be shared.
        assert main([*args, "--quiet", "--threads", "1"]) == 0
    assert out_a.read_bytes() == out_b.read_bytes()

    recs = pd.read_csv(out_a)
    assert list(recs.columns) == ["userID", "itemID", "prediction"]
    assert set(recs["userID"]) == set(train["userID"])
    assert (recs.groupby("userID").size() == 3).all()
    seen = set(zip(train["userID"], train["itemID"], strict=True))
    assert not any(pair in seen for pair in zip(recs["userID"], recs["itemID"], strict=True))
    assert set(recs["itemID"]) <= set(train["itemID"])
    # best first within each user
    assert (recs.groupby("userID")["prediction"].diff().fillna(0) <= 0).all()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("user,itemID\n1,2\n", "missing column(s) userID; found user, itemID"),
        ("userID,itemID,rating\n1,2,5\n3,4.5,1\n", "line 3, column itemID: '4.5' is not an"),
        ("userID,itemID\n,2\n", "line 2, column userID: '' is not an integer id"),
        ("userID,itemID\n", "no interactions"),
        ("", "not a readable CSV"),
    ],
)
def test_bad_input_names_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code = main(["benchmark", "--train", str(path), "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and message in err
    assert not (tmp_path / "o.csv").exists()


def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_interactions(tmp_path / "train.csv")
    base = ["benchmark", "--train", str(tmp_path / "train.csv")]
    assert main([*base, "--k", "0", "--out", str(tmp_path / "o.csv")]) == 2
    assert "--k must be a positive integer" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "missing" / "o.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main([*base[:1], "--train", str(tmp_path / "nope.csv"), "--out", "o.csv"]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err
