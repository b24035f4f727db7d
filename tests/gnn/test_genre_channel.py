"""The genre/channel term: hand-computed shares and scores, the fit's choice of its
weight, and the same scores wherever a version is served (artifact, offline lists, API)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from api.model import RecentWatch, ServingModel
from gnn.artifacts import ArtifactError, ModelVersion, load_version, save_version
from gnn.candidates import user_candidates
from gnn.data import TrainGraph
from gnn.genre_channel import (
    BETAS,
    EPSILON,
    FILE,
    GENRE_WEIGHT,
    GENRE_WEIGHTS,
    GenreChannel,
    program_side,
)
from gnn.idmap import IdMap
from gnn.model import recommend
from gnn.train import HALF_LIVES_DAYS, TrainConfig, fit, genre_channel_term

# Nodes: programs 0-2, genres 3-4, channels 5-6.
# p0: genre 3, channel 5; p1: genres 3 and 4, channel 6; p2: genre 4, no channel.
EDGES = torch.tensor([[0, 1, 1, 2, 0, 6], [3, 3, 4, 4, 5, 1]])  # (6, 1): the other way round
PROGRAMS, GENRES, CHANNELS = torch.arange(3), torch.tensor([3, 4]), torch.tensor([5, 6])


def test_a_programs_weight_splits_among_its_genres_and_channels() -> None:
    found = program_side(EDGES, PROGRAMS, GENRES, CHANNELS)
    assert found is not None
    side, groups = found
    g, c = GENRE_WEIGHT, 1 - GENRE_WEIGHT
    assert side.toarray() == pytest.approx(
        np.array([[g, 0, c, 0], [g / 2, g / 2, 0, c], [0, g, 0, 0]], dtype=np.float32)
    )
    assert groups.tolist() == [0, 0, 1, 1]


def test_the_genre_weight_sets_the_groups_weights() -> None:
    found = program_side(EDGES, PROGRAMS, GENRES, CHANNELS, genre_weight=0.5)
    assert found is not None
    assert found[0].toarray()[1] == pytest.approx([0.25, 0.25, 0, 0.5])
    genres_only = program_side(EDGES, PROGRAMS, GENRES, CHANNELS, genre_weight=1.0)
    assert genres_only is not None
    assert genres_only[0].toarray()[:, 2:] == pytest.approx(np.zeros((3, 2)))


def test_no_genre_or_channel_edge_means_no_term() -> None:
    bundle_edges = torch.tensor([[0, 1], [7, 7]])
    assert program_side(bundle_edges, PROGRAMS, GENRES, CHANNELS) is None


def term(beta: float = 1.0) -> GenreChannel:
    found = program_side(EDGES, PROGRAMS, GENRES, CHANNELS)
    assert found is not None
    counts = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]]))  # two users
    return GenreChannel.build(*found, counts, np.array([3.0, 1.0, 0.0]), beta=beta)


def test_shares_and_scores_by_hand() -> None:
    t = term(beta=0.5)
    # User 0 watched p0 and p1: genres 0.75 + 0.375 | 0.375, channels 0.25 | 0.25.
    assert t.user_shares.toarray()[0] == pytest.approx([0.75, 0.25, 0.5, 0.5])
    # User 1 watched p2 twice: all of their genres on genre 4, no channel at all.
    assert t.user_shares.toarray()[1] == pytest.approx([0.0, 1.0, 0.0, 0.0])
    share_p2 = GENRE_WEIGHT * 0.25  # user 0's share of p2: its genre 4 only
    expected = 0.5 * (math.log(share_p2 + EPSILON) + math.log(1 + 0.0))
    assert t.scores(t.user_shares[[0]])[0, 2] == pytest.approx(expected, rel=1e-5)
    share_p0 = GENRE_WEIGHT * 0.75 + (1 - GENRE_WEIGHT) * 0.5
    expected = 0.5 * (math.log(share_p0 + EPSILON) + math.log(1 + 3.0))
    assert t.scores(t.user_shares[[0]])[0, 0] == pytest.approx(expected, rel=1e-5)
    # The ranker's training asks for a few programs only: the same numbers.
    some = np.array([2, 0])
    assert t.scores(t.user_shares[[0]], some)[0] == pytest.approx(
        t.scores(t.user_shares[[0]])[0, some], rel=1e-6
    )


def test_recommend_adds_the_extra_scores() -> None:
    embeddings = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.5, 0.0], [0.0, 1.0]])
    users, programs = torch.tensor([0]), torch.tensor([1, 2, 3])
    top, _ = recommend(embeddings, users=users, programs=programs, k=3)
    assert top.tolist() == [[1, 2, 3]]

    def extra(u: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[0.0, 0.0, 5.0]]).expand(u.numel(), -1)

    top, scores = recommend(embeddings, users=users, programs=programs, k=3, extra=extra)
    assert top.tolist() == [[3, 1, 2]]
    assert scores[0, 0].item() == pytest.approx(5.0)


def tv_graph(*, with_side_labels: bool = True) -> TrainGraph:
    """Users who watch within their genre, programs on two genres and two channels."""
    rng = np.random.default_rng(0)
    users, programs = 60, 40
    genre = np.arange(programs) % 2
    g0, c0 = users + programs, users + programs + 2
    side = [(users + p, g0 + genre[p]) for p in range(programs)]
    side += [(users + p, c0 + (p // 20)) for p in range(programs)]
    pairs = []
    for u in range(users):
        liked = np.flatnonzero(genre == u % 2)
        for p in rng.choice(liked, 6, replace=False):
            pairs.append((u, users + p))
    positives = torch.tensor(pairs).T
    return TrainGraph(
        num_nodes=users + programs + 4,
        edge_index=torch.tensor(side).T,
        user_nodes=torch.arange(users),
        program_nodes=torch.arange(users, users + programs),
        positives=positives,
        positive_time=torch.arange(positives.size(1), dtype=torch.float64) * 3600,
        genre_nodes=torch.tensor([g0, g0 + 1]) if with_side_labels else None,
        channel_nodes=torch.tensor([c0, c0 + 1]) if with_side_labels else None,
    )


SMALL = TrainConfig(embedding_dim=8, epochs=3, patience=3, val_fraction=0.2, refit=False)


def test_fit_chooses_a_weight_on_the_holdout_and_builds_the_term_on_every_positive() -> None:
    graph = tv_graph()
    result = fit(graph, SMALL, progress=False)
    chosen = result.config.genre_channel_beta
    assert chosen in (0.0, *BETAS)
    assert result.config.genre_channel_half_life_days in (None, *HALF_LIVES_DAYS)
    assert result.config.genre_weight in GENRE_WEIGHTS
    if chosen:
        assert result.genre_channel is not None
        assert result.genre_channel.beta == chosen
        # Built on every positive, the validation's too: each user has shares.
        assert (np.asarray(result.genre_channel.user_shares.sum(1)).ravel() > 0).all()
    else:
        assert result.genre_channel is None


def test_a_set_weight_is_kept_and_none_or_unlabelled_side_nodes_keep_no_term() -> None:
    kept = fit(tv_graph(), SMALL.model_copy(update={"genre_channel_beta": 0.5}), progress=False)
    assert kept.genre_channel is not None and kept.genre_channel.beta == 0.5
    off = fit(tv_graph(), SMALL.model_copy(update={"genre_channel_beta": None}), progress=False)
    assert off.genre_channel is None and off.extra(tv_graph()) is None
    unlabelled = fit(tv_graph(with_side_labels=False), SMALL, progress=False)
    assert unlabelled.genre_channel is None
    assert unlabelled.config.genre_channel_beta == 0.0


def test_a_set_half_life_and_genre_weight_are_kept() -> None:
    update = {"genre_channel_beta": 0.5, "genre_channel_half_life_days": 3.0, "genre_weight": 0.2}
    result = fit(tv_graph(), SMALL.model_copy(update=update), progress=False)
    assert result.config.genre_channel_half_life_days == 3.0
    assert result.config.genre_weight == 0.2
    every = torch.ones(tv_graph().positives.size(1), dtype=torch.bool)
    expected = genre_channel_term(tv_graph(), every, 3.0, 0.2)
    assert result.genre_channel is not None and expected is not None
    assert result.genre_channel.log_popularity == pytest.approx(expected.log_popularity)
    assert result.genre_channel.program_side.toarray() == pytest.approx(
        expected.program_side.toarray()
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("genre_weight", 1.5, "genre_weight must be within [0, 1] or 'auto'; got 1.5"),
        (
            "genre_channel_half_life_days",
            0.0,
            "genre_channel_half_life_days must be > 0, 'auto' or None; got 0.0",
        ),
    ],
)
def test_bad_term_settings_are_refused(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig(**{field: value})


def test_popularity_takes_the_fits_half_life() -> None:
    graph = tv_graph()
    every = torch.ones(graph.positives.size(1), dtype=torch.bool)
    plain = genre_channel_term(graph, every, None)
    recent = genre_channel_term(graph, every, 0.5)
    assert plain is not None and recent is not None
    counts = np.bincount(graph.positives[1].numpy() - 60, minlength=40)
    assert plain.log_popularity == pytest.approx(np.log1p(counts), rel=1e-5)
    assert (recent.log_popularity <= plain.log_popularity + 1e-6).all()
    assert not np.allclose(recent.log_popularity, plain.log_popularity)


def served_version(tmp_path: Path) -> ModelVersion:
    rng = np.random.default_rng(1)
    ids = {"User": pd.Index(["u0", "u1"]), "Program": pd.Index(["p0", "p1", "p2"])}
    embeddings = rng.standard_normal((5, 4)).astype(np.float32)
    embeddings[:2, -1] = 1.0  # users' bias column; programs' last column is their bias
    path = save_version(
        tmp_path, embeddings=embeddings, id_map=IdMap(ids),
        train_positives=np.array([[0, 0, 1], [2, 3, 4]]), holdout=np.empty((2, 0), np.int64),
        manifest={"train_config": {"program_bias": True}}, genre_channel=term(beta=0.5),
    )  # fmt: skip
    return load_version(path)


def test_the_term_survives_the_artifact_and_is_checked(tmp_path: Path) -> None:
    model = served_version(tmp_path)
    assert model.genre_channel is not None
    assert model.genre_channel.beta == 0.5
    assert model.genre_channel.user_shares.toarray() == pytest.approx(term().user_shares.toarray())
    (model.path / FILE).write_bytes(b"not an npz")
    with pytest.raises(ArtifactError, match=r"genre_channel\.npz"):
        load_version(model.path)


def test_offline_lists_api_and_recommend_give_the_same_scores(tmp_path: Path) -> None:
    model = served_version(tmp_path)
    serving = ServingModel.from_version(model)
    rows = [row for block in user_candidates(model, k=3) for row in block]
    top, scores = recommend(
        torch.as_tensor(model.embeddings), users=torch.tensor([0, 1]),
        programs=torch.tensor([2, 3, 4]), k=3, extra=model.extra(),
    )  # fmt: skip
    for i, row in enumerate(rows):
        expected = serving.for_user(str(row["id"]), 3)
        assert row["program_ids"] == [p for p, _ in expected]
        assert row["scores"] == pytest.approx([s for _, s in expected], rel=1e-5)
        assert scores[i].tolist() == pytest.approx(row["scores"], rel=1e-5)
        assert [f"p{int(n) - 2}" for n in top[i]] == row["program_ids"]


def test_a_fold_in_user_gets_shares_from_their_watches(tmp_path: Path) -> None:
    serving = ServingModel.from_version(served_version(tmp_path))
    watches = [RecentWatch("p2", 1.0, None), RecentWatch("p2", 1.0, None)]
    vector = serving.user_vector("new", watches, min_watches=1)
    assert vector is not None and vector.how == "fold_in" and vector.shares is not None
    assert vector.shares == pytest.approx([0.0, 1.0, 0.0, 0.0])  # as user u1 above
    without = serving.for_vector(vector.vector, 3)
    with_term = serving.for_vector(vector.vector, 3, shares=vector.shares)
    assert dict(with_term) != pytest.approx(dict(without))


def test_a_trained_users_newer_watches_move_their_shares_as_their_vector(tmp_path: Path) -> None:
    serving = ServingModel.from_version(served_version(tmp_path))
    later = (serving.trained_at or 0.0) + 3600
    older = (serving.trained_at or 0.0) - 3600
    moved = serving.user_vector("u0", [RecentWatch("p2", 1.0, later)] * 2, min_watches=1)
    assert moved is not None and moved.how == "trained+fold_in" and moved.new_share == 1.0
    assert moved.shares == pytest.approx([0.0, 1.0, 0.0, 0.0])  # all newer: the watches'
    kept = serving.user_vector("u0", [RecentWatch("p2", 1.0, older)], min_watches=1)
    assert kept is not None and kept.how == "trained"
    assert kept.shares == pytest.approx([0.75, 0.25, 0.5, 0.5])  # user u0's trained shares


@pytest.mark.parametrize(
    ("scores", "chosen"),
    [((0.100, 0.101, 0.100, 0.099, 0.098), None), ((0.100, 0.101, 0.103, 0.102, 0.1), 3.0)],
)
def test_the_terms_half_life_must_beat_none_by_two_percent(
    monkeypatch: pytest.MonkeyPatch, scores: tuple[float, ...], chosen: float | None
) -> None:
    """The holdout's scores of none, then each of HALF_LIVES_DAYS (7, 3, 1, 0.5 days)."""
    import gnn.train as train

    graph = tv_graph()
    every = torch.ones(graph.positives.size(1), dtype=torch.bool)
    given = iter(scores)
    monkeypatch.setattr(train, "_val_ndcg", lambda *args, **kwargs: next(given))
    assert HALF_LIVES_DAYS == (7.0, 3.0, 1.0, 0.5)
    validation = train._validation(graph, every, every)
    assert train._term_half_life(graph, (every, validation), GENRE_WEIGHT, 10) == chosen
