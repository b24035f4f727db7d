"""The serving model reads a version whose last embedding column is the program bias."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api.model import RecentWatch, ServingModel
from gnn.artifacts import ModelVersion
from gnn.idmap import IdMap


def version(embeddings: list[list[float]], *, bias: bool) -> ServingModel:
    model = ModelVersion(
        path=Path(),
        manifest={"version": "v1", "train_config": {"program_bias": bias}},
        embeddings=np.array(embeddings, dtype=np.float32),
        id_map=IdMap({"User": pd.Index(["u1"]), "Program": pd.Index(["p1", "p2", "p3"])}),
        train_positives=np.empty((0, 2), np.int64),
        holdout=np.empty((0, 2), np.int64),
    )
    return ServingModel.from_version(model)


ROWS = [
    [1.0, 0.0, 1.0],  # u1: taste (1, 0), then the constant 1 that meets the bias
    [1.0, 0.0, -2.0],  # p1: to u1's taste, unpopular
    [0.0, 1.0, 5.0],  # p2: not to u1's taste, very popular
    [0.9, 0.1, 0.0],  # p3: close to p1
]


def test_scores_add_the_bias_and_similarity_ignores_it() -> None:
    model = version(ROWS, bias=True)
    assert model.for_user("u1", 3) == [
        ("p2", pytest.approx(5.0)),
        ("p3", pytest.approx(0.9)),
        ("p1", pytest.approx(-1.0)),
    ]
    # Cosine over the taste columns only: p3 is p1's neighbour whatever p2's popularity.
    assert model.similar("p1", 1)[0][0] == "p3"
    assert model.similarity("p1", "p2") == pytest.approx(0.0)


def test_a_version_without_bias_scores_every_column() -> None:
    model = version(ROWS, bias=False)
    assert model.for_user("u1", 1) == [("p2", pytest.approx(5.0))]
    assert model.similarity("p1", "p2") == pytest.approx(-10 / np.sqrt(5 * 26))


def test_fold_in_with_a_bias_has_the_length_of_trained_users() -> None:
    model = version(ROWS, bias=True)
    folded = model.fold_in([RecentWatch("p1", completion=1.0, last_ts=None)])
    assert folded is not None
    vector, used = folded
    assert used == 1
    assert np.linalg.norm(vector) == pytest.approx(1.0)  # u1's taste vector has length 1


def test_a_ranker_fitted_on_other_features_leaves_the_version_in_retrieval_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import lightgbm

    from gnn.ranker import FEATURES

    rng = np.random.default_rng(0)
    older = [*FEATURES[:-1]]  # as a version trained before the last feature came
    booster = lightgbm.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 5},
                             lightgbm.Dataset(rng.normal(size=(200, len(older))),
                                              rng.integers(0, 2, 200), feature_name=older),
                             num_boost_round=2)  # fmt: skip
    model = ModelVersion(
        path=Path(), manifest={"version": "v-old-ranker"},
        embeddings=np.array(ROWS, dtype=np.float32),
        id_map=IdMap({"User": pd.Index(["u1"]), "Program": pd.Index(["p1", "p2", "p3"])}),
        train_positives=np.empty((0, 2), np.int64), holdout=np.empty((0, 2), np.int64),
        ranker_text=booster.model_to_string(),
    )  # fmt: skip
    with caplog.at_level("WARNING", logger="api.model"):
        served = ServingModel.from_version(model)
    assert served.ranker is None and served.version == "v-old-ranker"
    assert "v-old-ranker serves in retrieval order" in caplog.text
    assert "user_watches" in caplog.text  # the message names the features that differ
