"""The embeddings the API serves from: one model version, held in memory.

Loaded once in the lifespan (never per request) from the version Neo4j marks
as serving, else the newest version on disk. Scores are dot products, the
same as training; "similar programs" uses cosine similarity.

Fold-in: a user's vector is refreshed from their recent watches without a
retrain (:meth:`ServingModel.user_vector`). The fold-in vector is the weighted
mean of the program vectors of the user's last ``GRAPHRAILS_FOLD_IN_WATCHES``
watches, weight ``completion * FOLD_IN_DECAY ** rank`` (rank 0: the most
recent; programs the version does not know are left out). A user the version
does not know is scored with it alone; a user it knows, with their trained
vector while none of those watches is newer than the version, else with the
unit trained vector and the unit fold-in mixed by the share of those watches
that are newer (their last event after the version's ``created_at``).

A version with a genre/channel term (:mod:`gnn.genre_channel`) adds it to every
score: its user side (their shares of genres and channels) comes from the training
positives for a trained user and from the same weighted watches for a fold-in, mixed
as the vectors are.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from neo4j import AsyncDriver, RoutingControl

from gnn.artifacts import ArtifactError, ModelVersion, list_versions, load_version, read_gate
from gnn.genre_channel import GenreChannel
from gnn.ranker import Ranker, RankerFeaturesError, compile_kernels
from graph.queries import query

log = logging.getLogger(__name__)

Floats = npt.NDArray[np.float32]

FOLD_IN_DECAY = 0.9
"""Weight of a watch in the fold-in relative to the next more recent one."""


@dataclass(frozen=True)
class RecentWatch:
    """One of a user's recent watches, as ``cypher/rails/user_context`` reads it."""

    program_id: str
    completion: float | None
    """Best completion; None (MovieLens) counts as 1."""
    last_ts: float | None
    """Epoch seconds of the latest event."""


