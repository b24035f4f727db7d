"""Retrain behind the quality gate: train a candidate, gate it, publish it, keep N versions.

One retrain (:func:`retrain`) is: export the graph, fit, evaluate on a per-user
holdout and save the candidate (:func:`gnn.pipeline.train_version`); verify it
on disk; run the gate (:mod:`gnn.gate`) against the version Neo4j marks serving;
record the decision in the candidate's ``gate.json``; publish it if it passed
(embeddings and vector index, then one transaction flips ``serving``); delete
old versions beyond ``keep``, never the serving one or the one a rollback
would restore. A refused candidate stays on disk, marked refused, and never serves.

:func:`run_retrain` adds what the command line and the scheduler need around
it: a lock so that two retrains never run at once (``fcntl.flock`` on a file in
the models directory, released by the OS when the holder dies, even by
``kill -9``), the Neo4j connection, and the Prometheus metrics textfile.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from neo4j import Driver
from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from gnn.artifacts import (
    ArtifactError,
    ModelVersion,
    list_versions,
    load_version,
    prune_versions,
    read_gate,
    read_manifest,
    write_gate,
)

if TYPE_CHECKING:
    from gnn.train import TrainConfig
    from graph.settings import Settings

log = logging.getLogger("graphrails.retrain")

LOCK_FILE = ".retrain.lock"
METRICS_FILE = "retrain.prom"
"""Prometheus textfile (node_exporter's textfile collector format) in the models directory."""
HEADLINE = ("ndcg@10", "recall@10", "precision@10", "map@10", "hit_rate@10", "coverage",
            "novelty", "genre_diversity", "users")  # fmt: skip
"""Holdout metrics reported in the log line and exported to Prometheus."""

Status = Literal["published", "refused", "failed"]
EXIT_CODES: dict[Status, int] = {"published": 0, "refused": 1, "failed": 2}
EXIT_LOCKED = 3


class RetrainLockedError(RuntimeError):
    """Another retrain holds the lock; the message names the lock file and its holder."""


@contextmanager
def retrain_lock(models_dir: Path) -> Iterator[Path]:
    """Hold the retrain lock of ``models_dir`` or raise :class:`RetrainLockedError` at once.

    An advisory ``flock``: the kernel drops it when the holding process exits,
    however it exits, so a crash never leaves a stale lock behind.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / LOCK_FILE
    with path.open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "holder unknown"
            raise RetrainLockedError(
                f"another retrain is running (lock {path} held by {holder}); "
                "it is released when that process ends"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        f.flush()
        try:
            yield path
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class RetrainOutcome:
    """How one retrain ended; :meth:`log_line` is its one structured log line."""

    status: Status
    reason: str
    version: str | None = None
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] | None = None
    pruned: list[str] = field(default_factory=list)
    finished_at: float = field(default_factory=time.time)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def log_line(self) -> str:
        comparison = (self.gate or {}).get("comparison") or {}
        return json.dumps(
            {
                "event": "retrain",
                "status": self.status,
                "version": self.version,
                "seconds": round(self.seconds, 1),
                "gate": (self.gate or {}).get("outcome"),
                "reason": self.reason,
                "metrics": {k: _round(self.metrics[k]) for k in HEADLINE if k in self.metrics},
                "compared": {k: _round(v) for k, v in comparison.items()},
                "ranker": (self.metrics.get("ranker") or {}).get("outcome"),
                "pruned": self.pruned,
            },
            default=str,
        )


def _round(value: Any) -> Any:
    return round(value, 5) if isinstance(value, float) else value


def retrain(
    driver: Driver,
    *,
    database: str,
    models_dir: Path,
    margin: float,
    min_users: int,
    keep: int,
    train_config: TrainConfig | None = None,
    progress: bool = True,
) -> RetrainOutcome:
    """Train a candidate, gate it, publish it if it passes, prune old versions.

    Never raises for a failed step: the outcome says ``failed`` and why. Takes no
    lock (see :func:`run_retrain`).
    """
    from gnn import gate as quality
    from gnn.pipeline import publish, serving_version, train_version, version_path

    t0 = time.perf_counter()
    outcome = RetrainOutcome(status="failed", reason="")
    try:
        trained = train_version(driver, database=database, models_dir=models_dir,
                                train_config=train_config, progress=progress)  # fmt: skip
        outcome.version, outcome.metrics = trained.path.name, trained.metrics
        serving = serving_version(driver, database=database)
        candidate: ModelVersion | None = None
        try:
            candidate = load_version(trained.path)
            baseline = None
            if serving is not None:
                where = version_path(models_dir, serving.version, serving.path)
                try:
                    baseline = load_version(where)
                except ArtifactError as e:
                    raise ArtifactError(
                        f"cannot compare with serving version {serving.version}: {e}; "
                        "promote a version by hand"
                    ) from e
            decision = quality.check(candidate, trained.metrics, baseline,
                                     margin=margin, min_users=min_users)  # fmt: skip
            record = decision.to_record()
        except ArtifactError as e:
            record = {"outcome": "refused", "reason": str(e), "margin": margin,
                      "min_users": min_users,
                      "decided_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
        write_gate(trained.path, record)
        outcome.gate, outcome.reason = record, str(record["reason"])
        if record["outcome"] == "passed" and candidate is not None:
            publish(driver, candidate, database=database, progress=progress)
            outcome.status = "published"
        else:
            outcome.status = "refused"
        now = serving_version(driver, database=database)
        protect = {v for v in (now.version, now.previous) if v} if now else set()
        outcome.pruned = prune_versions(models_dir, keep=keep, protect=protect)
    except Exception as e:  # a failed retrain is an outcome to log, not a crash
        log.exception("retrain failed")
        outcome.status, outcome.reason = "failed", f"{type(e).__name__}: {e}"
    outcome.seconds = time.perf_counter() - t0
    outcome.finished_at = time.time()
    return outcome


def run_retrain(
    settings: Settings,
    *,
    train_config: TrainConfig | None = None,
    progress: bool = True,
    metrics: RetrainMetrics | None = None,
) -> RetrainOutcome:
    """Take the lock, connect, :func:`retrain`, record the metrics textfile, log the outcome.

    Raises :class:`RetrainLockedError` (before touching Neo4j) when another retrain runs.
    """
    from graph.driver import open_driver

    models_dir = settings.models_dir
    with retrain_lock(models_dir):
        t0 = time.perf_counter()
        try:
            with open_driver(settings) as driver:
                outcome = retrain(
                    driver, database=settings.neo4j_database, models_dir=models_dir,
                    margin=settings.gate_margin, min_users=settings.gate_min_users,
                    keep=settings.keep_versions, train_config=train_config, progress=progress,
                )  # fmt: skip
        except Exception as e:  # Neo4j unreachable: a failed run, recorded like the others
            outcome = RetrainOutcome("failed", f"{type(e).__name__}: {e}",
                                     seconds=time.perf_counter() - t0)  # fmt: skip
        if metrics is None:
            metrics = RetrainMetrics.from_textfile(models_dir / METRICS_FILE)
        else:  # the scheduler's, held since it started: catch up with runs made meanwhile
            metrics.catch_up(models_dir / METRICS_FILE)
        metrics.observe(outcome)
        metrics.write(models_dir / METRICS_FILE)
    log.info(outcome.log_line())
    return outcome


class RetrainMetrics:
    """Retrain metrics for Prometheus, in their own registry.

    Written to a textfile after each run; counters and the last success time
    are carried over from the previous file, so one-shot ``graphrails retrain``
    runs add up like the scheduler's.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter("graphrails_retrain_runs", "Retrains by outcome.", ["outcome"],
                            registry=r)  # fmt: skip
        self.last_run = Gauge("graphrails_retrain_last_run_timestamp_seconds",
                              "When the last retrain ended (Unix time).", registry=r)  # fmt: skip
        self.last_success = Gauge(
            "graphrails_retrain_last_success_timestamp_seconds",
            "When the last retrain that published a version ended (Unix time).", registry=r,
        )  # fmt: skip
        self.duration = Gauge("graphrails_retrain_duration_seconds",
                              "Wall time of the last retrain.", registry=r)  # fmt: skip
        self.outcome = Gauge("graphrails_retrain_last_outcome",
                             "1 for the outcome of the last retrain, 0 for the others.",
                             ["outcome"], registry=r)  # fmt: skip
        self.gate_passed = Gauge("graphrails_retrain_gate_passed",
                                 "1 if the last candidate passed the quality gate, else 0.",
                                 registry=r)  # fmt: skip
        self.holdout = Gauge("graphrails_retrain_holdout_metric",
                             "Holdout metrics of the last candidate.", ["metric"],
                             registry=r)  # fmt: skip
        self.compared = Gauge(
            "graphrails_retrain_gate_ndcg_at_10",
            "NDCG@10 of the last candidate and of the serving version on the same pairs.",
            ["model"], registry=r,
        )  # fmt: skip
        for status in EXIT_CODES:
            self.runs.labels(status)
            self.outcome.labels(status).set(0)

    @classmethod
    def from_textfile(cls, path: Path) -> RetrainMetrics:
        """New metrics that continue the counters and last success time found in ``path``."""
        metrics = cls()
        metrics.catch_up(path)
        return metrics

    def catch_up(self, path: Path) -> None:
        """Raise the counters and last success time to those in ``path`` where it has more:
        runs another process recorded there since (a ``graphrails retrain`` by hand next
        to the scheduler) count here too, so no counter ever goes back. A file that does
        not parse is logged and ignored: metrics never fail a retrain."""
        try:
            families = list(text_string_to_metric_families(path.read_text()))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:  # parse errors are ValueErrors (and subclasses)
            log.warning("%s: not a Prometheus textfile (%s); counting from here", path, e)
            return
        for family in families:
            for sample in family.samples:
                if sample.name == "graphrails_retrain_runs_total":
                    outcome = sample.labels.get("outcome", "")
                    if outcome in EXIT_CODES:
                        here = self.registry.get_sample_value(sample.name, sample.labels) or 0
                        if sample.value > here:
                            self.runs.labels(outcome).inc(sample.value - here)
                elif sample.name == "graphrails_retrain_last_success_timestamp_seconds" and (
                    sample.value > (self.registry.get_sample_value(sample.name) or 0)
                ):
                    self.last_success.set(sample.value)

    def observe(self, outcome: RetrainOutcome) -> None:
        self.runs.labels(outcome.status).inc()
        self.last_run.set(outcome.finished_at)
        self.duration.set(outcome.seconds)
        for status in EXIT_CODES:
            self.outcome.labels(status).set(1 if status == outcome.status else 0)
        if outcome.status == "published":
            self.last_success.set(outcome.finished_at)
        self.gate_passed.set(1 if (outcome.gate or {}).get("outcome") == "passed" else 0)
        for name in HEADLINE:
            value = outcome.metrics.get(name)
            if isinstance(value, int | float):
                self.holdout.labels(name).set(value)
        comparison = (outcome.gate or {}).get("comparison") or {}
        for model in ("candidate", "serving"):
            value = comparison.get(f"{model}_ndcg")
            if isinstance(value, int | float):
                self.compared.labels(model).set(value)

    def write(self, path: Path) -> None:
        """Write the textfile atomically (``write_to_textfile`` renames a temporary file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), self.registry)


@dataclass
class VersionRow:
    """One line of ``graphrails models list``."""

    version: str
    created: str | None
    metrics: dict[str, Any]
    gate: str
    gate_reason: str
    role: str
    published_at: str | None
    on_disk: bool


def list_models(models_dir: Path, published: list[dict[str, Any]]) -> list[VersionRow]:
    """Versions on disk and in Neo4j (``published``: rows of ``cypher/models/versions``).

    ``role`` is ``serving``, ``rollback`` (what a rollback would restore), ``rolled
    back``, ``published`` (served once) or empty; oldest first.
    """
    by_id = {str(r["version"]): r for r in published}
    serving = next((r for r in published if r.get("serving")), None)
    rollback_to = serving.get("previous") if serving else None
    names = {p.name for p in list_versions(models_dir)} | set(by_id)
    rows = []
    for name in sorted(names):
        path = models_dir / name
        manifest = read_manifest(path) or {}
        try:
            gate = read_gate(path) or {}
        except ArtifactError as e:
            gate = {"outcome": "unreadable", "reason": str(e)}
        node = by_id.get(name, {})
        if node.get("serving"):
            role = "serving"
        elif name == rollback_to:
            role = "rollback"
        elif node.get("rolled_back_at"):
            role = "rolled back"
        elif node:
            role = "published"
        else:
            role = ""
        rows.append(
            VersionRow(
                version=name,
                created=manifest.get("created_at"),
                metrics=manifest.get("metrics", {}),
                gate=str(gate.get("outcome", "-")),
                gate_reason=str(gate.get("reason", "")),
                role=role,
                published_at=node.get("published_at"),
                on_disk=path.is_dir(),
            )
        )
    return rows


def format_models(rows: list[VersionRow]) -> str:
    """The ``models list`` table: one version per line, the gate's reason under refusals."""
    head = ["version", "created", "ndcg@10", "recall@10", "gate", "role", "published"]
    cells = []
    for r in rows:
        ndcg, recall = r.metrics.get("ndcg@10"), r.metrics.get("recall@10")
        cells.append([
            ("* " if r.role == "serving" else "  ") + r.version,
            r.created or ("(not on disk)" if not r.on_disk else "-"),
            f"{ndcg:.4f}" if isinstance(ndcg, float) else "-",
            f"{recall:.4f}" if isinstance(recall, float) else "-",
            r.gate, r.role or "-", r.published_at or "-",
        ])  # fmt: skip
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(["  " + head[0], *head[1:]], widths,
                                                   strict=True)).rstrip()]  # fmt: skip
    for r, c in zip(rows, cells, strict=True):
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
        if r.gate == "refused":
            lines.append(f"      refused: {r.gate_reason}")
    return "\n".join(lines)
