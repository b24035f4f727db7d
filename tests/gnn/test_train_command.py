"""`graphrails train` publishes only a sane version, and only under the retrain lock (no
Neo4j: training, loading and publishing are stand-ins; the checks are the command's)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from gnn import artifacts, pipeline
from gnn.cli import cmd_train
from gnn.retrain import retrain_lock
from graph import driver as graph_driver
from graph.errors import CommandError
from graph.settings import Settings
from tests.gnn.test_retrain_gate import GOOD, random_embeddings, version

ARGS = argparse.Namespace(dim=None, layers=None, epochs=None, seed=None, holdout=None, quiet=True,
                          no_publish=False)  # fmt: skip


@pytest.fixture
def published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Settings, list[str], dict[str, Any]]]:
    """Settings on ``tmp_path``, the versions published, and the embeddings to train."""
    trained = tmp_path / "v1"
    trained.mkdir()
    out: list[str] = []
    made: dict[str, Any] = {"embeddings": random_embeddings()}

    @contextmanager
    def no_driver(settings: Settings) -> Iterator[object]:
        yield object()

    def train_version(driver: object, **kwargs: Any) -> SimpleNamespace:
        return SimpleNamespace(path=trained, fit_seconds=1.0, epochs=1, seconds_per_epoch=1.0,
                               metrics=GOOD, stage_seconds={"export": 2.0})  # fmt: skip

    def publish(driver: object, model: artifacts.ModelVersion, **kwargs: Any) -> dict[str, int]:
        out.append(str(model.path))
        return {"Program": 1}

    monkeypatch.setattr(graph_driver, "open_driver", no_driver)
    monkeypatch.setattr(pipeline, "train_version", train_version)
    monkeypatch.setattr(pipeline, "describe", lambda metrics: "")
    monkeypatch.setattr(pipeline, "publish", publish)
    monkeypatch.setattr(artifacts, "load_version",
                        lambda path: version(made["embeddings"], name=str(path)))  # fmt: skip
    yield Settings.with_fields(models_path=tmp_path), out, made


def test_a_sane_version_is_published(published: tuple[Settings, list[str], dict[str, Any]]) -> None:
    settings, out, _ = published
    assert cmd_train(ARGS, settings) == 0
    assert out == [str(settings.models_dir / "v1")]


def test_a_broken_version_is_saved_refused_and_never_published(
    published: tuple[Settings, list[str], dict[str, Any]],
) -> None:
    settings, out, made = published
    made["embeddings"] = np.full_like(random_embeddings(), np.nan)
    with pytest.raises(CommandError, match=r"not published: embeddings hold .* NaN"):
        cmd_train(ARGS, settings)
    assert out == []
    gate = json.loads((settings.models_dir / "v1" / artifacts.GATE_FILE).read_text())
    assert gate["outcome"] == "refused"  # so the API's start-up fallback skips it as well


def test_publishing_waits_for_no_retrain_and_is_refused_while_one_runs(
    published: tuple[Settings, list[str], dict[str, Any]],
) -> None:
    settings, out, _ = published
    with retrain_lock(settings.models_dir), pytest.raises(CommandError, match="refused"):
        cmd_train(ARGS, settings)
    assert out == []


def test_holdout_flag_reaches_the_training_config() -> None:
    from gnn.cli import _train_config

    latest = argparse.Namespace(**{**vars(ARGS), "holdout": "latest"})
    assert _train_config(latest).holdout == "latest"
    assert "holdout" not in _train_config(ARGS).model_fields_set  # the default stays


def test_the_publish_is_reported_in_plain_words() -> None:
    from gnn.cli import published_text

    written = {"Program": 50_000, "User": 1_000_000, "User candidate lists": 999_990,
               "Program candidate lists": 49_999}  # fmt: skip
    assert published_text(written) == (
        "embeddings of 50,000 Program and 1,000,000 User nodes, candidate lists of 999,990 "
        "users and 49,999 programs, the vector index program_embedding"
    )
    assert published_text({"Program": 2, "User": 3}) == (
        "embeddings of 2 Program and 3 User nodes, the vector index program_embedding"
    )
