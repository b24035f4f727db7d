from __future__ import annotations

import math

import numpy as np
import pytest

from gnn.metrics import (
    PAD,
    Ranking,
    catalogue_coverage,
    hit_rate_at_k,
    intra_list_diversity,
    map_at_k,
    metrics_by_group,
    ndcg_at_k,
    novelty,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)

D2, D3 = 1 / math.log2(3), 1 / math.log2(4)  # discounts at ranks 2 and 3


def test_one_user_every_ranking_metric_by_hand() -> None:
    # Hits at ranks 1 and 3 out of 3 relevant programs.
    r = Ranking.from_lists([[10, 20, 30]], [{10, 30, 99}], k=3)
    assert precision_at_k(r) == pytest.approx(2 / 3)
    assert recall_at_k(r) == pytest.approx(2 / 3)
    assert ndcg_at_k(r) == pytest.approx((1 + D3) / (1 + D2 + D3))
    assert map_at_k(r) == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert hit_rate_at_k(r) == 1.0


def test_map_and_ndcg_normalise_by_min_relevant_k() -> None:
    # 5 relevant, k = 2, both in the list: a perfect list scores 1 (MS map_at_k, not map).
    r = Ranking.from_lists([[1, 2]], [{1, 2, 3, 4, 5}], k=2)
    assert map_at_k(r) == pytest.approx(1.0)
    assert ndcg_at_k(r) == pytest.approx(1.0)
    assert recall_at_k(r) == pytest.approx(2 / 5)
    # One relevant at rank 2: ideal DCG is a hit at rank 1.
    r = Ranking.from_lists([[7, 8, 9]], [{8}], k=3)
    assert ndcg_at_k(r) == pytest.approx(D2)
    assert map_at_k(r) == pytest.approx(1 / 2)


def test_means_skip_users_without_relevant_and_padding_never_hits() -> None:
    r = Ranking.from_lists([[1, 2], [3], [5, 6]], [{2}, {4, 5}, set()], k=2)
    # user 0: hit at rank 2; user 1: short list, counted with zero hits; user 2: left out.
    assert ranking_metrics(r)["users"] == 2
    assert precision_at_k(r) == pytest.approx((1 / 2 + 0) / 2)
    assert hit_rate_at_k(r) == pytest.approx(0.5)
    assert r.num_relevant.tolist() == [1, 2, 0]


def test_from_arrays_matches_from_lists_and_counts_duplicates_once() -> None:
    rng = np.random.default_rng(0)
    rec = rng.integers(0, 30, size=(50, 10))
    rows = rng.integers(0, 50, size=400)
    items = rng.integers(0, 30, size=400)
    fast = Ranking.from_arrays(rec, rows, items)
    relevant = [set(items[rows == u].tolist()) for u in range(50)]
    slow = Ranking.from_lists(rec.tolist(), relevant, k=10)
    assert np.array_equal(fast.hits, slow.hits)
    assert np.array_equal(fast.num_relevant, slow.num_relevant)
    assert ranking_metrics(Ranking.from_arrays(rec, rows, items, k=5))["ndcg@5"] > 0


def test_bad_shapes_are_rejected_with_the_argument_name() -> None:
    with pytest.raises(ValueError, match="recommended must be 2-D"):
        Ranking.from_arrays([1, 2], [0], [1])
    with pytest.raises(ValueError, match="relevant_rows must be in"):
        Ranking.from_arrays([[1, 2]], [3], [1])
    with pytest.raises(ValueError, match="k=3"):
        Ranking.from_arrays([[1, 2]], [0], [1], k=3)


def test_metrics_by_group() -> None:
    r = Ranking.from_lists([[1], [2], [3]], [{1}, {9}, {3}], k=1)
    out = metrics_by_group(r, ["basic", "premium", "basic"])
    assert list(out) == ["basic", "premium"]
    assert out["basic"]["precision@1"] == 1.0 and out["basic"]["users"] == 2
    assert out["premium"]["precision@1"] == 0.0
    with pytest.raises(ValueError, match="groups has 2 entries"):
        metrics_by_group(r, ["a", "b"])


def test_catalogue_coverage_and_novelty() -> None:
    rec = [[1, 2], [2, PAD]]
    assert catalogue_coverage(rec, catalogue_size=8) == pytest.approx(2 / 8)
    # 8 users: program 1 seen by 4 (1 bit), program 2 by 2 (2 bits); 3 is unseen (log2 8).
    assert novelty(rec, popularity={1: 4, 2: 2}, num_users=8) == pytest.approx((1 + 2 + 2) / 3)
    assert novelty([[3]], popularity={}, num_users=8) == pytest.approx(3.0)
    assert novelty([[PAD]], popularity={}, num_users=8) == 0.0


def test_intra_list_diversity() -> None:
    genres = {1: ["Drama"], 2: ["Drama", "Crime"], 3: ["Comedy"]}
    # pairs of [1, 2, 3]: 1-2 Jaccard 1/2, 1-3 and 2-3 disjoint -> distances 0.5, 1, 1
    assert intra_list_diversity([[1, 2, 3]], genres=genres) == pytest.approx(2.5 / 3)
    # same genres: 0; a single-program list is left out of the mean
    assert intra_list_diversity([[1, 1], [3, PAD]], genres=genres) == pytest.approx(0.0)
    # programs without genres count as identical
    assert intra_list_diversity([[7, 8]], genres=genres) == pytest.approx(0.0)
