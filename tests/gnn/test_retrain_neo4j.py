"""Retrain behind the gate, promote, rollback and list, against the real Neo4j."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from neo4j import Driver

from cli.main import main
from gnn.artifacts import load_version, read_gate
from gnn.pipeline import promote, rollback, serving_version, train_version
from gnn.retrain import RetrainOutcome, retrain
from gnn.train import TrainConfig
from graph.settings import Settings
from tests.loaders.neo4j_data import dataset_ids, loaded_tv_fixture

pytestmark = pytest.mark.neo4j

SMALL = TrainConfig(embedding_dim=16, epochs=8, patience=3, batch_size=1024, num_negatives=64)
# One epoch at a learning rate that barely moves the random start: a worse model.
WORSE = SMALL.model_copy(update={"epochs": 1, "lr": 1e-6, "refit": False, "val_fraction": 0.0})


loaded_tv = loaded_tv_fixture("tv-retrain", users=300, programs=250, seed=11)


@pytest.fixture
def models(driver: Driver, neo4j_settings: Settings, tmp_path: Path) -> Iterator[Path]:
    """A models directory of its own; its versions' ModelVersion nodes are deleted after."""
    folder = tmp_path / "models"
    yield folder
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    driver.execute_query("MATCH (m:ModelVersion) WHERE m.id IN $ids DETACH DELETE m",
                         ids=names, database_=neo4j_settings.neo4j_database)  # fmt: skip


def _retrain(driver: Driver, settings: Settings, models: Path, config: TrainConfig,
             **gate: float) -> RetrainOutcome:  # fmt: skip
    return retrain(
        driver, database=settings.neo4j_database, models_dir=models,
        margin=gate.get("margin", 0.01), min_users=int(gate.get("min_users", 20)),
        keep=int(gate.get("keep", 5)), train_config=config, progress=False,
    )  # fmt: skip


def _node_embedding(driver: Driver, db: str, program: str) -> tuple[list[float], str]:
    records, _, _ = driver.execute_query(
        "MATCH (p:Program {id: $id}) RETURN p.embedding AS e, p.embedding_version AS v",
        id=program, database_=db,
    )  # fmt: skip
    return records[0]["e"], records[0]["v"]


def _serving_ids(driver: Driver, db: str) -> list[str]:
    records, _, _ = driver.execute_query(
        "MATCH (m:ModelVersion {serving: true}) RETURN m.id AS id", database_=db
    )
    return [r["id"] for r in records]


def test_a_better_candidate_is_published_a_worse_one_refused_and_rollback_restores(
    driver: Driver,
    neo4j_settings: Settings,
    loaded_tv: Path,
    models: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = neo4j_settings.neo4j_database
    program = dataset_ids(loaded_tv)["Program"][0]
    # The baseline: a weak version, promoted by hand.
    weak = train_version(driver, database=db, models_dir=models, train_config=WORSE,
                         progress=False)  # fmt: skip
    promote(driver, models, weak.path.name, database=db, progress=False)
    assert _serving_ids(driver, db) == [weak.path.name]

    good = _retrain(driver, neo4j_settings, models, SMALL)
    assert good.status == "published", good.reason
    gate = read_gate(models / str(good.version))
    assert gate is not None and gate["outcome"] == "passed"
    compared = gate["comparison"]
    assert compared["serving_version"] == weak.path.name
    assert compared["users"] >= 20
    assert compared["candidate_ndcg"] > compared["serving_ndcg"]
    serving = serving_version(driver, database=db)
    assert serving is not None and serving.version == good.version
    assert serving.previous == weak.path.name
    assert _serving_ids(driver, db) == [good.version]
    good_model = load_version(models / str(good.version))
    row = int(good_model.id_map.rows("Program", [program])[0])
    vector, version = _node_embedding(driver, db, program)
    assert version == good.version
    assert np.allclose(vector, good_model.embeddings[row], atol=1e-6)

    # A deliberately worse candidate is refused, kept on disk as refused, never served.
    worse = _retrain(driver, neo4j_settings, models, WORSE)
    assert worse.status == "refused"
    assert worse.exit_code == 1
    assert "below serving version" in worse.reason
    refused = models / str(worse.version)
    assert refused.is_dir()
    assert json.loads((refused / "gate.json").read_text())["outcome"] == "refused"
    assert _serving_ids(driver, db) == [good.version]
    assert _node_embedding(driver, db, program)[1] == good.version
    with pytest.raises(ValueError, match="refused by the quality gate"):
        promote(driver, models, refused.name, database=db, progress=False)

    # Rollback: the weak version again, in Neo4j (flag, node embeddings, vector index).
    restored, rolled_back = rollback(driver, models, database=db, progress=False)
    assert (restored, rolled_back) == (weak.path.name, good.version)
    assert _serving_ids(driver, db) == [weak.path.name]
    weak_model = load_version(weak.path)
    vector, version = _node_embedding(driver, db, program)
    assert version == weak.path.name
    assert np.allclose(vector, weak_model.embeddings[row], atol=1e-6)
    records, _, _ = driver.execute_query(
        "CALL db.index.vector.queryNodes('program_embedding', 1, $v) YIELD node "
        "RETURN node.embedding_version AS v",
        v=weak_model.embeddings[row].tolist(), database_=db,
    )  # fmt: skip
    assert records[0]["v"] == weak.path.name

    # Listing: roles, gate outcomes and the refusal's reason.
    settings = neo4j_settings.model_copy(update={"models_path": models})
    monkeypatch.setattr("cli.main.Settings", lambda: settings)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1 if line.startswith("*") else 0]: line for line in out.splitlines()}
    assert lines[weak.path.name].startswith("* ") and "serving" in lines[weak.path.name]
    assert lines[good.version].split()[4:6] == ["passed", "rolled"]
    assert lines[refused.name].split()[4:6] == ["refused", "-"]
    assert "refused: ndcg@10" in out


