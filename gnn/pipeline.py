"""Train, evaluate and publish a model version: export -> fit -> evaluate -> artifact -> Neo4j.

The trainer never imports the API; the API reads what :func:`publish` writes
(the artifact directory and the embeddings on the nodes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from neo4j import Driver
from tqdm import tqdm

from gnn.artifacts import ModelVersion, list_versions, load_version, read_gate, save_version
from gnn.candidates import PER_USER, write_program_candidates, write_user_candidates
from gnn.export import ExportConfig, export_graph
from gnn.genre_channel import GenreChannel
from gnn.idmap import IdMap
from gnn.metrics import (
    PAD,
    Ranking,
    catalogue_coverage,
    intra_list_diversity,
    metrics_by_group,
    novelty,
    ranking_metrics,
)
from gnn.model import recommend
from gnn.ranker_train import RankerConfig, build_examples, fit_ranker
from gnn.train import TrainConfig, fit, pair_keys, split_positives
from graph.queries import query

log = logging.getLogger("graphrails.pipeline")

HOLDOUT_FRACTION = 0.1
"""Share of each user's positives held out to evaluate a version."""
EVAL_K = 10
PUBLISH_BATCH = 2_000


@dataclass
class TrainOutcome:
    path: Path
    metrics: dict[str, Any]
    fit_seconds: float
    seconds_per_epoch: float
    epochs: int
    stage_seconds: dict[str, float]
    """Wall time of each stage: export, fit, evaluate, ranker, save."""


def train_version(
    driver: Driver,
    *,
    database: str,
    models_dir: Path,
    train_config: TrainConfig | None = None,
    export_config: ExportConfig | None = None,
    holdout_fraction: float = HOLDOUT_FRACTION,
    k: int = EVAL_K,
    progress: bool = True,
    ranker_config: RankerConfig | None = None,
    ranker: bool = True,
) -> TrainOutcome:
    """Export the graph, fit on all but a per-user holdout, evaluate, train the ranker
    (:mod:`gnn.ranker_train`; ``ranker=False``: none), and save a version; the ranker is
    saved with it only if it passed its gate (the manifest's ``ranker`` says why not)."""
    train_config = train_config or TrainConfig()
    export_config = export_config or ExportConfig()
    stages: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages[stage], clock = now - clock, now

    exported = export_graph(driver, database=database, config=export_config, progress=progress)
    lap("export")
    pairs = torch.as_tensor(
        np.stack([exported.positives["user"], exported.positives["program"]]), dtype=torch.long
    )
    # The holdout is a function of the (user, program) ids: a retrain on a graph that has
    # grown holds out the same pairs again (plus its share of the new ones), so the gate
    # finds pairs neither version was trained on.
    ids = exported.id_map.ids
    keys = pair_keys(
        ids["User"][exported.positives["user"] - exported.id_map.offsets["User"]],
        ids["Program"][exported.positives["program"] - exported.id_map.offsets["Program"]],
        seed=train_config.seed,
    )
    train_mask, holdout_mask = split_positives(pairs, fraction=holdout_fraction, keys=keys)
    train_positives = exported.positives[train_mask.numpy()]
    result = fit(exported.train_graph(train_positives), train_config, progress=progress)
    lap("fit")
    embeddings = result.embeddings.numpy().astype(np.float32)
    train_pairs = pairs[:, train_mask].numpy()
    holdout_pairs = pairs[:, holdout_mask].numpy()
    term = result.genre_channel
    metrics = evaluate_embeddings(
        driver, database=database, embeddings=embeddings, id_map=exported.id_map,
        train_pairs=train_pairs, holdout=holdout_pairs, k=k, genre_channel=term,
    )  # fmt: skip
    lap("evaluate")
    ranker_text, ranker_record = None, None
    if ranker:
        ranker_text, ranker_record = train_ranker(
            driver, database=database, embeddings=embeddings, id_map=exported.id_map,
            train_pairs=train_pairs, holdout=holdout_pairs, holdout_fraction=holdout_fraction,
            min_completion=export_config.min_completion,
            config=ranker_config or RankerConfig(), progress=progress, genre_channel=term,
        )  # fmt: skip
        metrics["ranker"] = ranker_record
        lap("ranker")
    manifest = {
        "train_config": result.config.model_dump(mode="json"),
        "export_config": export_config.model_dump(mode="json"),
        "holdout_fraction": holdout_fraction,
        "metrics": metrics,
        "stats": exported.stats,
        "fit": {
            "seconds": result.fit_seconds,
            "seconds_per_epoch": result.seconds_per_epoch,
            "epochs": result.best_epoch,
        },
    }
    path = save_version(
        models_dir, embeddings=embeddings, id_map=exported.id_map,
        train_positives=train_pairs, holdout=holdout_pairs, manifest=manifest,
        ranker_text=ranker_text, genre_channel=term,
    )  # fmt: skip
    lap("save")
    return TrainOutcome(
        path, metrics, result.fit_seconds, result.seconds_per_epoch, result.best_epoch, stages
    )


