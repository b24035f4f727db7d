"""Candidate lists computed offline: the same programs, order and scores as the API's own
scoring of a user (``ServingModel.for_user``), block by block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api.model import ServingModel
from gnn import candidates
from gnn.artifacts import ModelVersion
from gnn.candidates import top_k, user_candidates
from gnn.idmap import IdMap


def version(users: int, programs: int, *, seed: int = 0, bias: bool = False) -> ModelVersion:
    rng = np.random.default_rng(seed)
    embeddings = rng.standard_normal((users + programs, 16)).astype(np.float32)
    if bias:  # the last column: each program's bias, 1 for every user
        embeddings[:users, -1] = 1.0
    ids = {"User": pd.Index([f"u{i}" for i in range(users)]),
           "Program": pd.Index([f"p{i}" for i in range(programs)])}  # fmt: skip
    return ModelVersion(
        path=Path(), embeddings=embeddings,
        manifest={"version": "v-test", "train_config": {"program_bias": bias}},
        id_map=IdMap(ids), train_positives=np.empty((0, 2), np.int64),
        holdout=np.empty((0, 2), np.int64),
    )  # fmt: skip


@pytest.mark.parametrize("bias", [False, True])
def test_lists_match_the_apis_scoring_across_blocks(
    monkeypatch: pytest.MonkeyPatch, bias: bool
) -> None:
    monkeypatch.setattr(candidates, "BLOCK", 7)  # several blocks, the last one short
    model = version(30, 120, bias=bias)
    serving = ServingModel.from_version(model)
    rows = [row for block in user_candidates(model, k=25) for row in block]
    assert [r["id"] for r in rows] == [f"u{i}" for i in range(30)]
    for row in rows:
        expected = serving.for_user(str(row["id"]), 25)
        assert row["program_ids"] == [p for p, _ in expected]
        assert row["scores"] == pytest.approx([s for _, s in expected], rel=1e-5)


def test_k_beyond_the_catalogue_ranks_every_program() -> None:
    users = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    programs = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]], dtype=np.float32)
    rows, scores = top_k(users, programs, 10)
    assert rows.tolist() == [[1, 2, 0], [0, 2, 1]]
    assert scores.ravel().tolist() == pytest.approx([0.8, 0.5, 0.1, 0.9, 0.5, 0.2])