def test_after_a_new_watch_the_gate_still_compares_nearly_every_held_out_user(
    driver: Driver, neo4j_settings: Settings, loaded_tv: Path, models: Path
) -> None:
    """The holdout is a function of the pairs' ids: a graph that has grown holds out the
    same pairs again, which the serving version was not trained on. (Drawn afresh, one
    new watch reshuffled every user's holdout into the serving version's training set:
    12 comparable users of 107 on a 200-user graph.)"""
    db = neo4j_settings.neo4j_database
    serving = train_version(driver, database=db, models_dir=models, train_config=SMALL,
                            progress=False)  # fmt: skip
    promote(driver, models, serving.path.name, database=db, progress=False)
    ids = dataset_ids(loaded_tv)
    user, program = ids["User"][0], ids["Program"][-1]
    created, _, _ = driver.execute_query(
        "MATCH (u:User {id: $u}), (p:Program {id: $p}) WHERE NOT (u)-[:WATCHED]->(p) "
        "CREATE (u)-[w:WATCHED {completion: 1.0, seconds: 600, count: 1, "
        "event_ids: ['grown-1'], first_ts: datetime(), last_ts: datetime()}]->(p) "
        "RETURN count(w) AS n",
        u=user, p=program, database_=db,
    )  # fmt: skip
    assert created[0]["n"] == 1
    try:
        grown = _retrain(driver, neo4j_settings, models, SMALL)
    finally:
        driver.execute_query("MATCH ()-[w:WATCHED]->() WHERE w.event_ids = ['grown-1'] DELETE w",
                             database_=db)  # fmt: skip
    gate = read_gate(models / str(grown.version))
    assert gate is not None and gate["comparison"]["serving_version"] == serving.path.name
    held_out = len(np.unique(load_version(models / str(grown.version)).holdout[0]))
    assert gate["comparison"]["users"] >= 0.9 * held_out, (gate["comparison"], held_out)


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-4:] = b"\x00\x00\xc0\x7f"  # a NaN in the last float
    path.write_bytes(bytes(data))