@dataclass(frozen=True)
class UserVector:
    """The vector a user's rails are scored with, and how it was made."""

    vector: Floats
    how: str
    """``trained``, ``fold_in`` or ``trained+fold_in``."""
    new_share: float
    """Share of the folded-in watches that are newer than the version."""
    shares: Floats | None = None
    """The user's genre and channel shares when the version has a genre/channel term."""


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
    trained_at: float | None = None
    """Epoch seconds when the version was saved (its manifest's ``created_at``)."""
    program_bias: Floats | None = None
    """Each program's learned bias, added to every score, when the version has one; then
    :attr:`programs` and :attr:`users` hold the other columns."""
    ranker: Ranker | None = None
    """The version's ranker (P(complete), :mod:`api.rails.ranking`), if it has one."""
    genre_channel: GenreChannel | None = None
    """The genre/channel term the version's scores add, if it has one."""

    @classmethod
    def from_version(cls, model: ModelVersion) -> ServingModel:
        ids = model.id_map.ids
        p0, u0 = model.id_map.offsets["Program"], model.id_map.offsets["User"]
        programs = model.embeddings[p0 : p0 + len(ids["Program"])]
        users = model.embeddings[u0 : u0 + len(ids["User"])]
        bias = None
        if model.bias_column:
            programs, bias, users = programs[:, :-1], programs[:, -1].copy(), users[:, :-1]
        norms = np.linalg.norm(programs, axis=1, keepdims=True)
        return cls(
            version=model.version,
            program_ids=np.asarray(ids["Program"], dtype=object),
            programs=programs,
            programs_unit=programs / np.maximum(norms, 1e-12),
            user_rows={str(u): i for i, u in enumerate(ids["User"])},
            users=users,
            program_rows={str(p): i for i, p in enumerate(ids["Program"])},
            trained_at=model.trained_at,
            program_bias=bias,
            ranker=_ranker(model),
            genre_channel=model.genre_channel,
        )

    def knows_user(self, user_id: str) -> bool:
        return user_id in self.user_rows

    def for_user(self, user_id: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` best programs for a user by score (empty for an unknown user)."""
        row = self.user_rows.get(user_id)
        if row is None:
            return []
        return self._top(self._scores(self.users[row], self._trained_shares(row)), n)

    def for_vector(
        self, vector: Floats, n: int, *, shares: Floats | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` best programs for a user vector and shares (see :meth:`user_vector`)."""
        return self._top(self._scores(vector, shares), n)

    def _scores(self, vector: Floats, shares: Floats | None = None) -> Floats:
        scores: Floats = self.programs @ vector
        if self.program_bias is not None:
            scores = scores + self.program_bias
        if self.genre_channel is not None and shares is not None:
            scores = scores + self.genre_channel.scores(shares)[0]
        return scores

    def _trained_shares(self, row: int) -> Floats | None:
        if self.genre_channel is None:
            return None
        dense: Floats = self.genre_channel.user_shares[row].toarray()[0]
        return dense

    def _weighted_watches(self, watches: Sequence[RecentWatch]) -> tuple[list[int], list[float]]:
        """Rows of the watches the version knows, and their fold-in weights."""
        rows: list[int] = []
        weights: list[float] = []
        for rank, watch in enumerate(watches):
            row = self.program_rows.get(watch.program_id)
            completion = 1.0 if watch.completion is None else watch.completion
            weight = completion * FOLD_IN_DECAY**rank
            if row is not None and weight > 0:
                rows.append(row)
                weights.append(weight)
        return rows, weights

    def _folded_shares(self, rows: list[int], weights: list[float]) -> Floats | None:
        if self.genre_channel is None:
            return None
        counts = sp.csr_matrix((weights, ([0] * len(rows), rows)), shape=(1, len(self.program_ids)))
        dense: Floats = self.genre_channel.shares_of(counts).toarray()[0]
        return dense

    def fold_in(self, watches: Sequence[RecentWatch]) -> tuple[Floats, int] | None:
        """The weighted mean of the program vectors of ``watches`` (most recent first), and
        how many watches it used; None when none is known to the version with a weight > 0."""
        return self._fold(*self._weighted_watches(watches))

    def _fold(self, rows: list[int], weights: list[float]) -> tuple[Floats, int] | None:
        if not rows:
            return None
        mean = np.average(self.programs[rows], axis=0, weights=weights)
        if self.program_bias is not None:
            # Against a bias, a vector's length weighs taste against popularity: give the
            # fold-in the length trained users have.
            mean = _unit(mean) * self._typical_user_norm
        return mean.astype(np.float32), len(rows)

    def user_vector(
        self, user_id: str, recent: Sequence[RecentWatch], *, min_watches: int
    ) -> UserVector | None:
        """The vector to score ``user_id`` with (module docstring), or None: the version
        does not know the user and fewer than ``min_watches`` of ``recent`` fold in."""
        row = self.user_rows.get(user_id)
        weighted = self._weighted_watches(recent)
        folded = self._fold(*weighted)
        if row is None:
            if folded is None or folded[1] < min_watches:
                return None
            folded_shares = self._folded_shares(*weighted)
            return UserVector(folded[0], "fold_in", 1.0, folded_shares)
        trained = self.users[row]
        trained_shares = self._trained_shares(row)
        known = [w for w in recent if w.program_id in self.program_rows]
        newer = sum(
            1
            for w in known
            if self.trained_at is not None and w.last_ts is not None and w.last_ts > self.trained_at
        )
        if folded is None or newer == 0:
            return UserVector(trained, "trained", 0.0, trained_shares)
        share = newer / len(known)
        mixed = (1 - share) * _unit(trained) + share * _unit(folded[0])
        if self.program_bias is not None:
            mixed = _unit(mixed) * float(np.linalg.norm(trained))
        shares = trained_shares
        folded_shares = self._folded_shares(*weighted)
        if trained_shares is not None and folded_shares is not None:
            shares = ((1 - share) * trained_shares + share * folded_shares).astype(np.float32)
        return UserVector(mixed.astype(np.float32), "trained+fold_in", share, shares)

    @functools.cached_property
    def _typical_user_norm(self) -> float:
        return float(np.median(np.linalg.norm(self.users, axis=1))) if len(self.users) else 1.0

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


def _unit(vector: Floats) -> Floats:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


async def load_serving_model(
    driver: AsyncDriver, *, database: str, models_dir: Path
) -> ServingModel | None:
    """The serving version (as marked in Neo4j), else the newest on disk the gate did not
    refuse, else None."""
    records, _, _ = await driver.execute_query(
        query("models/serving"), database_=database, routing_=RoutingControl.READ
    )
    candidates = [Path(records[0]["path"])] if records and records[0]["path"] else []
    # Without a serving version, the newest on disk, but never one the quality gate refused.
    fallback = list(reversed(list_versions(models_dir)))
    for i, path in enumerate(candidates + fallback):
        try:
            if i >= len(candidates) and (read_gate(path) or {}).get("outcome") == "refused":
                continue
            return ServingModel.from_version(load_version(path))
        except ArtifactError:
            continue  # a broken version never serves; the next one may
    return None


def _ranker(model: ModelVersion) -> Ranker | None:
    """The version's ranker; None without one, or (logged) when it was fitted on other
    features than this code computes: the version then serves in retrieval order."""
    if not model.ranker_text:
        return None
    try:
        ranker = Ranker.from_text(model.ranker_text)
        compile_kernels()  # not in the first ranked rail
        return ranker
    except RankerFeaturesError as e:
        log.warning("version %s serves in retrieval order: %s (a retrain fits a new ranker)",
                    model.version, e)  # fmt: skip
        return None
