"""Offline recommendation metrics: the one definition used by training, evaluation and benchmarks.

Ranking metrics follow the Microsoft Recommenders conventions
(``recommenders.evaluation.python_evaluation``) with binary relevance:

* ``precision@k`` = hits in the top k / k (k, not the list length: a list shorter than k
  cannot reach 1);
* ``recall@k`` = hits in the top k / number of relevant programs;
* ``ndcg@k`` = DCG / ideal DCG with gain 1 at rank r discounted by ``log2(1 + r)``; the ideal
  DCG puts ``min(n_relevant, k)`` hits first. (MS Recommenders defaults to a natural-log
  discount; the base cancels in the ratio, so the numbers are the same.);
* ``map@k`` = sum over hits of precision at the hit's rank / ``min(n_relevant, k)``, which is
  what MS Recommenders' ``map_at_k`` computes (its ``map`` divides by ``n_relevant``
  instead, which penalises users with more than k relevant programs);
* ``hit_rate@k`` = 1 if the top k holds at least one relevant program, else 0.

Every mean is over the users that have at least one relevant program, which is what MS
Recommenders does when every such user has a list. A user with relevant programs and no
list (a row of padding) counts as zero; MS Recommenders would drop such a user from
precision, recall and MAP.

Callers rank programs themselves and remove the ones seen in training *before* passing the
lists: these functions never filter. Lists are rows of a 2-D integer array; ``-1`` pads a
row that has fewer than k programs and never counts as a hit.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PAD = -1
"""Program id that pads a recommendation row shorter than k."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
"""Names of the per-user ranking metrics, in report order (suffixed with ``@k`` in reports)."""


