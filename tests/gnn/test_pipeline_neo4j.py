"""Export from the real Neo4j, train, save a version, publish it back, evaluate it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from neo4j import Driver

from gnn.artifacts import ArtifactError, load_version
from gnn.export import export_graph
from gnn.pipeline import evaluate_version, publish, train_version
from gnn.train import TrainConfig
from graph.settings import Settings
from tests.loaders.neo4j_data import dataset_ids, loaded_tv_fixture

pytestmark = pytest.mark.neo4j

SMALL = TrainConfig(embedding_dim=16, epochs=8, patience=3, batch_size=1024, num_negatives=64)


loaded_tv = loaded_tv_fixture("tv-gnn", users=300, programs=250, seed=5)


def test_export_maps_every_node_and_keeps_positives_above_the_completion_bar(
    driver: Driver, neo4j_settings: Settings, loaded_tv: Path
) -> None:
    exported = export_graph(driver, database=neo4j_settings.neo4j_database, progress=False)
    ids = dataset_ids(loaded_tv)
    for label in ("User", "Program", "Genre", "Channel", "Bundle"):
        assert set(ids[label]) <= set(exported.id_map.ids[label])
    users = exported.id_map.label_rows("User")
    programs = exported.id_map.label_rows("Program")
    assert np.isin(exported.positives["user"], users).all()
    assert np.isin(exported.positives["program"], programs).all()
    completion = exported.positives["completion"].dropna()
    assert (completion >= 0.3).all()
    assert exported.stats["positives"] < exported.stats["watched"]
    assert exported.edge_index.size(1) == sum(
        v for k, v in exported.stats.items() if k.startswith("edges_")
    )
    # Round trip of the id map.
    frame = exported.id_map.to_frame()
    assert len(frame) == exported.id_map.num_nodes
    assert frame["row"].tolist() == list(range(len(frame)))


def test_export_gives_a_resubscriber_one_user_bundle_edge(
    driver: Driver, neo4j_settings: Settings, loaded_tv: Path
) -> None:
    """A second subscription period (a re-subscriber) adds no second message-passing edge."""
    from graph.queries import query

    db = neo4j_settings.neo4j_database
    user = dataset_ids(loaded_tv)["User"][0]
    records, _, _ = driver.execute_query(
        "MATCH (u:User {id: $u})-[s:SUBSCRIBES_TO]->(b:Bundle) WITH u, b LIMIT 1 "
        "CREATE (u)-[s:SUBSCRIBES_TO {since: datetime('2001-01-01T00:00:00Z'),"
        " until: datetime('2001-06-01T00:00:00Z'), test_period: true}]->(b) RETURN b.id AS b",
        u=user, database_=db,
    )  # fmt: skip
    assert records, f"{user} has no subscription"
    try:
        rows, _, _ = driver.execute_query(query("export/subscribes_to"), database_=db)
        pairs = [(r["src"], r["dst"]) for r in rows]
        assert (user, records[0]["b"]) in pairs
        assert len(pairs) == len(set(pairs))
    finally:
        driver.execute_query(
            "MATCH (:User {id: $u})-[s:SUBSCRIBES_TO {test_period: true}]->() DELETE s",
            u=user, database_=db,
        )  # fmt: skip


def test_train_publish_evaluate(
    driver: Driver, neo4j_settings: Settings, loaded_tv: Path, tmp_path: Path
) -> None:
    db = neo4j_settings.neo4j_database
    outcome = train_version(
        driver, database=db, models_dir=tmp_path, train_config=SMALL, progress=False
    )
    manifest = json.loads((outcome.path / "manifest.json").read_text())
    assert manifest["metrics"]["ndcg@10"] == outcome.metrics["ndcg@10"]
    assert outcome.metrics["users"] > 0
    assert list(outcome.stage_seconds) == ["export", "fit", "evaluate", "ranker", "save"]
    assert all(s > 0 for s in outcome.stage_seconds.values())
    assert outcome.metrics["by_bundle"], "per-bundle breakdown is empty"
    for name in ("coverage", "novelty", "genre_diversity", "precision@10", "map@10"):
        assert name in outcome.metrics

    model = load_version(outcome.path)
    written = publish(driver, model, database=db, progress=False)
    assert written["Program"] == len(model.id_map.ids["Program"])
    some_program = dataset_ids(loaded_tv)["Program"][0]
    records, _, _ = driver.execute_query(
        "MATCH (p:Program {id: $id}) RETURN p.embedding AS e, p.embedding_version AS v",
        id=some_program, database_=db,
    )  # fmt: skip
    row = int(model.id_map.rows("Program", [some_program])[0])
    assert records[0]["v"] == model.version
    assert np.allclose(records[0]["e"], model.embeddings[row], atol=1e-6)
    records, _, _ = driver.execute_query(
        "CALL db.index.vector.queryNodes('program_embedding', 3, $v) YIELD node "
        "RETURN node.id AS id",
        v=model.embeddings[row].tolist(), database_=db,
    )  # fmt: skip
    assert records[0]["id"] == some_program

    again = evaluate_version(driver, outcome.path, database=db)
    assert again["ndcg@10"] == pytest.approx(outcome.metrics["ndcg@10"])


def test_a_corrupted_version_is_refused(
    driver: Driver, neo4j_settings: Settings, loaded_tv: Path, tmp_path: Path
) -> None:
    outcome = train_version(
        driver, database=neo4j_settings.neo4j_database, models_dir=tmp_path,
        train_config=SMALL.model_copy(update={"epochs": 2}), progress=False,
    )  # fmt: skip
    embeddings = outcome.path / "embeddings.npy"
    data = bytearray(embeddings.read_bytes())
    data[-4:] = b"\x00\x00\xc0\x7f"  # a NaN in the last float
    embeddings.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum"):
        load_version(outcome.path)
