"""Candidate lists, computed offline from a model version and stored on the graph: per
user (the home rail) and per program (the rails about a program: similar,
because-you-watched).

A home rail's first source is the user's best ``k`` programs by score (the dot product,
as in training). Computing them is a product with the whole program matrix; doing it
for every user when a version is published (and writing the lists on the ``User``
nodes, tagged with the version) lets a rail request read them in the same Cypher
statement that tests their eligibility live: candidates are precomputed, eligibility
never is (``cypher/rails/home.cypher``).

The lists are written for the users the version knows, with their trained vectors.
A user it does not know (folded in from their recent watches), or one whose watches
since moved their vector, gets a fresh list from the API on their next home request
(see ``api/rails/precomputed.py``); until then the API computes their candidates itself.

Each program's list is its ``k`` most similar programs (cosine of the embeddings, itself
left out), as the API's ``ServingModel.similar`` ranks them, so that a rail about a
program, or one for each of the user's anchors, reads its candidates in the statement that
tests them (``cypher/rails/similar.cypher``). A program the version does not know has no
current list; its rail has no similar candidates either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

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
        yield _rows(user_ids[a : a + BLOCK], rows, scores, program_ids)


def program_candidates(
    model: ModelVersion, *, k: int = PER_USER
) -> Iterator[list[dict[str, object]]]:
    """Rows for ``cypher/candidates/programs.cypher`` (``id``, ``program_ids``, ``scores``),
    :data:`BLOCK` programs at a time: each program's ``k`` most similar, best first."""
    ids = model.id_map.ids["Program"]
    p0 = model.id_map.offsets["Program"]
    programs = model.embeddings[p0 : p0 + len(ids)]
    if model.bias_column:
        programs = programs[:, :-1]
    unit = programs / np.maximum(np.linalg.norm(programs, axis=1, keepdims=True), 1e-12)
    program_ids = np.asarray(ids, dtype=object)
    for a in range(0, len(ids), BLOCK):
        b = min(a + BLOCK, len(ids))
        itself = np.zeros((b - a, len(ids)), dtype=np.float32)
        itself[np.arange(b - a), np.arange(a, b)] = -np.inf
        rows, scores = top_k(unit[a:b], unit, k, extra=itself)
        yield _rows(program_ids[a:b], rows, scores, program_ids)


def _rows(
    owners: Iterable[object], rows: npt.NDArray[np.int64], scores: Floats, program_ids: Any
) -> list[dict[str, object]]:
    out = []
    for owner, r, s in zip(owners, rows, scores, strict=True):
        finite = np.isfinite(s)
        out.append({"id": str(owner), "program_ids": [str(p) for p in program_ids[r[finite]]],
                    "scores": s[finite].astype(float).tolist()})  # fmt: skip
    return out


def write_user_candidates(
    driver: Driver, model: ModelVersion, *, database: str, k: int = PER_USER,
    progress: bool = True,
) -> int:  # fmt: skip
    """Write every known user's best ``k`` programs (``User.candidates``, their scores in
    ``User.candidate_scores``, ``User.candidates_version``), ``WRITE_BATCH`` users per
    transaction; how many users were written."""
    return _write(driver, model, "User", user_candidates(model, k=k), database=database,
                  progress=progress)  # fmt: skip


def write_program_candidates(
    driver: Driver, model: ModelVersion, *, database: str, k: int = PER_USER,
    progress: bool = True,
) -> int:  # fmt: skip
    """Write every known program's ``k`` most similar programs (``Program.similar``,
    their cosines in ``Program.similar_scores``, ``Program.similar_version``),
    ``WRITE_BATCH`` programs per transaction; how many programs were written."""
    return _write(driver, model, "Program", program_candidates(model, k=k), database=database,
                  progress=progress)  # fmt: skip


def _write(
    driver: Driver,
    model: ModelVersion,
    label: str,
    blocks: Iterator[list[dict[str, object]]],
    *,
    database: str,
    progress: bool,
) -> int:
    statement = query(f"candidates/{label.lower()}s")
    at = model.trained_at
    batch: list[dict[str, object]] = []
    written = 0
    total = len(model.id_map.ids[label])
    with tqdm(total=total, desc=f"candidates {label}", disable=not progress) as bar:
        for rows in blocks:
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
