"""The quality gate, version housekeeping and retrain metrics, on hand-made versions (no Neo4j)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnn import gate
from gnn.artifacts import ModelVersion, list_versions, prune_versions, save_version
from gnn.idmap import IdMap
from gnn.retrain import METRICS_FILE, RetrainMetrics, RetrainOutcome, format_models, list_models

USERS, PROGRAMS, DIM = 60, 40, 8
GOOD = {"ndcg@10": 0.3, "users": 60.0}


def version(
    embeddings: np.ndarray,
    *,
    name: str = "vC",
    users: int = USERS,
    holdout: list[tuple[int, int]] | None = None,
    train: list[tuple[int, int]] | None = None,
) -> ModelVersion:
    """Users u0.. then programs p0..; pairs are (user index, program index)."""
    id_map = IdMap({
        "User": pd.Index([f"u{i}" for i in range(users)]),
        "Program": pd.Index([f"p{j}" for j in range(PROGRAMS)]),
    })  # fmt: skip

    def rows(pairs: list[tuple[int, int]]) -> np.ndarray:
        return np.array([[u for u, _ in pairs], [users + p for _, p in pairs]], dtype=np.int64)

    return ModelVersion(
        path=Path(name), manifest={"version": name}, embeddings=embeddings.astype(np.float32),
        id_map=id_map, train_positives=rows(train or [(0, 0)]),
        holdout=rows(holdout or [(u, u % PROGRAMS) for u in range(users)]),
    )  # fmt: skip


def random_embeddings(users: int = USERS, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(users + PROGRAMS, DIM))


def oracle_embeddings(users: int = USERS) -> np.ndarray:
    """User u's vector is program (u mod P)'s: its held-out program ranks first."""
    emb = random_embeddings(users)
    emb[users:] /= np.linalg.norm(emb[users:], axis=1, keepdims=True)  # dot = cosine
    emb[:users] = emb[users + np.arange(users) % PROGRAMS] * 10
    emb[:users] += np.random.default_rng(1).normal(scale=0.2, size=(users, DIM))  # no twins
    return emb


# ------------------------------------------------------------------ sanity
def test_healthy_random_embeddings_pass_the_sanity_checks() -> None:
    measured: dict[str, float] = {}
    assert (
        gate.sanity_problem(version(random_embeddings()), GOOD, min_users=50, out=measured) is None
    )
    assert measured["program_spread"] > 0.5
    assert measured["program_identical_share"] == 0


def test_nan_and_infinite_values_are_refused() -> None:
    emb = random_embeddings()
    emb[3, 1], emb[70, 0] = np.nan, np.inf
    assert gate.sanity_problem(version(emb), GOOD, min_users=1) == (
        "embeddings hold 2 NaN or infinite values"
    )


def test_embeddings_all_pointing_one_way_are_collapsed() -> None:
    emb = random_embeddings()
    emb[USERS:] = np.linspace(1, 2, PROGRAMS)[:, None] * np.ones(DIM)  # same direction
    problem = gate.sanity_problem(version(emb), GOOD, min_users=1)
    assert problem is not None and problem.startswith("Program embeddings collapsed: spread")
    zeros = random_embeddings()
    zeros[:USERS] = 0
    problem = gate.sanity_problem(version(zeros), GOOD, min_users=1)
    assert problem is not None and problem.startswith("User embeddings collapsed")


def test_mostly_near_identical_vectors_are_collapsed() -> None:
    emb = random_embeddings()
    emb[USERS + 1 :: 2] = emb[USERS::2] * 1.5 + 1e-7  # programs come in identical pairs
    problem = gate.sanity_problem(version(emb), GOOD, min_users=1)
    assert problem == (
        "Program embeddings collapsed: 100% have a near-identical neighbour (cosine >= 0.9999)"
    )


def test_too_few_held_out_users_or_a_missing_metric_is_refused() -> None:
    model = version(random_embeddings())
    assert gate.sanity_problem(model, {"ndcg@10": 0.3, "users": 12.0}, min_users=50) == (
        "only 12 held-out users were evaluated (minimum 50)"
    )
    problem = gate.sanity_problem(model, {"ndcg@10": float("nan"), "users": 60.0}, min_users=1)
    assert problem == "holdout ndcg@10 is nan, not a finite number"


# ------------------------------------------------------------------ comparison
def test_comparison_scores_both_on_the_same_unseen_pairs() -> None:
    candidate = version(oracle_embeddings())
    serving = version(
        random_embeddings(USERS - 10, seed=3), name="vS", users=USERS - 10,
        train=[(0, 0), (1, 1)],  # it was trained on two of the candidate's held-out pairs
    )  # fmt: skip
    c = gate.compare(candidate, serving)
    assert c.dropped_unknown_to_serving == 10  # users u50..u59 are new
    assert c.dropped_seen_by_serving == 2
    assert (c.users, c.pairs) == (48, 48)
    assert c.candidate_ndcg == pytest.approx(1.0)
    assert c.serving_ndcg < 0.6
    # The same model on both sides scores the same.
    same = gate.compare(candidate, version(oracle_embeddings(), name="vS"))
    assert same.candidate_ndcg == pytest.approx(same.serving_ndcg)


def test_the_gate_refuses_a_regression_beyond_the_margin_and_passes_within_it() -> None:
    good, weak = version(oracle_embeddings(), name="vG"), version(random_embeddings(), name="vW")
    refused = gate.check(weak, GOOD, good, margin=0.01, min_users=20)
    assert not refused.passed
    assert refused.reason.startswith("ndcg@10 ")
    assert "below serving version vG's 1.0000 on the same 59 held-out users" in refused.reason
    record = refused.to_record()
    assert record["outcome"] == "refused" and record["comparison"]["serving_version"] == "vG"
    assert gate.check(weak, GOOD, good, margin=1.0, min_users=20).passed
    assert gate.check(good, GOOD, weak, margin=0.0, min_users=20).passed
    first = gate.check(weak, GOOD, None, margin=0.0, min_users=20)
    assert first.passed and "no serving version" in first.reason


def test_the_gate_refuses_when_too_few_users_are_comparable() -> None:
    candidate = version(oracle_embeddings())
    other_graph = version(random_embeddings(5), name="vX", users=5)
    decision = gate.check(candidate, GOOD, other_graph, margin=0.01, min_users=20)
    assert not decision.passed
    assert decision.reason.startswith("only 4 held-out users can be compared with serving")


# ------------------------------------------------------------------ versions on disk
def _save(models: Path, name: str | None = None) -> Path:
    model = version(random_embeddings())
    return save_version(
        models, embeddings=model.embeddings, id_map=model.id_map,
        train_positives=model.train_positives, holdout=model.holdout, manifest={}, version=name,
    )  # fmt: skip


def test_pruning_sweeps_what_crashed_saves_left_but_not_a_save_under_way(
    tmp_path: Path,
) -> None:
    kept = _save(tmp_path)
    crashed, under_way = tmp_path / ".v1.partial", tmp_path / ".v2.partial"
    stuck = tmp_path / ".v0.deleting"
    for folder in (crashed, under_way, stuck):
        folder.mkdir()
        (folder / "embeddings.npy").write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    for folder in (crashed, stuck):
        os.utime(folder, (two_days_ago, two_days_ago))
    assert prune_versions(tmp_path, keep=1, protect=set()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept.name, under_way.name])


def test_versions_of_the_same_second_get_distinct_names(tmp_path: Path) -> None:
    first, second = _save(tmp_path), _save(tmp_path)
    # The same second gets a suffix; the clock may also have ticked between the two saves.
    assert second.name == f"{first.name}-2" or second.name > first.name


def test_pruning_keeps_the_newest_and_the_protected_ones(tmp_path: Path) -> None:
    names = [f"v2026010{i}T000000Z" for i in range(1, 7)]
    for name in names:
        _save(tmp_path, name)
    deleted = prune_versions(tmp_path, keep=2, protect={names[0], names[2]})
    assert deleted == [names[1], names[3]]
    assert [p.name for p in list_versions(tmp_path)] == [names[0], names[2], *names[4:]]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".deleting")]
    with pytest.raises(ValueError, match="keep must be at least 1"):
        prune_versions(tmp_path, keep=0, protect=set())


def test_models_list_joins_disk_and_neo4j(tmp_path: Path) -> None:
    a, b = _save(tmp_path, "v20260101T000000Z"), _save(tmp_path, "v20260102T000000Z")
    (b / "gate.json").write_text('{"outcome": "refused", "reason": "ndcg@10 too low"}')
    published = [
        {"version": a.name, "serving": True, "previous": "v20251231T000000Z",
         "published_at": "2026-01-01T00:00:00Z"},
        {"version": "v20251231T000000Z", "serving": False, "previous": None,
         "published_at": "2025-12-31T00:00:00Z"},
    ]  # fmt: skip
    rows = list_models(tmp_path, published)
    assert [(r.version, r.role, r.gate, r.on_disk) for r in rows] == [
        ("v20251231T000000Z", "rollback", "-", False),
        (a.name, "serving", "-", True),
        (b.name, "", "refused", True),
    ]
    text = format_models(rows)
    assert f"* {a.name}" in text
    assert "      refused: ndcg@10 too low" in text


# ------------------------------------------------------------------ metrics
def test_metrics_textfile_carries_counters_and_last_success_over(tmp_path: Path) -> None:
    path = tmp_path / METRICS_FILE
    published = RetrainOutcome(
        "published", "ok", version="v1", seconds=12.5, metrics={"ndcg@10": 0.25, "users": 80.0},
        gate={"outcome": "passed", "comparison": {"candidate_ndcg": 0.25, "serving_ndcg": 0.2}},
        finished_at=1_700_000_000.0,
    )  # fmt: skip
    metrics = RetrainMetrics.from_textfile(path)
    metrics.observe(published)
    metrics.write(path)
    again = RetrainMetrics.from_textfile(path)
    again.observe(RetrainOutcome("refused", "worse", seconds=3.0, finished_at=1_700_000_600.0,
                                 gate={"outcome": "refused"}))  # fmt: skip
    again.write(path)
    text = path.read_text()
    assert 'graphrails_retrain_runs_total{outcome="published"} 1.0' in text
    assert 'graphrails_retrain_runs_total{outcome="refused"} 1.0' in text
    assert "graphrails_retrain_last_success_timestamp_seconds 1.7e+09" in text
    assert 'graphrails_retrain_last_outcome{outcome="refused"} 1.0' in text
    assert "graphrails_retrain_gate_passed 0.0" in text
    assert "graphrails_retrain_duration_seconds 3.0" in text
    first = path.with_name("first.prom")
    metrics.write(first)
    assert 'graphrails_retrain_holdout_metric{metric="ndcg@10"} 0.25' in first.read_text()
    assert 'graphrails_retrain_gate_ndcg_at_10{model="serving"} 0.2' in first.read_text()
