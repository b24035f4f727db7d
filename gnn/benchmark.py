"""The MovieLens-style benchmark job: interactions CSV in, top-k recommendations CSV out.

Input: a CSV with integer columns ``userID`` and ``itemID`` (other columns, such as
``rating`` and ``timestamp``, are ignored): every row is a positive interaction. Output:
``userID,itemID,prediction`` with, for every user of the input, the k best items that user
has no row for, best first (a higher prediction is better).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gnn.data import TrainGraph
from gnn.metrics import PAD
from gnn.model import recommend
from gnn.train import FitResult, TrainConfig, fit

USER_COL = "userID"
ITEM_COL = "itemID"
PREDICTION_COL = "prediction"


def read_interactions(path: Path) -> pd.DataFrame:
    """``userID``, ``itemID`` of ``path`` as int64 columns, one row per interaction.

    Raises:
        ValueError: naming the file, line and column of the first bad value, or the
            missing columns.
    """
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as e:
        raise ValueError(f"{path}: no such file") from e
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a readable CSV ({e})") from e
    missing = [c for c in (USER_COL, ITEM_COL) if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, raw.columns)) or 'none'}"
        )
    if raw.empty:
        raise ValueError(f"{path}: no interactions (only a header)")
    out = {}
    for col in (USER_COL, ITEM_COL):
        text = raw[col].str.strip()
        bad = ~text.str.fullmatch(r"[+-]?\d{1,18}")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{path}, line {i + 2}, column {col}: {raw[col].iloc[i]!r} is not an integer id"
            )
        out[col] = text.astype(np.int64)
    return pd.DataFrame(out)


def interactions_graph(df: pd.DataFrame) -> tuple[TrainGraph, np.ndarray, np.ndarray]:
    """The bipartite user-item graph of ``df``, with the original ids of users and items.

    Returns:
        ``(graph, user_ids, item_ids)``: user node ``i`` is ``user_ids[i]``, program node
        ``len(user_ids) + j`` is ``item_ids[j]`` (both sorted ascending).
    """
    user_codes, user_ids = pd.factorize(df[USER_COL], sort=True)
    item_codes, item_ids = pd.factorize(df[ITEM_COL], sort=True)
    graph = TrainGraph.bipartite(
        torch.from_numpy(user_codes.astype(np.int64)),
        torch.from_numpy(item_codes.astype(np.int64)),
        num_users=len(user_ids),
        num_programs=len(item_ids),
    )
    return graph, np.asarray(user_ids), np.asarray(item_ids)


def recommend_interactions(
    df: pd.DataFrame, *, k: int, config: TrainConfig | None = None, progress: bool = True
) -> tuple[pd.DataFrame, FitResult]:
    """Train on ``df`` and return the top-k unseen items of every user, and the fit."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    graph, user_ids, item_ids = interactions_graph(df)
    result = fit(graph, config, progress=progress)
    nodes, scores = recommend(
        result.embeddings,
        users=graph.user_nodes,
        programs=graph.program_nodes,
        exclude=graph.positives,
        k=k,
        extra=result.extra(graph),
    )
    nodes_np, scores_np = nodes.numpy(), scores.numpy()
    keep = nodes_np != PAD
    rows = np.repeat(np.arange(len(user_ids)), k).reshape(-1, k)[keep]
    items = nodes_np[keep] - len(user_ids)
    recs = pd.DataFrame(
        {
            USER_COL: user_ids[rows],
            ITEM_COL: item_ids[items],
            PREDICTION_COL: scores_np[keep].astype(np.float64),
        }
    )
    return recs, result


def write_recommendations(recs: pd.DataFrame, path: Path) -> None:
    """Write ``userID,itemID,prediction`` (predictions rounded to 6 decimals)."""
    recs.to_csv(path, index=False, float_format="%.6f")
