"""The ranker's model (no Neo4j): its gate refuses a ranker that does not beat retrieval
order on the validation days (on numbers and on LightGBM fits of synthetic examples), its
metrics, and its place in a version's artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnn.artifacts import RANKER_FILE, ArtifactError, load_version, save_version
from gnn.gate import check_ranker
from gnn.idmap import IdMap
from gnn.metrics import grouped_ndcg, log_loss, roc_auc
from gnn.ranker import FEATURES, Ranker
from gnn.ranker_train import Examples, RankerConfig, fit_ranker, split_by_time

DAY = 86_400.0
SMALL = RankerConfig(rounds=40, min_data_in_leaf=20, min_validation_lists=50)


def examples(*, informative: str, lists: int = 1_500, size: int = 10, seed: int = 0) -> Examples:
    """``lists`` lists of ``size`` rows over ten days; a list's completed row (if any) has
    the largest value of the feature ``informative``; every other feature is noise."""
    rng = np.random.default_rng(seed)
    n = lists * size
    features = rng.normal(size=(n, len(FEATURES)))
    features[:, FEATURES.index("kind")] = rng.integers(0, 3, n)
    label = np.zeros(n, np.int8)
    column = FEATURES.index(informative)
    for g in range(lists):
        rows = slice(g * size, (g + 1) * size)
        if rng.random() < 0.6:
            best = g * size + int(np.argmax(features[rows, column]))
            label[best] = 1
    group = np.repeat(np.arange(lists), size)
    at = np.repeat(np.sort(rng.uniform(0, 10 * DAY, lists)), size)
    return Examples(features, label, group, at)


def test_a_ranker_that_does_not_beat_retrieval_order_is_refused() -> None:
    # Completion follows the retrieval score alone: the best a ranker can do is tie.
    ranker, record = fit_ranker(examples(informative="retrieval_score"), SMALL)
    assert ranker is None
    assert record["outcome"] == "refused"
    assert record["ranker_ndcg@10"] <= record["retrieval_ndcg@10"] == 1.0
    assert record["reason"] == (
        f"the ranker's ndcg@10 {record['ranker_ndcg@10']:.4f} does not beat retrieval order's "
        f"1.0000 on the same {record['lists']} validation lists"
    )


def test_a_ranker_that_beats_retrieval_order_is_kept() -> None:
    ranker, record = fit_ranker(examples(informative="genre_share"), SMALL)
    assert record["outcome"] == "passed", record["reason"]
    assert ranker is not None and record["ranker_ndcg@10"] > record["retrieval_ndcg@10"] + 0.2
    assert record["auc"] > 0.75
    # Validated on the last two days only, trained on the days before.
    assert record["validation_rows"] < record["train_rows"]
    assert record["reason"].startswith("the ranker's ndcg@10 ")
    p = ranker.predict(examples(informative="genre_share", seed=1).features)
    assert ((p >= 0) & (p <= 1)).all()


def test_the_ranker_predicts_what_lightgbm_predicts() -> None:
    # Ranker.predict walks the model's trees itself; Booster.predict is the reference.
    ranker, _ = fit_ranker(examples(informative="genre_share"), SMALL)
    assert ranker is not None
    rows = examples(informative="genre_share", lists=30, seed=1).features
    rows[::7, FEATURES.index("genre_share")] = np.nan  # missing values
    rows[::5, FEATURES.index("kind")] = np.nan  # no window
    rows[::11, FEATURES.index("kind")] = 7  # a kind the model never saw
    got = ranker.predict(np.asfortranarray(rows))  # not C-contiguous
    np.testing.assert_array_equal(got, ranker.booster.predict(rows))
    assert (got > 0).all() and (got < 1).all() and np.ptp(got) > 0.1
    assert ranker.predict(rows[:0]).shape == (0,)
    with pytest.raises(ValueError, match=r"features of shape \(3, 2\)"):
        ranker.predict(rows[:3, :2])


def test_the_trees_decide_categories_and_missing_values_as_lightgbm() -> None:
    # Completion depends on the kind (a categorical feature: splits on sets of kinds) and
    # on a feature that is often missing or zero; every decision must be LightGBM's.
    rng = np.random.default_rng(3)
    data = examples(informative="genre_share", seed=3)
    n = len(data.label)
    kind = rng.integers(0, 6, n).astype(float)
    kind[rng.random(n) < 0.1] = np.nan
    data.features[:, FEATURES.index("kind")] = kind
    data.features[rng.random(n) < 0.2, FEATURES.index("genre_share")] = np.nan
    data.features[rng.random(n) < 0.2, FEATURES.index("channel_share")] = 0.0
    p = 0.05 + 0.5 * np.isin(kind, [1, 4]) + 0.1 * np.isnan(kind)
    data.label[:] = rng.random(n) < p
    ranker, _ = fit_ranker(data, SMALL)
    assert ranker is not None
    assert "num_cat=0" in ranker.to_text() and "num_cat=1" in ranker.to_text()
    rows = rng.normal(size=(2_000, len(FEATURES)))
    rows[:, FEATURES.index("kind")] = rng.choice(
        [0, 1, 2, 3, 4, 5, 7, 40, -1, np.nan, 1.5, 1e10], 2_000
    )  # unseen, negative, fractional, beyond LightGBM's int
    rows[rng.random(2_000) < 0.2, FEATURES.index("genre_share")] = np.nan
    rows[rng.random(2_000) < 0.2, FEATURES.index("channel_share")] = 0.0
    np.testing.assert_array_equal(ranker.predict(rows), ranker.booster.predict(rows))


def test_too_few_validation_lists_refuse_the_ranker() -> None:
    assert check_ranker(
        {"lists": 12, "ranker_ndcg@10": 0.9, "retrieval_ndcg@10": 0.1}, min_lists=50
    ) == (
        False,
        "only 12 validation lists hold a completed program (minimum 50): too few to judge "
        "the ranker",
    )
    passed, reason = check_ranker(
        {"lists": 80, "ranker_ndcg@10": 0.5, "retrieval_ndcg@10": 0.5, "auc": 0.8}, min_lists=50
    )
    assert not passed and "does not beat" in reason


def test_the_split_validates_on_the_last_days() -> None:
    data = examples(informative="genre_share", lists=100)
    val = split_by_time(data, validation_days=2)
    assert data.at[val].min() >= data.at.max() - 2 * DAY > data.at[~val].max()


def test_ranking_metrics_by_hand() -> None:
    # List 0: its completion third of three (1/log2(4)); list 1: first; list 2: none (left out).
    ndcg, lists = grouped_ndcg([3, 2, 1, 1, 2, 5], [0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 2])
    assert lists == 2 and ndcg == pytest.approx((0.5 + 1 / np.log2(3)) / 2)
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert roc_auc([0.5, 0.5], [0, 1]) == 0.5  # a tie counts half
    assert log_loss([0.9, 0.1], [1, 0]) == pytest.approx(-np.log(0.9))


def test_the_ranker_is_versioned_with_the_embeddings(tmp_path: Path) -> None:
    ranker, _ = fit_ranker(examples(informative="genre_share"), SMALL)
    assert ranker is not None
    id_map = IdMap({"User": pd.Index(["u0"]), "Program": pd.Index(["p0"])})
    pairs = np.zeros((2, 0), np.int64)
    path = save_version(tmp_path, embeddings=np.ones((2, 3), np.float32), id_map=id_map,
                        train_positives=pairs, holdout=pairs, manifest={},
                        ranker_text=ranker.to_text())  # fmt: skip
    loaded = load_version(path)
    assert loaded.ranker_text is not None
    again = Ranker.from_text(loaded.ranker_text)
    rows = examples(informative="genre_share", seed=2).features[:50]
    assert np.array_equal(again.predict(rows), ranker.predict(rows))
    (path / RANKER_FILE).write_text(loaded.ranker_text.replace("tree", "tree ", 1))
    with pytest.raises(ArtifactError, match=r"ranker.txt does not match its checksum"):
        load_version(path)
    plain = save_version(
        tmp_path, embeddings=np.ones((2, 3), np.float32), id_map=id_map,
        train_positives=pairs, holdout=pairs, manifest={}, version="v2",
    )  # fmt: skip
    assert load_version(plain).ranker_text is None


def test_the_kernels_compiled_at_start_are_the_ones_serving_calls() -> None:
    # compile_kernels runs when the API loads a version with a ranker: the first ranked
    # rail must then find its kernels compiled for the very argument types it passes.
    from gnn.ranker import _fill, _walk, compile_kernels, ranking_features
    from tests.gnn.test_ranker_vectorised import random_case

    compile_kernels()
    compiled = (len(_fill.signatures), len(_walk.signatures))
    ranker, _ = fit_ranker(examples(informative="genre_share"), SMALL)
    assert ranker is not None
    _, candidates, table, user, audience, now = random_case(0)
    rows = table.rows_of(c.program_id for c in candidates)
    features = ranking_features(user, table, rows, [0.5] * len(rows), audience, now,
                                completion_threshold=0.9)  # fmt: skip
    ranker.predict(features)
    assert (len(_fill.signatures), len(_walk.signatures)) == compiled