def test_corrupted_versions_are_refused_and_pruning_keeps_serving_and_rollback(
    driver: Driver,
    neo4j_settings: Settings,
    loaded_tv: Path,
    models: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = neo4j_settings.neo4j_database
    a = train_version(driver, database=db, models_dir=models, train_config=SMALL, progress=False)
    promote(driver, models, a.path.name, database=db, progress=False)
    seed1 = SMALL.model_copy(update={"seed": 1})
    b = train_version(driver, database=db, models_dir=models, train_config=seed1, progress=False)
    assert promote(driver, models, b.path.name, database=db, progress=False) == a.path.name

    # A candidate damaged on disk between its save and the gate (a disk fault) is refused.
    from gnn.artifacts import save_version as save

    def save_then_damage(*args: object, **kwargs: object) -> Path:
        path = save(*args, **kwargs)  # type: ignore[arg-type]
        _corrupt(path / "embeddings.npy")
        return path

    monkeypatch.setattr("gnn.pipeline.save_version", save_then_damage)
    damaged = _retrain(driver, neo4j_settings, models, SMALL)
    monkeypatch.undo()
    assert damaged.status == "refused"
    assert "embeddings.npy" in damaged.reason and "checksum" in damaged.reason
    gate = read_gate(models / str(damaged.version))
    assert gate is not None and gate["outcome"] == "refused"
    assert _serving_ids(driver, db) == [b.path.name]

    # keep=1: the newest stays, and so do the serving version and its rollback target.
    worse = _retrain(driver, neo4j_settings, models, WORSE, keep=1)
    assert worse.status == "refused"
    assert worse.pruned == [damaged.version]
    assert sorted(p.name for p in models.iterdir() if p.name.startswith("v")) == sorted(
        [a.path.name, b.path.name, str(worse.version)]
    )

    # Rollback to a corrupted version is refused, naming the file; nothing changes.
    _corrupt(a.path / "embeddings.npy")
    settings = neo4j_settings.model_copy(update={"models_path": models})
    monkeypatch.setattr("cli.main.Settings", lambda: settings)
    assert main(["models", "rollback", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(a.path / "embeddings.npy") in err and "corrupted" in err
    assert _serving_ids(driver, db) == [b.path.name]
    program = dataset_ids(loaded_tv)["Program"][0]
    assert _node_embedding(driver, db, program)[1] == b.path.name
    # Promoting it is refused the same way; a refused version needs --force.
    assert main(["models", "promote", a.path.name, "--quiet"]) == 2
    assert "embeddings.npy" in capsys.readouterr().err
    assert main(["models", "promote", str(worse.version), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert _serving_ids(driver, db) == [b.path.name]


def test_the_retrain_command_publishes_logs_one_line_and_writes_metrics(
    driver: Driver,
    neo4j_settings: Settings,
    loaded_tv: Path,
    models: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = neo4j_settings.neo4j_database
    weak = train_version(driver, database=db, models_dir=models, train_config=WORSE,
                         progress=False)  # fmt: skip
    promote(driver, models, weak.path.name, database=db, progress=False)
    settings = neo4j_settings.model_copy(update={"models_path": models, "gate_min_users": 20})
    monkeypatch.setattr("cli.main.Settings", lambda: settings)
    with caplog.at_level("INFO", logger="graphrails.retrain"):
        assert main(["retrain", "--quiet", "--epochs", "8", "--dim", "16"]) == 0
    new = serving_version(driver, database=db)
    assert new is not None and new.previous == weak.path.name
    assert capsys.readouterr().out.startswith(f"Version {new.version} published and serving:")
    line = json.loads(caplog.records[-1].getMessage())
    assert (line["status"], line["version"], line["gate"]) == ("published", new.version, "passed")
    assert line["compared"]["candidate_ndcg"] > line["compared"]["serving_ndcg"]
    text = (models / "retrain.prom").read_text()
    assert 'graphrails_retrain_runs_total{outcome="published"} 1.0' in text
    assert 'graphrails_retrain_last_outcome{outcome="published"} 1.0' in text


def test_readers_see_exactly_one_serving_version_while_it_flips(
    driver: Driver, neo4j_settings: Settings, tmp_path: Path
) -> None:
    import threading

    from gnn.artifacts import ModelVersion
    from gnn.pipeline import mark_serving
    from graph.queries import query

    db = neo4j_settings.neo4j_database
    names = [f"vflip-{tmp_path.name}-{i}" for i in range(2)]
    versions = [
        ModelVersion(path=tmp_path / n, manifest={"version": n}, embeddings=np.zeros((1, 1)),
                     id_map=None, train_positives=np.zeros((2, 0)), holdout=np.zeros((2, 0)))  # type: ignore[arg-type]
        for n in names
    ]  # fmt: skip
    mark_serving(driver, versions[0], database=db)
    done = threading.Event()

    def flip() -> None:
        try:
            for i in range(1, 101):
                mark_serving(driver, versions[i % 2], database=db)
        finally:
            done.set()

    seen: list[tuple[str, ...]] = []
    thread = threading.Thread(target=flip)
    thread.start()
    try:
        while not done.is_set():
            records, _, _ = driver.execute_query(query("models/serving"), database_=db)
            seen.append(tuple(r["version"] for r in records))
    finally:
        thread.join()
        driver.execute_query("MATCH (m:ModelVersion) WHERE m.id IN $ids DELETE m", ids=names,
                             database_=db)  # fmt: skip
    # The serving flags alone can be read half flipped (read committed); the registry cannot.
    assert len(seen) > 20
    assert set(seen) == {(names[0],), (names[1],)}