@dataclass(frozen=True)
class Ranking:
    """Which of each user's top-k recommendations are relevant.

    Build it with :meth:`from_arrays` (fast, any size) or :meth:`from_lists` (small cases).

    Attributes:
        hits (np.ndarray): ``[num_users, k]`` booleans, ``hits[u, r]`` is True when the
            program at rank ``r + 1`` of user ``u``'s list is relevant.
        num_relevant (np.ndarray): ``[num_users]`` number of relevant programs per user.
    """

    hits: BoolArray
    num_relevant: IntArray

    @property
    def k(self) -> int:
        return int(self.hits.shape[1])

    @property
    def evaluated(self) -> BoolArray:
        """Users that enter the means: those with at least one relevant program."""
        return self.num_relevant > 0

    @classmethod
    def from_arrays(
        cls,
        recommended: npt.ArrayLike,
        relevant_rows: npt.ArrayLike,
        relevant_items: npt.ArrayLike,
        *,
        k: int | None = None,
    ) -> Ranking:
        """Match top-k lists against relevant (row, program) pairs, vectorised.

        Args:
            recommended (array-like): ``[num_users, >= k]`` program ids, best first, ``-1``
                padding. Row ``u`` is the list of user ``u``.
            relevant_rows (array-like): ``[P]`` row (user position) of each relevant pair.
            relevant_items (array-like): ``[P]`` program id of each relevant pair. Duplicate
                pairs count once.
            k (int, optional): cut-off; the number of columns of ``recommended`` when None.
        """
        rec = np.asarray(recommended, dtype=np.int64)
        if rec.ndim != 2:
            raise ValueError(f"recommended must be 2-D [users, k], got shape {rec.shape}")
        k = rec.shape[1] if k is None else k
        if not 0 < k <= rec.shape[1]:
            raise ValueError(f"k={k} must be in 1..{rec.shape[1]} (columns of recommended)")
        rec = rec[:, :k]
        rows = np.asarray(relevant_rows, dtype=np.int64)
        items = np.asarray(relevant_items, dtype=np.int64)
        if rows.shape != items.shape or rows.ndim != 1:
            raise ValueError("relevant_rows and relevant_items must be 1-D of the same length")
        num_users = rec.shape[0]
        if rows.size and (rows.min() < 0 or rows.max() >= num_users):
            raise ValueError(f"relevant_rows must be in 0..{num_users - 1} (rows of recommended)")
        # One integer key per (row, program) pair: dense program codes keep keys small.
        codes, inverse = np.unique(np.concatenate([items, rec.ravel()]), return_inverse=True)
        width = np.int64(codes.size + 1)
        truth_keys = np.unique(rows * width + inverse[: items.size])
        user_keys = np.repeat(np.arange(num_users, dtype=np.int64), k) * width
        rec_keys = user_keys + inverse[items.size :]
        hits = np.isin(rec_keys, truth_keys).reshape(num_users, k) & (rec != PAD)
        num_relevant = np.bincount(truth_keys // width, minlength=num_users).astype(np.int64)
        return cls(hits=hits, num_relevant=num_relevant)

    @classmethod
    def from_lists(
        cls,
        recommended: Sequence[Sequence[int]],
        relevant: Sequence[Iterable[int]],
        *,
        k: int,
    ) -> Ranking:
        """Same as :meth:`from_arrays` for Python lists: ``relevant[u]`` holds user u's programs."""
        if len(recommended) != len(relevant):
            raise ValueError(
                f"recommended has {len(recommended)} users but relevant has {len(relevant)}"
            )
        padded = np.full((len(recommended), k), PAD, dtype=np.int64)
        for u, row in enumerate(recommended):
            head = list(row)[:k]
            padded[u, : len(head)] = head
        pairs = [(u, i) for u, items in enumerate(relevant) for i in set(items)]
        rows = np.array([p[0] for p in pairs], dtype=np.int64)
        items = np.array([p[1] for p in pairs], dtype=np.int64)
        return cls.from_arrays(padded, rows, items, k=k)


# ------------------------------------------------------------------ per-user ranking metrics
def _hit_counts(r: Ranking) -> FloatArray:
    counts: FloatArray = r.hits.sum(axis=1, dtype=np.float64)
    return counts


def precision_per_user(r: Ranking) -> FloatArray:
    return _hit_counts(r) / r.k


def recall_per_user(r: Ranking) -> FloatArray:
    return _hit_counts(r) / np.maximum(r.num_relevant, 1)


def ndcg_per_user(r: Ranking) -> FloatArray:
    discount = 1.0 / np.log2(np.arange(2, r.k + 2, dtype=np.float64))
    dcg: FloatArray = (r.hits * discount).sum(axis=1)
    ideal: FloatArray = np.concatenate([[0.0], np.cumsum(discount)])[
        np.minimum(r.num_relevant, r.k)
    ]
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


def map_per_user(r: Ranking) -> FloatArray:
    precision_at_rank = np.cumsum(r.hits, axis=1) / np.arange(1, r.k + 1)
    summed: FloatArray = (precision_at_rank * r.hits).sum(axis=1)
    out: FloatArray = summed / np.maximum(np.minimum(r.num_relevant, r.k), 1)
    return out


def hit_rate_per_user(r: Ranking) -> FloatArray:
    return (_hit_counts(r) > 0).astype(np.float64)


_PER_USER = {
    "precision": precision_per_user,
    "recall": recall_per_user,
    "ndcg": ndcg_per_user,
    "map": map_per_user,
    "hit_rate": hit_rate_per_user,
}


def _mean(values: FloatArray, mask: BoolArray) -> float:
    return float(values[mask].mean()) if mask.any() else 0.0


def precision_at_k(r: Ranking) -> float:
    """Mean precision@k over evaluated users."""
    return _mean(precision_per_user(r), r.evaluated)


def recall_at_k(r: Ranking) -> float:
    """Mean recall@k over evaluated users."""
    return _mean(recall_per_user(r), r.evaluated)


def ndcg_at_k(r: Ranking) -> float:
    """Mean nDCG@k (binary gain, log2 discount) over evaluated users."""
    return _mean(ndcg_per_user(r), r.evaluated)


def map_at_k(r: Ranking) -> float:
    """Mean average precision@k, normalised by ``min(n_relevant, k)`` (MS ``map_at_k``)."""
    return _mean(map_per_user(r), r.evaluated)


def hit_rate_at_k(r: Ranking) -> float:
    """Share of evaluated users with at least one relevant program in their top k."""
    return _mean(hit_rate_per_user(r), r.evaluated)


def ranking_metrics(r: Ranking) -> dict[str, float]:
    """All ranking metrics, keyed ``"ndcg@10"`` etc., plus ``"users"`` (users evaluated)."""
    out = {f"{name}@{r.k}": _mean(fn(r), r.evaluated) for name, fn in _PER_USER.items()}
    out["users"] = float(r.evaluated.sum())
    return out


def metrics_by_group(r: Ranking, groups: Sequence[Hashable]) -> dict[Hashable, dict[str, float]]:
    """Ranking metrics per group of users (for example per bundle).

    Args:
        r (Ranking): the ranking of every user.
        groups (sequence): ``groups[u]`` is the group of row ``u``; a user in several groups
            is represented by several rows.

    Returns:
        ``{group: ranking_metrics of that group's rows}``, groups in first-seen order. A
        group whose users have no relevant program reports zeros and ``users == 0``.
    """
    if len(groups) != r.hits.shape[0]:
        raise ValueError(f"groups has {len(groups)} entries but the ranking has {r.hits.shape[0]}")
    labels = np.asarray(list(groups), dtype=object)
    out: dict[Hashable, dict[str, float]] = {}
    for g in dict.fromkeys(groups):
        mask = labels == g
        out[g] = ranking_metrics(Ranking(hits=r.hits[mask], num_relevant=r.num_relevant[mask]))
    return out


# ------------------------------------------------------------------ beyond accuracy
def catalogue_coverage(recommended: npt.ArrayLike, *, catalogue_size: int) -> float:
    """Share of the catalogue that appears in at least one list (padding ignored)."""
    if catalogue_size <= 0:
        raise ValueError(f"catalogue_size must be positive, got {catalogue_size}")
    rec = np.asarray(recommended, dtype=np.int64)
    return float(np.unique(rec[rec != PAD]).size / catalogue_size)


def novelty(recommended: npt.ArrayLike, *, popularity: Mapping[int, int], num_users: int) -> float:
    """Mean self-information ``-log2(share)`` of the recommended programs, in bits.

    ``share`` is the fraction of the ``num_users`` training users who interacted with the
    program (``popularity[program]``). A program nobody interacted with counts as if one
    user had, so that its novelty is finite (``log2(num_users)``, the maximum). Higher means
    less mainstream recommendations. Padding is ignored; 0.0 when there is nothing to score.
    """
    if num_users <= 0:
        raise ValueError(f"num_users must be positive, got {num_users}")
    rec = np.asarray(recommended, dtype=np.int64)
    rec = rec[rec != PAD]
    if rec.size == 0:
        return 0.0
    ids, inverse = np.unique(rec, return_inverse=True)
    counts = np.array([max(popularity.get(int(i), 0), 1) for i in ids], dtype=np.float64)
    info = -np.log2(np.minimum(counts / num_users, 1.0))
    return float(info[inverse].mean())


def intra_list_diversity(
    recommended: npt.ArrayLike, *, genres: Mapping[int, Iterable[str]]
) -> float:
    """Mean pairwise genre distance inside each list, averaged over lists.

    The distance of two programs is ``1 - Jaccard(genres_a, genres_b)``: 0 for the same
    genre set, 1 for disjoint sets. Two programs without any genre count as identical
    (distance 0); a program missing from ``genres`` has no genre. Padding is ignored, and
    lists with fewer than two programs are left out. 0.0 when no list qualifies.
    """
    rec = np.asarray(recommended, dtype=np.int64)
    if rec.ndim != 2:
        raise ValueError(f"recommended must be 2-D [users, k], got shape {rec.shape}")
    names = sorted({g for gs in genres.values() for g in gs})
    col = {g: j for j, g in enumerate(names)}
    ids, inverse = np.unique(rec, return_inverse=True)
    onehot = np.zeros((ids.size, len(names)), dtype=np.float64)
    for row, pid in enumerate(ids):
        for g in genres.get(int(pid), ()):
            onehot[row, col[g]] = 1.0
    valid = rec != PAD
    g = onehot[inverse.reshape(rec.shape)] * valid[..., None]  # [U, k, genres]
    inter = np.einsum("ukg,ulg->ukl", g, g)
    size = g.sum(axis=2)
    union = size[:, :, None] + size[:, None, :] - inter
    jaccard = np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
    pair = valid[:, :, None] & valid[:, None, :]
    pair &= ~np.eye(rec.shape[1], dtype=bool)[None]
    n_pairs = pair.sum(axis=(1, 2))
    keep = n_pairs > 0
    if not keep.any():
        return 0.0
    per_list = ((1.0 - jaccard) * pair).sum(axis=(1, 2))[keep] / n_pairs[keep]
    return float(per_list.mean())


# ------------------------------------------------------------------ ranking stage (P(complete))
def grouped_ndcg(
    scores: npt.ArrayLike, labels: npt.ArrayLike, groups: npt.ArrayLike, *, k: int = 10
) -> tuple[float, int]:
    """Mean NDCG@k of the lists ``groups`` form, each ordered by ``scores`` (higher first;
    ties: the order given), with binary relevance ``labels``; and how many lists have a
    relevant item (the others are left out of the mean, as users are above)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64) > 0
    g = np.asarray(groups)
    order = np.lexsort((np.arange(len(s)), -np.nan_to_num(s, nan=-np.inf), g))
    g_sorted, y_sorted = g[order], y[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    position = np.arange(len(g_sorted)) - np.repeat(starts, np.diff(np.r_[starts, len(g_sorted)]))
    gain = np.where(y_sorted & (position < k), 1.0 / np.log2(position + 2.0), 0.0)
    dcg = np.add.reduceat(gain, starts) if len(starts) else np.zeros(0)
    relevant = np.add.reduceat(y_sorted.astype(np.int64), starts) if len(starts) else np.zeros(0)
    discounts = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))]
    ideal = discounts[np.minimum(relevant, k)]
    mask = relevant > 0
    if not mask.any():
        return float("nan"), 0
    return float((dcg[mask] / ideal[mask]).mean()), int(mask.sum())


def roc_auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve: the chance a positive scores above a negative (ties: half)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64) > 0
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # Average ranks over ties.
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    average = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def log_loss(probabilities: npt.ArrayLike, labels: npt.ArrayLike, *, eps: float = 1e-15) -> float:
    """Mean binary cross-entropy of ``probabilities`` (clipped to [eps, 1 - eps])."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), eps, 1 - eps)
    y = np.asarray(labels, dtype=np.float64) > 0
    return float(-np.where(y, np.log(p), np.log(1 - p)).mean()) if len(p) else float("nan")
