"""Publishing a version just trained (``graphrails train``, the demo), outside the retrain gate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neo4j import Driver

    from graph.settings import Settings


class PublishRefusedError(RuntimeError):
    """A version just trained was not published: it is broken, or a retrain holds the lock."""


def publish_trained(
    driver: Driver, settings: Settings, path: Path, metrics: dict[str, Any], *, progress: bool
) -> dict[str, int]:
    """Publish a version just trained (`train`, the demo): no comparison with the serving
    version (that is `retrain`'s gate), but never a broken one (NaN, collapsed embeddings,
    no finite holdout metric; it is kept, marked refused), and under the retrain lock, since
    a retrain finishing meanwhile would publish over it. What was written, per label.

    Raises:
        PublishRefusedError: the version is broken, or a retrain is running.
    """
    from gnn.artifacts import load_version, write_gate
    from gnn.gate import sanity_problem
    from gnn.pipeline import publish
    from gnn.retrain import RetrainLockedError, retrain_lock

    model = load_version(path)
    if problem := sanity_problem(model, metrics, min_users=0):
        write_gate(path, {  # the API's start-up fallback skips it too
            "outcome": "refused", "reason": problem, "by": "graphrails train",
            "decided_at": datetime.now(UTC).isoformat(timespec="seconds")})  # fmt: skip
        raise PublishRefusedError(
            f"not published: {problem}. The version is saved in {path}; "
            f"'graphrails models promote {path.name} --force' publishes it anyway"
        )
    try:
        with retrain_lock(settings.models_dir):
            return publish(driver, model, database=settings.neo4j_database, progress=progress,
                           candidates=settings.candidates)  # fmt: skip
    except RetrainLockedError as e:  # only the lock raises it: publish() never retrains
        raise PublishRefusedError(f"refused: {e}; try again when it has finished") from e
