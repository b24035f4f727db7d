"""The embeddings the API serves from: one model version, held in memory.

Loaded once in the lifespan (never per request) from the version Neo4j marks
as serving, else the newest version on disk. Scores are dot products, the
same as training; "similar programs" uses cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from neo4j import AsyncDriver, RoutingControl

from gnn.artifacts import ArtifactError, ModelVersion, list_versions, load_version
from graph.queries import query

Floats = npt.NDArray[np.float32]


@dataclass
class ServingModel:
    """Program and user matrices of one version, indexed by external id."""

    version: str
    program_ids: npt.NDArray[np.object_]
    programs: Floats
    programs_unit: Floats
    user_rows: dict[str, int]
    users: Floats
    program_rows: dict[str, int]

    @classmethod
    def from_version(cls, model: ModelVersion) -> ServingModel:
        ids = model.id_map.ids
        p0, u0 = model.id_map.offsets["Program"], model.id_map.offsets["User"]
        programs = model.embeddings[p0 : p0 + len(ids["Program"])]
        norms = np.linalg.norm(programs, axis=1, keepdims=True)
        return cls(
            version=model.version,
            program_ids=np.asarray(ids["Program"], dtype=object),
            programs=programs,
            programs_unit=programs / np.maximum(norms, 1e-12),
            user_rows={str(u): i for i, u in enumerate(ids["User"])},
            users=model.embeddings[u0 : u0 + len(ids["User"])],
            program_rows={str(p): i for i, p in enumerate(ids["Program"])},
        )

    def knows_user(self, user_id: str) -> bool:
        return user_id in self.user_rows

    def for_user(self, user_id: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` best programs for a user by score (empty for an unknown user)."""
        row = self.user_rows.get(user_id)
        if row is None:
            return []
        return self._top(self.programs @ self.users[row], n)

    def similar(self, program_id: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` programs most similar to ``program_id`` (itself excluded)."""
        row = self.program_rows.get(program_id)
        if row is None:
            return []
        scores = self.programs_unit @ self.programs_unit[row]
        scores[row] = -np.inf
        return self._top(scores, n)

    def similarity(self, a: str, b: str) -> float | None:
        """Cosine similarity of two programs, or None if the model lacks one."""
        ra, rb = self.program_rows.get(a), self.program_rows.get(b)
        if ra is None or rb is None:
            return None
        return float(self.programs_unit[ra] @ self.programs_unit[rb])

    def _top(self, scores: npt.NDArray[np.float32], n: int) -> list[tuple[str, float]]:
        n = min(n, scores.size)
        best = np.argpartition(-scores, n - 1)[:n] if n < scores.size else np.arange(scores.size)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [
            (str(self.program_ids[i]), float(scores[i])) for i in best if np.isfinite(scores[i])
        ]


async def load_serving_model(
    driver: AsyncDriver, *, database: str, models_dir: Path
) -> ServingModel | None:
    """The serving version (as marked in Neo4j), else the newest on disk, else None."""
    records, _, _ = await driver.execute_query(
        query("rails/serving_version"), database_=database, routing_=RoutingControl.READ
    )
    candidates = [Path(records[0]["path"])] if records and records[0]["path"] else []
    candidates += list(reversed(list_versions(models_dir)))
    for path in candidates:
        try:
            return ServingModel.from_version(load_version(path))
        except ArtifactError:
            continue  # a broken version never serves; the next one may
    return None
