"""Per-user candidate lists, computed offline from a model version and stored on the graph.

A home rail's first source is the user's best ``k`` programs by score (the dot product,
as in training). Computing them is a product with the whole program matrix; doing it
for every user when a version is published (and writing the lists on the ``User``
nodes, tagged with the version) lets a rail request read them in the same Cypher
statement that tests their eligibility live: candidates are precomputed, eligibility
never is (``cypher/rails/home.cypher``).

The lists are written for the users the version knows, with their trained vectors.
A user it does not know (folded in from their recent watches), or one whose watches
since moved their vector, gets a fresh list from the API on their next home request
(see ``api/rails/refresh.py``); until then the API computes their candidates itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from neo4j import Driver
from tqdm import tqdm

from gnn.artifacts import ModelVersion
from graph.queries import query
from graph.settings import Settings

PER_USER: int = Settings.model_fields["candidates"].default
"""Candidates stored per user: ``GRAPHRAILS_CANDIDATES``'s default (the API uses the
stored list only when it holds at least as many as its own setting asks for)."""
BLOCK = 1_024
"""Users scored at once: a ``BLOCK x programs`` float32 matrix (80 MB at 20,000 programs)."""
WRITE_BATCH = 2_000
"""Users per write transaction."""

Floats = npt.NDArray[np.float32]


def top_k(
    users: Floats,
    programs: Floats,
    k: int,
    *,
    bias: Floats | None = None,
    extra: Floats | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The rows of the ``k`` best programs for each user (best first) and their scores,
    ``bias`` (one per program) and ``extra`` (``[users, programs]``, the genre/channel
    term) added to every score.

    The same scores and selection as the API's ``ServingModel`` (the product, then the
    bias, then the term; a partition, then a stable sort of the best ``k`` by score), one
    row per user.
    """
    scores = users @ programs.T
    if bias is not None:
        scores += bias
    if extra is not None:
        scores += extra
    k = min(k, scores.shape[1])
    if k < scores.shape[1]:
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        best = np.broadcast_to(np.arange(scores.shape[1]), scores.shape).copy()
    picked = np.take_along_axis(scores, best, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    return best.astype(np.int64), np.take_along_axis(picked, order, axis=1)


def user_candidates(model: ModelVersion, *, k: int = PER_USER) -> Iterator[list[dict[str, object]]]:
    """Rows for ``cypher/candidates/users.cypher`` (``id``, ``program_ids``, ``scores``),
    :data:`BLOCK` users at a time, for every user ``model`` knows."""
    ids = model.id_map.ids
    p0, u0 = model.id_map.offsets["Program"], model.id_map.offsets["User"]
    programs = model.embeddings[p0 : p0 + len(ids["Program"])]
    users = model.embeddings[u0 : u0 + len(ids["User"])]
    bias = None
    if model.bias_column:  # scored as the API scores: the other columns, then the bias
        programs, bias, users = programs[:, :-1], programs[:, -1].copy(), users[:, :-1]
    program_ids = np.asarray(ids["Program"], dtype=object)
    user_ids = ids["User"]
    term = model.genre_channel
    for a in range(0, len(user_ids), BLOCK):
        extra = None if term is None else term.scores(term.user_shares[a : a + BLOCK])
        rows, scores = top_k(users[a : a + BLOCK], programs, k, bias=bias, extra=extra)
        out = []
        for user, r, s in zip(user_ids[a : a + BLOCK], rows, scores, strict=True):
            finite = np.isfinite(s)
            out.append({"id": str(user), "program_ids": [str(p) for p in program_ids[r[finite]]],
                        "scores": s[finite].astype(float).tolist()})  # fmt: skip
        yield out


def write_user_candidates(
    driver: Driver, model: ModelVersion, *, database: str, k: int = PER_USER,
    progress: bool = True,
) -> int:  # fmt: skip
    """Write every known user's best ``k`` programs (``User.candidates``, their scores in
    ``User.candidate_scores``, ``User.candidates_version``), ``WRITE_BATCH`` users per
    transaction; how many users were written."""
    statement = query("candidates/users")
    at = model.trained_at
    total = len(model.id_map.ids["User"])
    batch: list[dict[str, object]] = []
    written = 0
    with tqdm(total=total, desc="candidates User", disable=not progress) as bar:
        for rows in user_candidates(model, k=k):
            batch += rows
            if len(batch) >= WRITE_BATCH:
                driver.execute_query(statement, rows=batch, version=model.version, at=at,
                                     database_=database)  # fmt: skip
                written += len(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            driver.execute_query(statement, rows=batch, version=model.version, at=at,
                                 database_=database)  # fmt: skip
            written += len(batch)
            bar.update(len(batch))
    return written
