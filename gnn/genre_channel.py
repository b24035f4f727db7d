"""Popularity within the user's genres and channels, added to LightGCN's score.

On TV data a count beats a learned model surprisingly often: how popular a program is
(its recent watches), times how much of the user's viewing falls in its genres and on its
channel. LightGCN learns the same signals through the graph, but not their product, so
the served score adds it (docs/benchmarks.md, "A blend with popularity within the user's
genres and channel"):

.. math::
    s(u, p) = \\mathbf{e}_u \\cdot \\mathbf{e}_p + b_p
        + \\beta \\,\\bigl(\\log \\mathrm{pop}(p) + \\log(\\mathrm{share}_u(p) + \\epsilon)\\bigr)

* :math:`\\mathrm{pop}(p)`: 1 + the program's positives, each weighted by a recency
  weight of half-life :math:`h` (or counted once);
* :math:`\\mathrm{share}_u(p)`: :math:`w` x the user's share of positives in the
  program's genres (a program with several genres splits its weight among them) +
  :math:`1 - w` x the user's share on its channels;
* :math:`h`, :math:`w` and :math:`\\beta`: chosen by :func:`gnn.train.fit` on its
  early-stopping holdout (:func:`gnn.train.choose_genre_channel`): :math:`h` as the term
  alone ranks it best, then :math:`\\beta` and :math:`w` as LightGCN's score plus the
  term does; :math:`\\beta = 0` leaves LightGCN's score alone, and no term is kept.

A user's shares come from the positives the version was trained on; a user it does not
know, or whose recent watches moved, gets shares from those watches
(:meth:`GenreChannel.shares_of`), as the API's fold-in does for the vector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import torch
from torch import Tensor

from gnn.idmap import IdMap

GENRE_WEIGHT = 0.75
"""The genres' weight :math:`w` in a user's share of a program (the channels' is the
rest) unless :func:`gnn.train.fit` chooses one: the probe's on the tuning seed
(docs/benchmarks.md)."""
GENRE_WEIGHTS = (0.5, 0.75, 1.0)
"""The genre weights :func:`gnn.train.fit` tries (the count's grid in the TV benchmark)."""
BETAS = (0.125, 0.25, 0.5, 1.0)
"""The weights :func:`gnn.train.fit` tries for the term, besides none. On data seed 12
(20k users, random split) the test split ranked best at 0.125 (nDCG@10 0.2510 against
0.2494 at 0.25, the smallest the grid held before) and the holdout chose it; on the
temporal split it still chose 0.5 (docs/benchmarks.md)."""
EPSILON = 1e-3
"""Added to a share before its log: a program outside the user's genres and channels
still ranks by its popularity and LightGCN's score."""
FILE = "genre_channel.npz"
"""The term's file in a model version."""

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class GenreChannel:
    """The term of the module docstring for one model version.

    Attributes:
        program_side (scipy.sparse.csr_matrix): ``[P, S]`` each program's genres and
            channels (``S`` columns: the genres, then the channels), a program's weight in
            a group split evenly among its nodes there, the genres' group weighing
            the genre weight :math:`w` and the channels' the rest.
        groups (numpy.ndarray): ``[S]`` 0 for a genre column, 1 for a channel column.
        user_shares (scipy.sparse.csr_matrix): ``[U, S]`` each trained user's shares (each
            group of a row sums to 1, or 0 without positives there).
        log_popularity (numpy.ndarray): ``[P]`` log of each program's popularity.
        beta (float): the term's weight.
    """

    program_side: sp.csr_matrix
    groups: npt.NDArray[np.int8]
    user_shares: sp.csr_matrix
    log_popularity: Floats
    beta: float

    @classmethod
    def build(
        cls,
        program_side: sp.csr_matrix,
        groups: npt.NDArray[np.int8],
        counts: sp.csr_matrix,
        popularity: npt.NDArray[np.floating],
        beta: float,
    ) -> GenreChannel:
        """The term from ``counts`` (``[U, P]`` each user's positives) and ``popularity``
        (``[P]``, each program's weighted count of positives, before the 1 added)."""
        term = cls(
            program_side=program_side,
            groups=groups,
            user_shares=sp.csr_matrix((counts.shape[0], program_side.shape[1]), dtype=np.float32),
            log_popularity=np.zeros(program_side.shape[0], np.float32),
            beta=float(beta),
        )
        return term.with_shares(term.shares_of(counts)).with_popularity(popularity)

    def with_shares(self, user_shares: sp.csr_matrix) -> GenreChannel:
        return GenreChannel(
            self.program_side, self.groups, user_shares.tocsr().astype(np.float32),
            self.log_popularity, self.beta,
        )  # fmt: skip

    def with_popularity(self, popularity: npt.NDArray[np.floating]) -> GenreChannel:
        """The term with each program's weighted count of positives ``popularity``."""
        log_popularity = np.log1p(np.asarray(popularity, dtype=np.float64)).astype(np.float32)
        return GenreChannel(
            self.program_side, self.groups, self.user_shares, log_popularity, self.beta
        )

    def with_beta(self, beta: float) -> GenreChannel:
        return GenreChannel(
            self.program_side, self.groups, self.user_shares, self.log_popularity, float(beta)
        )

    def shares_of(self, counts: sp.csr_matrix | npt.NDArray[np.floating]) -> sp.csr_matrix:
        """Shares (``[n, S]``) of users whose weighted positives are the rows of ``counts``
        (``[n, P]``): how their weight spreads over genres, and over channels."""
        raw = sp.csr_matrix(sp.csr_matrix(counts, dtype=np.float64) @ self.program_side)
        one_hot = sp.csr_matrix(
            (np.ones(self.groups.size), (np.arange(self.groups.size), self.groups)),
            shape=(self.groups.size, 2),
        )
        totals = np.asarray((raw @ one_hot).todense())
        coo = raw.tocoo()
        total = totals[coo.row, self.groups[coo.col]]
        values = np.divide(coo.data, total, out=np.zeros_like(coo.data), where=total > 0)
        return sp.csr_matrix((values, (coo.row, coo.col)), shape=raw.shape, dtype=np.float32)

    @property
    def _side_t(self) -> Floats:
        cached: Floats | None = self.__dict__.get("_side_t_cache")
        if cached is None:
            cached = np.asarray(self.program_side.T.todense(), dtype=np.float32)
            object.__setattr__(self, "_side_t_cache", cached)
        return cached

    def scores(
        self, shares: sp.csr_matrix | Floats, programs: npt.NDArray[np.int64] | None = None
    ) -> Floats:
        """The term (``[n, P]``) for users whose shares are the rows of ``shares``; with
        ``programs`` (rows of ``program_side``), for those programs only (``[n, len]``)."""
        dense = shares.toarray() if isinstance(shares, sp.spmatrix) else np.atleast_2d(shares)
        side, popularity = self._side_t, self.log_popularity
        if programs is not None:
            side, popularity = side[:, programs], popularity[programs]
        share = np.asarray(dense, dtype=np.float32) @ side
        out: Floats = self.beta * (np.log(share + np.float32(EPSILON)) + popularity)
        return out

    def for_nodes(
        self, user_nodes: Tensor, program_nodes: Tensor
    ) -> Callable[[Tensor, Tensor], Tensor]:
        """The term as :func:`gnn.model.recommend`'s ``extra``, for a graph whose trained
        users and programs are ``user_nodes`` and ``program_nodes`` (rows of
        :attr:`user_shares` and :attr:`program_side`, in that order)."""
        size = int(max(user_nodes.max(), program_nodes.max())) + 1
        user_row = torch.full((size,), -1, dtype=torch.long)
        user_row[user_nodes.long()] = torch.arange(user_nodes.numel())
        program_col = torch.full((size,), -1, dtype=torch.long)
        program_col[program_nodes.long()] = torch.arange(program_nodes.numel())

        def extra(users: Tensor, programs: Tensor) -> Tensor:
            rows = user_row[users.long()].numpy()
            cols = program_col[programs.long()].numpy()
            if (rows < 0).any() or (cols < 0).any():
                raise ValueError("the genre/channel term has no row for some user or program")
            scores = self.scores(self.user_shares[rows])
            every = cols.size == scores.shape[1] and (cols == np.arange(cols.size)).all()
            return torch.from_numpy(scores if every else scores[:, cols])

        return extra

    def for_id_map(self, id_map: IdMap) -> Callable[[Tensor, Tensor], Tensor]:
        """:meth:`for_nodes` for a model version's users and programs (``id_map``)."""
        return self.for_nodes(
            torch.as_tensor(id_map.label_rows("User")),
            torch.as_tensor(id_map.label_rows("Program")),
        )

    def save(self, folder: Path) -> Path:
        path = folder / FILE
        side, shares = self.program_side.tocsr(), self.user_shares.tocsr()
        np.savez(
            path,
            side_data=side.data, side_indices=side.indices, side_indptr=side.indptr,
            side_shape=np.asarray(side.shape), groups=self.groups,
            shares_data=shares.data, shares_indices=shares.indices,
            shares_indptr=shares.indptr, shares_shape=np.asarray(shares.shape),
            log_popularity=self.log_popularity, beta=np.asarray(self.beta),
        )  # fmt: skip
        return path

    @classmethod
    def load(cls, path: Path) -> GenreChannel:
        with np.load(path) as f:
            side = sp.csr_matrix(
                (f["side_data"], f["side_indices"], f["side_indptr"]), tuple(f["side_shape"])
            )
            shares = sp.csr_matrix(
                (f["shares_data"], f["shares_indices"], f["shares_indptr"]),
                tuple(f["shares_shape"]),
            )
            return cls(side, f["groups"].astype(np.int8), shares,
                       f["log_popularity"].astype(np.float32), float(f["beta"]))  # fmt: skip


def program_side(
    edge_index: Tensor,
    program_nodes: Tensor,
    genre_nodes: Tensor,
    channel_nodes: Tensor,
    genre_weight: float = GENRE_WEIGHT,
) -> tuple[sp.csr_matrix, npt.NDArray[np.int8]] | None:
    """The ``program_side`` matrix and ``groups`` of :class:`GenreChannel` from a graph's
    edges (Program-Genre and Program-Channel edges, in either direction), the genres
    weighing ``genre_weight``, or None when no program has a genre or a channel."""
    side = torch.cat([genre_nodes.long(), channel_nodes.long()])
    groups = np.concatenate(
        [np.zeros(genre_nodes.numel(), np.int8), np.ones(channel_nodes.numel(), np.int8)]
    )
    if side.numel() == 0 or edge_index.numel() == 0:
        return None
    size = int(max(int(edge_index.max()), int(side.max()), int(program_nodes.max()))) + 1
    program_row = torch.full((size,), -1, dtype=torch.long)
    program_row[program_nodes.long()] = torch.arange(program_nodes.numel())
    side_col = torch.full((size,), -1, dtype=torch.long)
    side_col[side] = torch.arange(side.numel())
    a, b = edge_index.long()
    rows = torch.cat([program_row[a], program_row[b]])
    cols = torch.cat([side_col[b], side_col[a]])
    keep = (rows >= 0) & (cols >= 0)
    if not keep.any():
        return None
    rows_np, cols_np = rows[keep].numpy(), cols[keep].numpy()
    linked = sp.csr_matrix(
        (np.ones(rows_np.size), (rows_np, cols_np)), shape=(program_nodes.numel(), side.numel())
    )
    linked.data[:] = 1.0  # an edge listed in both directions counts once
    coo = linked.tocoo()
    group = groups[coo.col]
    per_group = np.zeros((linked.shape[0], 2))
    np.add.at(per_group, (coo.row, group), 1.0)
    weight = np.where(group == 0, genre_weight, 1.0 - genre_weight) / per_group[coo.row, group]
    matrix = sp.csr_matrix((weight, (coo.row, coo.col)), shape=linked.shape, dtype=np.float32)
    return matrix, groups