def train_ranker(
    driver: Driver,
    *,
    database: str,
    embeddings: npt.NDArray[np.float32],
    id_map: IdMap,
    train_pairs: npt.NDArray[np.int64],
    holdout: npt.NDArray[np.int64],
    holdout_fraction: float,
    min_completion: float,
    config: RankerConfig,
    progress: bool = True,
    genre_channel: GenreChannel | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """The ranker of new embeddings (LightGBM text; None when its gate refused it or it
    could not be trained) and its record. Never raises: a version without a ranker serves
    in retrieval order."""
    t0 = time.perf_counter()
    try:
        examples = build_examples(
            driver, database=database, embeddings=embeddings, id_map=id_map,
            train_pairs=train_pairs, holdout=holdout, holdout_fraction=holdout_fraction,
            min_completion=min_completion, config=config, progress=progress,
            genre_channel=genre_channel,
        )  # fmt: skip
        fitted, record = fit_ranker(examples, config)
    except Exception as e:  # the embeddings are still worth their own gate
        log.exception("the ranker could not be trained")
        fitted, record = None, {"outcome": "failed", "reason": f"{type(e).__name__}: {e}"}
    record["seconds"] = time.perf_counter() - t0
    log.info("ranker %s: %s", record["outcome"], record["reason"])
    return (fitted.to_text() if fitted is not None else None), record


def evaluate_version(
    driver: Driver, path: Path, *, database: str, k: int = EVAL_K
) -> dict[str, Any]:
    """Score a saved version on its holdout (the same numbers as when it was trained)."""
    model = load_version(path)
    return evaluate_embeddings(
        driver, database=database, embeddings=model.embeddings, id_map=model.id_map,
        train_pairs=model.train_positives, holdout=model.holdout, k=k,
        genre_channel=model.genre_channel,
    )  # fmt: skip


def evaluate_embeddings(
    driver: Driver,
    *,
    database: str,
    embeddings: npt.NDArray[np.float32],
    id_map: IdMap,
    train_pairs: npt.NDArray[np.int64],
    holdout: npt.NDArray[np.int64],
    k: int,
    genre_channel: GenreChannel | None = None,
) -> dict[str, Any]:
    """Ranking metrics on ``holdout``, beyond-accuracy metrics and a per-bundle breakdown
    (scores: the embeddings' dot products plus ``genre_channel``'s term, if any)."""
    users = np.unique(holdout[0])
    if users.size == 0:
        raise ValueError("the holdout is empty: no user has enough positives to evaluate")
    programs = id_map.label_rows("Program")
    top, _ = recommend(
        torch.as_tensor(embeddings), users=torch.as_tensor(users),
        programs=torch.as_tensor(programs), exclude=torch.as_tensor(train_pairs), k=k,
        extra=None if genre_channel is None else genre_channel.for_id_map(id_map),
    )  # fmt: skip
    rec = top.numpy()
    row_of_user = {int(u): i for i, u in enumerate(users)}
    rows = np.array([row_of_user[int(u)] for u in holdout[0]], dtype=np.int64)
    ranking = Ranking.from_arrays(rec, rows, holdout[1], k=k)
    out: dict[str, Any] = ranking_metrics(ranking)

    popularity = dict(zip(*np.unique(train_pairs[1], return_counts=True), strict=True))
    out["coverage"] = catalogue_coverage(rec, catalogue_size=programs.size)
    out["novelty"] = novelty(
        rec, popularity={int(p): int(c) for p, c in popularity.items()},
        num_users=len(id_map.ids["User"]),
    )  # fmt: skip
    genres = _program_genres(driver, database, id_map)
    out["genre_diversity"] = intra_list_diversity(rec[rec[:, 0] != PAD], genres=genres)
    out["by_bundle"] = _by_bundle(driver, database, id_map, users, ranking)
    return out


@dataclass
class Serving:
    """The version Neo4j marks as serving, and the one a rollback would restore."""

    version: str
    path: str | None
    previous: str | None


def serving_version(driver: Driver, *, database: str) -> Serving | None:
    """The serving version as marked in Neo4j, or None when no version is."""
    records, _, _ = driver.execute_query(query("models/serving"), database_=database)
    if not records:
        return None
    r = records[0]
    return Serving(str(r["version"]), r["path"], r["previous"])


def publish(
    driver: Driver,
    model: ModelVersion,
    *,
    database: str,
    progress: bool = True,
    candidates: int = PER_USER,
) -> dict[str, int]:
    """Publish a version: :func:`write_embeddings`, then :func:`mark_serving`."""
    written = write_embeddings(
        driver, model, database=database, progress=progress, candidates=candidates
    )
    mark_serving(driver, model, database=database)
    return written


def write_embeddings(
    driver: Driver,
    model: ModelVersion,
    *,
    database: str,
    progress: bool = True,
    candidates: int = PER_USER,
) -> dict[str, int]:
    """Write program and user embeddings (tagged with the version), the vector index,
    each known user's best ``candidates`` programs and each known program's ``candidates``
    most similar ones (:mod:`gnn.candidates`).

    Batch by batch: until :func:`mark_serving` flips the serving flag, nodes may
    carry either version's vectors (``embedding_version`` says which). The API
    serves from the artifact of the serving version, so it switches only at the flip.
    """
    written = {}
    for label in ("Program", "User"):
        ids = model.id_map.ids[label]
        start = model.id_map.offsets[label]
        statement = query(f"publish/{label.lower()}_embeddings")
        with tqdm(total=len(ids), desc=f"publish {label}", disable=not progress) as bar:
            for a in range(0, len(ids), PUBLISH_BATCH):
                b = min(a + PUBLISH_BATCH, len(ids))
                chunk = model.embeddings[start + a : start + b]
                rows = [
                    {"id": str(i), "embedding": v.tolist()}
                    for i, v in zip(ids[a:b], chunk, strict=True)
                ]
                driver.execute_query(statement, rows=rows, version=model.version,
                                     database_=database)  # fmt: skip
                bar.update(len(rows))
        written[label] = len(ids)
    dim = int(model.embeddings.shape[1])
    records, _, _ = driver.execute_query(query("publish/vector_index_dimensions"),
                                         database_=database)  # fmt: skip
    if records and records[0]["dimensions"] not in (None, dim):
        driver.execute_query(query("publish/drop_vector_index"), database_=database)
    driver.execute_query(query("publish/vector_index"), dimensions=dim, database_=database)
    # Before the flip, like the embeddings: the API takes a list only while its version
    # serves, so lists of the next version written early are simply not used yet.
    written["User candidate lists"] = write_user_candidates(
        driver, model, database=database, k=candidates, progress=progress
    )
    written["Program candidate lists"] = write_program_candidates(
        driver, model, database=database, k=candidates, progress=progress
    )
    driver.execute_query(query("publish/await_indexes"), database_=database)
    return written


def mark_serving(driver: Driver, model: ModelVersion, *, database: str) -> str | None:
    """Make ``model`` the serving version; the version it replaced, or None.

    The version is registered first; then one transaction points the registry node
    at it (what readers read, see ``cypher/models/serving.cypher``) and flips the
    ``serving`` flags. The replaced version is what a later :func:`rollback` restores.
    """
    ndcg = model.manifest.get("metrics", {}).get(f"ndcg@{EVAL_K}")
    driver.execute_query(query("publish/register_version"), version=model.version,
                         manifest=str(model.path), ndcg=ndcg, database_=database)  # fmt: skip
    records, _, _ = driver.execute_query(
        query("publish/current_version"), version=model.version, database_=database
    )
    previous = records[0]["previous"] if records else None
    return None if previous is None else str(previous)


def version_path(models_dir: Path, version: str, recorded: str | None = None) -> Path:
    """Where a version lives: in ``models_dir`` if it is there, else the path Neo4j recorded.

    The same models directory may be mounted at other paths (Docker volumes).
    """
    local = models_dir / version
    if local.is_dir() or not recorded:
        return local
    return Path(recorded)


def promote(
    driver: Driver,
    models_dir: Path,
    version: str,
    *,
    database: str,
    force: bool = False,
    progress: bool = True,
) -> str | None:
    """Verify a version on disk and publish it; the version it replaced (or None).

    A version the quality gate refused needs ``force``; a corrupted one is refused
    (:class:`~gnn.artifacts.ArtifactError` names the file).
    """
    path = models_dir / version
    if not path.is_dir():
        known = ", ".join(p.name for p in list_versions(models_dir)[-5:]) or "none"
        raise ValueError(f"no version {version} in {models_dir} (newest: {known})")
    gate = read_gate(path)
    if gate and gate.get("outcome") == "refused" and not force:
        raise ValueError(
            f"version {version} was refused by the quality gate ({gate.get('reason')}); "
            "use --force to serve it anyway"
        )
    model = load_version(path)
    write_embeddings(driver, model, database=database, progress=progress)
    return mark_serving(driver, model, database=database)


def rollback(
    driver: Driver, models_dir: Path, *, database: str, progress: bool = True
) -> tuple[str, str]:
    """Serve again the version the serving one replaced: embeddings, index, then the flag.

    Returns ``(restored, rolled_back)``. Refuses (``ValueError``) when nothing is
    serving or the serving version replaced none, and (:class:`ArtifactError`) when
    the version to restore is missing or corrupted on disk.
    """
    current = serving_version(driver, database=database)
    if current is None:
        raise ValueError("no model version is serving: nothing to roll back")
    if current.previous is None:
        raise ValueError(f"serving version {current.version} replaced none: nothing to restore")
    records, _, _ = driver.execute_query(query("models/versions"), database_=database)
    recorded = {str(r["version"]): r["path"] for r in records}
    model = load_version(version_path(models_dir, current.previous, recorded.get(current.previous)))
    write_embeddings(driver, model, database=database, progress=progress)
    records, _, _ = driver.execute_query(
        query("models/rollback"), current=current.version, database_=database
    )
    if not records:
        raise RuntimeError(
            f"version {current.version} stopped serving during the rollback (another publish?): "
            f"the serving flag was left alone; run graphrails models list"
        )
    return str(records[0]["version"]), str(records[0]["replaced"])


def _program_genres(driver: Driver, database: str, id_map: IdMap) -> dict[int, list[str]]:
    records, _, _ = driver.execute_query(query("export/has_genre"), database_=database)
    frame = pd.DataFrame([r.data() for r in records], columns=["src", "dst"])
    rows = id_map.rows("Program", frame["src"])
    out: dict[int, list[str]] = {}
    for row, genre in zip(rows, frame["dst"], strict=True):
        if row >= 0:
            out.setdefault(int(row), []).append(str(genre))
    return out


def _by_bundle(
    driver: Driver, database: str, id_map: IdMap, users: npt.NDArray[np.int64], ranking: Ranking
) -> dict[str, dict[str, float]]:
    records, _, _ = driver.execute_query(query("export/subscribes_to"), database_=database)
    subs = pd.DataFrame([r.data() for r in records], columns=["src", "dst"])
    subs["user"] = id_map.rows("User", subs["src"])
    position = pd.Series(np.arange(users.size), index=users)
    subs = subs[subs["user"].isin(position.index)]
    # A user in several bundles counts in each: one ranking row per (user, bundle).
    rows = position.loc[subs["user"]].to_numpy()
    expanded = Ranking(hits=ranking.hits[rows], num_relevant=ranking.num_relevant[rows])
    groups: list[Hashable] = list(subs["dst"].astype(str))
    per_group = metrics_by_group(expanded, groups) if groups else {}
    return {str(g): m for g, m in sorted(per_group.items(), key=lambda kv: str(kv[0]))}


def describe(metrics: dict[str, Any]) -> str:
    """Metrics as text: the headline numbers, then one line per bundle."""
    head = {k: v for k, v in metrics.items() if k not in ("by_bundle", "ranker")}
    lines = ["  " + "  ".join(f"{k} {_fmt(v)}" for k, v in head.items())]
    ranker = metrics.get("ranker")
    if ranker:
        lines.append(f"  ranker {ranker.get('outcome')}: {ranker.get('reason')}")
    by_bundle = metrics.get("by_bundle") or {}
    if by_bundle:
        lines.append("  per bundle (users subscribed to it):")
        width = max(len(b) for b in by_bundle)
        for bundle, m in by_bundle.items():
            cells = "  ".join(f"{k} {_fmt(v)}" for k, v in m.items())
            lines.append(f"    {bundle.ljust(width)}  {cells}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and value > 1 else f"{value:.4f}"
    return str(value)
