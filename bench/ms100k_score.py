"""Score a recommendations CSV against a test CSV with gnn.metrics (the ms100k protocol).

    python bench/ms100k_score.py RECS.csv TEST.csv [--k 10] [--train TRAIN.csv]

RECS has ``userID,itemID,prediction`` (higher is better); TEST has ``userID,itemID``. Every
user of TEST is scored; a user without recommendations counts as zero. With ``--train``,
catalogue coverage (over the items of TRAIN) and novelty are reported too. Prints one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from gnn.metrics import PAD, Ranking, catalogue_coverage, novelty, ranking_metrics


def top_k_matrix(recs: pd.DataFrame, users: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
    """``[len(users), k]`` item ids, best prediction first, ``-1`` padded."""
    ranked = recs.sort_values(["userID", "prediction"], ascending=[True, False], kind="stable")
    ranked = ranked.assign(rank=ranked.groupby("userID").cumcount())
    ranked = ranked[ranked["rank"] < k]
    row = pd.Series(np.arange(len(users)), index=users)
    ranked = ranked[ranked["userID"].isin(row.index)]
    out = np.full((len(users), k), PAD, dtype=np.int64)
    out[row[ranked["userID"]].to_numpy(), ranked["rank"].to_numpy()] = ranked["itemID"]
    return out


def score(recs_path: Path, test_path: Path, *, k: int, train_path: Path | None) -> dict[str, float]:
    recs = pd.read_csv(recs_path)
    test = pd.read_csv(test_path)
    for name, df, cols in (
        (recs_path, recs, ("userID", "itemID", "prediction")),
        (test_path, test, ("userID", "itemID")),
    ):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise SystemExit(f"{name}: missing column(s) {', '.join(missing)}")
    users = np.sort(test["userID"].unique())
    top = top_k_matrix(recs, users, k)
    rows = np.searchsorted(users, test["userID"].to_numpy())
    out = ranking_metrics(Ranking.from_arrays(top, rows, test["itemID"].to_numpy(), k=k))
    if train_path is not None:
        train = pd.read_csv(train_path)
        out["coverage"] = catalogue_coverage(top, catalogue_size=train["itemID"].nunique())
        counts = train.groupby("itemID")["userID"].nunique()
        popularity = dict(zip(counts.index.astype(int), counts.astype(int), strict=True))
        out["novelty_bits"] = novelty(
            top, popularity=popularity, num_users=train["userID"].nunique()
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recs", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--train", type=Path, default=None)
    args = parser.parse_args()
    result = score(args.recs, args.test, k=args.k, train_path=args.train)
    json.dump({name: round(v, 4) for name, v in result.items()}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
