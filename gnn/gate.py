"""The quality gate a retrained version passes before it may serve.

Two kinds of check, in this order:

1. **Sanity** of the candidate alone: every embedding finite; program (and user)
   embeddings not collapsed, i.e. not all pointing one way and not mostly
   near-identical pairs; its holdout metrics finite and computed on at least
   ``min_users`` users.
2. **No regression** against the serving version, when there is one: both are
   scored with the same NDCG@10 on the same held-out pairs. Those are the
   candidate's holdout pairs, restricted to users and programs both versions know
   and stripped of every pair the serving version was trained on, so neither
   version has seen a pair it is judged on. Both rank the same catalogue (the
   programs both know) and both skip the same pairs (what either was trained on,
   the user's known watches). The candidate is refused when its NDCG@10 there is
   more than ``margin`` below the serving version's (an absolute difference in
   NDCG points, e.g. 0.01), or when fewer than ``min_users`` users are comparable.

The serving version's *recorded* NDCG@10 is never used for the decision: it was
measured on another holdout, possibly of another graph.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from gnn.artifacts import ModelVersion
from gnn.metrics import Ranking, ndcg_at_k
from gnn.model import recommend

COLLAPSE_SPREAD = 1e-3
"""Below this total variance of the unit vectors (0: all one direction, ~1: spread out),
embeddings have collapsed. Trained LightGCN versions measure 0.5 and more."""
IDENTICAL_COSINE = 0.9999
"""Two vectors at least this close (cosine) are 'identical'."""
IDENTICAL_SHARE = 0.5
"""Refuse when more than this share of the vectors has an identical neighbour."""
IDENTICAL_SAMPLE = 2_000
"""Vectors sampled for the identical-neighbour check (it is quadratic)."""


@dataclass
class Comparison:
    """Candidate and serving version scored on the same held-out pairs."""

    serving_version: str
    users: int
    pairs: int
    candidate_ndcg: float
    serving_ndcg: float
    dropped_seen_by_serving: int
    dropped_unknown_to_serving: int


@dataclass
class GateDecision:
    """What the gate decided, and on what numbers (written to ``gate.json``)."""

    passed: bool
    reason: str
    margin: float
    min_users: int
    sanity: dict[str, float] = field(default_factory=dict)
    comparison: Comparison | None = None
    decided_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def outcome(self) -> str:
        return "passed" if self.passed else "refused"

    def to_record(self) -> dict[str, Any]:
        return {"outcome": self.outcome, **asdict(self)}


def check(
    candidate: ModelVersion,
    metrics: dict[str, Any],
    serving: ModelVersion | None,
    *,
    margin: float,
    min_users: int,
    k: int = 10,
) -> GateDecision:
    """Run the sanity checks, then (with a serving version) the regression check."""
    decision = GateDecision(passed=False, reason="", margin=margin, min_users=min_users)
    problem = sanity_problem(candidate, metrics, min_users=min_users, k=k, out=decision.sanity)
    if problem:
        decision.reason = problem
        return decision
    if serving is None:
        decision.passed = True
        decision.reason = "sanity checks passed; no serving version to compare with"
        return decision
    c = compare(candidate, serving, k=k)
    decision.comparison = c
    if c.users < min_users:
        decision.reason = (
            f"only {c.users} held-out users can be compared with serving version "
            f"{serving.version} (minimum {min_users}): the graphs differ too much; "
            "promote a version by hand if it is right"
        )
    elif c.candidate_ndcg < c.serving_ndcg - margin:
        decision.reason = (
            f"ndcg@{k} {c.candidate_ndcg:.4f} is more than {margin} below serving version "
            f"{serving.version}'s {c.serving_ndcg:.4f} on the same {c.users} held-out users"
        )
    else:
        decision.passed = True
        decision.reason = (
            f"ndcg@{k} {c.candidate_ndcg:.4f} vs serving version {serving.version}'s "
            f"{c.serving_ndcg:.4f} on the same {c.users} held-out users (margin {margin})"
        )
    return decision


def sanity_problem(
    model: ModelVersion,
    metrics: dict[str, Any],
    *,
    min_users: int,
    k: int = 10,
    out: dict[str, float] | None = None,
) -> str | None:
    """Why the version is not sane, or None. Measured values go into ``out``."""
    out = {} if out is None else out
    emb = model.embeddings
    bad = int((~np.isfinite(emb)).sum())
    if bad:
        return f"embeddings hold {bad} NaN or infinite values"
    for label in ("Program", "User"):
        rows = model.id_map.label_rows(label)
        vectors = emb[rows]
        spread = unit_spread(vectors)
        share = identical_share(vectors)
        out[f"{label.lower()}_spread"] = spread
        out[f"{label.lower()}_identical_share"] = share
        if spread < COLLAPSE_SPREAD:
            return (
                f"{label} embeddings collapsed: spread {spread:.2e} < {COLLAPSE_SPREAD} "
                "(they all point the same way)"
            )
        if share > IDENTICAL_SHARE:
            return (
                f"{label} embeddings collapsed: {share:.0%} have a near-identical neighbour "
                f"(cosine >= {IDENTICAL_COSINE})"
            )
    ndcg = metrics.get(f"ndcg@{k}")
    if not isinstance(ndcg, int | float) or not math.isfinite(ndcg):
        return f"holdout ndcg@{k} is {ndcg!r}, not a finite number"
    users = int(metrics.get("users", 0))
    out["holdout_users"] = users
    if users < min_users:
        return f"only {users} held-out users were evaluated (minimum {min_users})"
    return None


def unit_spread(vectors: npt.NDArray[np.float32]) -> float:
    """Total variance of the L2-normalised rows: 0 when all share one direction.

    Zero vectors count as all alike (spread 0).
    """
    if len(vectors) < 2:
        return 1.0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if float(norms.max()) < 1e-12:
        return 0.0
    unit = vectors / np.maximum(norms, 1e-12)
    return float(unit.var(axis=0).sum())


def identical_share(vectors: npt.NDArray[np.float32], *, seed: int = 0) -> float:
    """Share of (sampled) rows whose nearest other row has cosine >= IDENTICAL_COSINE."""
    if len(vectors) < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    if len(vectors) > IDENTICAL_SAMPLE:
        vectors = vectors[rng.choice(len(vectors), IDENTICAL_SAMPLE, replace=False)]
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    cos = unit @ unit.T
    np.fill_diagonal(cos, -np.inf)
    return float((cos.max(axis=1) >= IDENTICAL_COSINE).mean())


def compare(candidate: ModelVersion, serving: ModelVersion, *, k: int = 10) -> Comparison:
    """Both versions' NDCG@k on the candidate's held-out pairs neither was trained on."""
    cm, sm = candidate.id_map, serving.id_map
    hold = _pairs_as_ids(candidate, candidate.holdout)
    known = (sm.rows("User", hold["user"]) >= 0) & (sm.rows("Program", hold["program"]) >= 0)
    hold_known = hold[known]
    seen = _pairs_as_ids(serving, serving.train_positives)
    key = ["user", "program"]
    merged = hold_known.merge(seen.drop_duplicates(), on=key, how="left", indicator=True)
    fresh = merged.loc[merged["_merge"] == "left_only", key].reset_index(drop=True)
    exclude = pd.concat([_pairs_as_ids(candidate, candidate.train_positives), seen])
    programs = cm.ids["Program"].intersection(sm.ids["Program"])
    scores = {}
    for name, model in (("candidate", candidate), ("serving", serving)):
        scores[name] = _ndcg_on(model, fresh, exclude, programs, k=k)
    return Comparison(
        serving_version=serving.version,
        users=int(fresh["user"].nunique()),
        pairs=len(fresh),
        candidate_ndcg=scores["candidate"],
        serving_ndcg=scores["serving"],
        dropped_seen_by_serving=int(len(hold_known) - len(fresh)),
        dropped_unknown_to_serving=int((~known).sum()),
    )


def _pairs_as_ids(model: ModelVersion, pairs: npt.NDArray[np.int64]) -> pd.DataFrame:
    """(user row, program row) pairs of ``model`` as external ids."""
    m = model.id_map
    users = m.ids["User"][pairs[0] - m.offsets["User"]]
    programs = m.ids["Program"][pairs[1] - m.offsets["Program"]]
    return pd.DataFrame({"user": np.asarray(users), "program": np.asarray(programs)})


def _ndcg_on(
    model: ModelVersion,
    holdout: pd.DataFrame,
    exclude: pd.DataFrame,
    programs: pd.Index,
    *,
    k: int,
) -> float:
    if holdout.empty:
        return float("nan")
    m = model.id_map
    user_ids = pd.Index(holdout["user"].unique())
    users = m.rows("User", user_ids)
    ex_u, ex_p = m.rows("User", exclude["user"]), m.rows("Program", exclude["program"])
    ok = (ex_u >= 0) & (ex_p >= 0)
    top, _ = recommend(
        torch.as_tensor(model.embeddings), users=torch.as_tensor(users),
        programs=torch.as_tensor(m.rows("Program", programs)),
        exclude=torch.as_tensor(np.stack([ex_u[ok], ex_p[ok]])), k=k, extra=model.extra(),
    )  # fmt: skip
    rows = user_ids.get_indexer(pd.Index(holdout["user"]))
    ranking = Ranking.from_arrays(top.numpy(), rows, m.rows("Program", holdout["program"]), k=k)
    return ndcg_at_k(ranking)


def check_ranker(metrics: dict[str, Any], *, min_lists: int, k: int = 10) -> tuple[bool, str]:
    """Whether a version keeps its ranker, and why: its completion-labelled NDCG@k on the
    validation lists must beat retrieval order's on the same lists (``metrics``:
    :func:`gnn.ranker_train.holdout_metrics`), measured on ``min_lists`` lists or more."""
    lists = int(metrics.get("lists", 0))
    ranker, retrieval = metrics.get(f"ranker_ndcg@{k}"), metrics.get(f"retrieval_ndcg@{k}")
    if lists < min_lists:
        return False, (
            f"only {lists} validation lists hold a completed program (minimum {min_lists}): "
            "too few to judge the ranker"
        )
    if (
        not isinstance(ranker, float)
        or not isinstance(retrieval, float)
        or not (math.isfinite(ranker) and math.isfinite(retrieval))
    ):
        return False, (
            f"ndcg@{k} of the ranker ({ranker}) or of retrieval order ({retrieval}) "
            "is not a finite number"
        )
    if ranker <= retrieval:
        return False, (
            f"the ranker's ndcg@{k} {ranker:.4f} does not beat retrieval order's "
            f"{retrieval:.4f} on the same {lists} validation lists"
        )
    return True, (
        f"the ranker's ndcg@{k} {ranker:.4f} beats retrieval order's {retrieval:.4f} on the "
        f"same {lists} validation lists (AUC {metrics.get('auc', float('nan')):.4f})"
    )
