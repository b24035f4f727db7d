"""Random per-user 75/25 splits for tuning, the way the ms100k benchmark was split.

For every user, a random ``ratio`` of their rows (rounded) go to train and the rest to
test, as MS Recommenders' ``python_stratified_split`` does. Tune on splits of
``train.csv`` (never on ``test.csv``), or check the final settings on splits of the full
MovieLens-100k with other seeds.

    python bench/ms100k_split.py SOURCE OUT_DIR --seed 1 [--ratio 0.75]

SOURCE is a ``userID,itemID,rating,timestamp`` CSV or a RecBole ``.inter`` file (tab
separated, ``user_id:token item_id:token rating:float timestamp:float``). Writes
``OUT_DIR/train.csv`` and ``OUT_DIR/test.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["userID", "itemID", "rating", "timestamp"]


def read_source(path: Path) -> pd.DataFrame:
    """Ratings of ``path`` (benchmark CSV or RecBole ``.inter``) with the benchmark's columns."""
    if path.suffix == ".inter":
        df = pd.read_csv(path, sep="\t")
        df.columns = [c.split(":")[0] for c in df.columns]
        df = df.rename(columns={"user_id": "userID", "item_id": "itemID"})
    else:
        df = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SystemExit(f"{path}: missing column(s) {', '.join(missing)}")
    return df[COLUMNS].astype({"userID": "int64", "itemID": "int64"})


def stratified_split(
    df: pd.DataFrame, *, ratio: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user, a random ``round(ratio * n)`` rows to train and the rest to test."""
    rng = np.random.default_rng(seed)
    shuffled = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    rank = shuffled.groupby("userID").cumcount()
    size = shuffled.groupby("userID")["userID"].transform("size")
    in_train = rank < np.round(size * ratio)
    key = ["userID", "itemID"]
    return (
        shuffled[in_train].sort_values(key).reset_index(drop=True),
        shuffled[~in_train].sort_values(key).reset_index(drop=True),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--ratio", type=float, default=0.75)
    args = parser.parse_args()
    train, test = stratified_split(read_source(args.source), ratio=args.ratio, seed=args.seed)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    train.to_csv(args.out_dir / "train.csv", index=False)
    test.to_csv(args.out_dir / "test.csv", index=False)
    print(f"{args.out_dir}: {len(train)} train rows, {len(test)} test rows")


if __name__ == "__main__":
    main()
