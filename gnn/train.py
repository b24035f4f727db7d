"""Training LightGCN on any graph whose users and programs are nodes among others.

A :class:`TrainGraph` is node ids ``0..num_nodes-1`` of every type (User, Program, Channel,
Genre, Bundle...), the message-passing edges between them, and the positive
(user, program) pairs the loss learns from. :func:`fit` trains :class:`GraphLightGCN` and
returns embeddings for every node; :func:`recommend` ranks programs for users from them.

The loss is a sampled softmax: for a positive pair (u, p) and ``num_negatives`` programs
drawn uniformly and shared by the whole step,

.. math::
    \\ell(u, p) = -\\log \\frac{e^{s(u,p)/\\tau}}{e^{s(u,p)/\\tau} + \\sum_{n} e^{s(u,n)/\\tau}}

with :math:`s` the cosine (default) or dot product of the propagated embeddings. Compared
with BPR (one negative per positive) it ranks each positive against thousands of programs
per step, which is what top-k ranking is judged on, and with shared negatives the cost is
one ``[batch users, negatives]`` product per step. When ``num_negatives`` reaches the
number of programs every program is used (the full softmax, no sampling), and the positive
scores are read from that same matrix.

Each pair's loss can weigh :math:`0.5^{a / h}`, with :math:`a` its age from the latest
positive and :math:`h` a half-life in days that :func:`choose_half_life` picks on the
early-stopping holdout, or none. Where the latest watches are held out, as when a model
predicts the next ones, a half-life of a day or less won 14-49 % nDCG@10 on the TV
benchmark; on a random holdout none is chosen (docs/benchmarks.md).

On ms100k, cosine with :math:`\\tau = 0.25` beat the dot product (which overfits within
a few dozen steps whatever the L2), and one full-batch step per epoch beat mini-batches
for the same wall time: each step pays one propagation over the whole graph.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import Tensor
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from gnn.data import TrainGraph
from gnn.genre_channel import BETAS, GENRE_WEIGHT, GENRE_WEIGHTS, GenreChannel, program_side
from gnn.loss import full_softmax_loss, sampled_softmax_loss
from gnn.metrics import Ranking, ndcg_at_k
from gnn.model import GraphLightGCN, normalized_adjacency, recommend


class TrainConfig(BaseModel):
    """Hyperparameters of :func:`fit`. These defaults are the dense recipe, tuned on ms100k;
    :func:`fit` takes only the fields a caller sets and chooses the others from the graph's
    size (:func:`default_config`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    embedding_dim: int = Field(default=128, gt=0, description="Size of every node embedding.")
    num_layers: int = Field(default=2, ge=0, description="LightGCN propagation layers.")
    layer_weights: tuple[float, ...] | None = Field(
        default=None,
        description="Weight of each layer's output (num_layers + 1 values); None: uniform.",
    )
    similarity: Literal["dot", "cosine"] = Field(
        default="cosine",
        description="Score of a (user, program) pair; 'cosine' L2-normalises the embeddings.",
    )
    temperature: float = Field(default=0.25, gt=0, description="Softmax temperature tau.")
    lr: float = Field(default=0.03, gt=0, description="Adam learning rate.")
    l2: float = Field(
        default=0.0, ge=0, description="L2 penalty on the ego embeddings of each batch's pairs."
    )
    epochs: int = Field(default=400, gt=0, description="Maximum passes over the positives.")
    batch_size: int = Field(
        default=100_000,
        gt=0,
        description="Positive pairs per step (the default takes all of ms100k in one step).",
    )
    num_negatives: int = Field(
        default=4096,
        gt=0,
        description="Programs sampled per step, shared by its pairs; >= programs: all of them.",
    )
    negative_groups: int = Field(
        default=1,
        ge=1,
        description="Split a step's users in this many groups, each scored against its own "
        "share of the sampled programs: every sample is still used, at 1/groups the cost.",
    )
    folds: int = Field(
        default=1,
        ge=1,
        description="Split the positives in this many folds; a step scores one fold's "
        "pairs on the graph without them, so no pair is its own message. 1: off.",
    )
    user_ego: bool = Field(
        default=True,
        description="Learn an embedding per user; False: a user is the sum of their links.",
    )
    program_bias: bool = Field(
        default=False, description="Learn a score offset per program (its popularity)."
    )
    init_std: float = Field(default=0.1, gt=0, description="Std of the initial ego embeddings.")
    half_life_days: float | Literal["auto"] | None = Field(
        default="auto",
        description="Each positive's loss weighs 0.5 ** (age / half-life), its age counted "
        "from the latest training positive in days; None: every positive weighs 1; 'auto': "
        "chosen on the holdout by choose_half_life (None without positive_time).",
    )
    genre_channel_beta: float | Literal["auto"] | None = Field(
        default="auto",
        description="Weight of popularity within the user's genres and channels added to "
        "the score (gnn.genre_channel); None: no term; 'auto': chosen on the holdout among "
        "0 and genre_channel.BETAS (none without genre or channel nodes, or a holdout).",
    )
    genre_channel_half_life_days: float | Literal["auto"] | None = Field(
        default="auto",
        description="Half-life of the popularity in the genre/channel term; None: every "
        "positive counts once; 'auto': the one of HALF_LIVES_DAYS whose term alone ranks "
        "the holdout (or with holdout='latest' the watches after a cut in time) best, if "
        "it beats None by MIN_RECENCY_GAIN (None without positive_time or a holdout).",
    )
    genre_weight: float | Literal["auto"] = Field(
        default="auto",
        description="The genres' weight in the genre/channel term's share (the channels' is "
        "the rest); 'auto': the one of genre_channel.GENRE_WEIGHTS with which the scores "
        "plus the term rank the holdout best (genre_channel.GENRE_WEIGHT without one).",
    )
    holdout: Literal["random", "latest"] = Field(
        default="random",
        description="Which positives of a user early stopping holds out: a random share, or "
        "their latest by positive_time (a model judged on each user's next watches; "
        "half-lives are then judged on the watches after a cut in time).",
    )
    val_fraction: float = Field(
        default=0.1,
        ge=0,
        lt=1,
        description="Share of each user's positives held out for early stopping; 0: none.",
    )
    val_k: int = Field(default=10, gt=0, description="Cut-off of the validation nDCG.")
    val_max_users: int = Field(
        default=5_000,
        gt=0,
        description="Users some of whose positives are held out and scored for early stopping "
        "(a random sample; every other user trains on all of theirs).",
    )
    patience: int = Field(
        default=30, gt=0, description="Epochs without a better validation nDCG before stopping."
    )
    max_train_users: int | None = Field(
        default=None,
        gt=0,
        description="Learn from the positives of at most this many users, a random sample "
        "(the other users' edges left out of training); every user is still served from "
        "all of their positives. None: every user. Needs user_ego=False.",
    )
    ema_decay: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Judge (early stopping) and serve an exponential moving average of the "
        "parameters, updated after every step with this decay; None: the last parameters.",
    )
    refit: bool = Field(
        default=True,
        description="After early stopping, retrain on all positives for as many optimiser "
        "steps as the best epochs took.",
    )
    seed: int = Field(default=0, description="Seeds initialisation, sampling and splits.")

    @field_validator("half_life_days")
    @classmethod
    def _positive_half_life(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, float) and not value > 0:
            raise ValueError(f"half_life_days must be > 0, 'auto' or None; got {value}")
        return value

    @field_validator("genre_channel_half_life_days")
    @classmethod
    def _positive_term_half_life(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, float) and not value > 0:
            raise ValueError(
                f"genre_channel_half_life_days must be > 0, 'auto' or None; got {value}"
            )
        return value

    @field_validator("genre_weight")
    @classmethod
    def _genre_weight_share(cls, value: float | str) -> float | str:
        if isinstance(value, float) and not 0 <= value <= 1:
            raise ValueError(f"genre_weight must be within [0, 1] or 'auto'; got {value}")
        return value

    @field_validator("genre_channel_beta")
    @classmethod
    def _positive_beta(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, float) and not value >= 0:
            raise ValueError(f"genre_channel_beta must be >= 0, 'auto' or None; got {value}")
        return value

    num_threads: int | None = Field(
        default=1,
        gt=0,
        description=(
            "torch CPU threads during fit; None: all CPUs. One is the default because on the "
            "shared 2-core box the ms100k fit took 16 s with 1 thread and 43 s with 2 (OpenMP "
            "waits on small ops and on cores busy with Neo4j); raise it for large graphs."
        ),
    )


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        embeddings (torch.Tensor): ``[num_nodes, embedding_dim]`` final embeddings; the
            score of (user, program) is their dot product (already normalised for cosine).
        best_epoch (int): the early stopping's best epoch (a refit trains for as many
            steps as the epochs up to it took), or the epochs trained without validation.
        history (list of dict): per epoch ``epoch``, ``loss``, ``val_ndcg`` (None without
            validation), ``steps``, ``train_s``, ``eval_s``; refit epochs have
            ``phase == "refit"``.
        fit_seconds (float): wall time of the whole fit, refit included.
        seconds_per_epoch (float): mean training wall time of one epoch (evaluation excluded).
        config (TrainConfig): the configuration used.
        genre_channel (GenreChannel, optional): the term added to the embeddings' scores
            (:mod:`gnn.genre_channel`), built on every positive; None when the fit keeps
            none (``config.genre_channel_beta`` is then 0 or None).
    """

    embeddings: Tensor
    best_epoch: int
    history: list[dict[str, float | int | str | None]] = field(default_factory=list)
    fit_seconds: float = 0.0
    seconds_per_epoch: float = 0.0
    config: TrainConfig = field(default_factory=TrainConfig)
    genre_channel: GenreChannel | None = None

    def extra(self, graph: TrainGraph) -> Callable[[Tensor, Tensor], Tensor] | None:
        """:func:`recommend`'s ``extra`` for this fit's scores on ``graph`` (the one fitted)."""
        if self.genre_channel is None:
            return None
        return self.genre_channel.for_nodes(graph.user_nodes, graph.program_nodes)

    @property
    def best_val_ndcg(self) -> float | None:
        values = [h["val_ndcg"] for h in self.history if h.get("phase") == "search"]
        scores = [float(v) for v in values if v is not None]
        return max(scores) if scores else None


def split_positives(
    positives: Tensor,
    *,
    fraction: float,
    generator: torch.Generator | None = None,
    keys: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Hold out ``round(fraction * n_u)`` positives of each user (keeping one at least).

    Which ones: those with the smallest ``keys`` when given (one per column, e.g.
    :func:`pair_keys`, so the same pairs are held out again in a graph that has
    grown), else a random draw from ``generator``.

    Returns:
        Boolean masks ``(train, val)`` over the columns of ``positives``.
    """
    n = positives.size(1)
    val = torch.zeros(n, dtype=torch.bool)
    if fraction <= 0:
        return ~val, val
    if keys is not None:
        perm = torch.argsort(keys, stable=True)
    else:
        perm = torch.randperm(n, generator=generator)
    users = positives[0, perm]
    order = torch.argsort(users, stable=True)  # random order within each user
    sorted_users = users[order]
    _, counts = torch.unique_consecutive(sorted_users, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n) - torch.repeat_interleave(starts, counts)
    quota = torch.clamp(torch.round(counts * fraction), max=counts - 1)
    val[perm[order]] = rank < torch.repeat_interleave(quota, counts)
    return ~val, val


def pair_keys(user_ids: Iterable[Any], program_ids: Iterable[Any], *, seed: int) -> Tensor:
    """A pseudo-random key per (user, program) pair that depends on the two ids and
    ``seed`` only: not on row numbers or on the other pairs, so it survives a re-export
    of a graph that has grown (the retrain gate compares versions on held-out pairs)."""
    users = pd.Series(np.asarray(list(user_ids), dtype=object), dtype=str)
    programs = pd.Series(np.asarray(list(program_ids), dtype=object), dtype=str)
    if len(users) != len(programs):
        raise ValueError(f"{len(users)} user ids but {len(programs)} program ids")
    pairs = f"{seed}\x1f" + users + "\x1f" + programs
    hashed = pd.util.hash_array(pairs.to_numpy(dtype=object))  # fixed key: same on every run
    return torch.from_numpy(hashed.view(np.int64).copy())


def _message_edges(graph: TrainGraph, positive_mask: Tensor) -> Tensor:
    adj_edges = torch.cat([graph.edge_index.long(), graph.positives[:, positive_mask].long()], 1)
    weight = None
    if graph.edge_weight is not None:
        weight = torch.cat([graph.edge_weight.float(), torch.ones(int(positive_mask.sum()))])
    return normalized_adjacency(adj_edges, graph.num_nodes, edge_weight=weight)


def _final_embeddings(
    model: GraphLightGCN, adj: Tensor, config: TrainConfig, nodes: Tensor | None = None
) -> Tensor:
    """Every node's final embedding or, with ``nodes``, those rows only (normalised alone)."""
    out: Tensor = model.get_embedding(adj)
    if nodes is not None:
        out = out[nodes]
    if config.similarity == "cosine":
        out = torch.nn.functional.normalize(out, dim=1)
    return out


def _served_embeddings(
    model: GraphLightGCN, adj: Tensor, config: TrainConfig, programs: Tensor
) -> Tensor:
    """Embeddings whose dot products are the training scores (the bias as one more column:
    1 on every node but programs, whose column holds their bias; users scaled by 1/tau)."""
    emb = _final_embeddings(model, adj, config)
    if not config.program_bias:
        return emb
    column = torch.ones(emb.size(0), 1)
    column[programs, 0] = model.bias[programs]
    scale = torch.full((emb.size(0), 1), 1.0 / config.temperature)
    scale[programs] = 1.0
    return torch.cat([emb * scale, column], dim=1)


def _train_epoch(
    model: GraphLightGCN,
    optimizer: torch.optim.Optimizer,
    adjs: list[Tensor],
    fold_of: Tensor,
    positives: Tensor,
    programs: Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    weight: Tensor | None = None,
    after_step: Callable[[], None] | None = None,
) -> float:
    model.train()
    n = positives.size(1)
    perm = torch.randperm(n, generator=generator)
    # Fold by fold: a step scores the pairs of one fold on the graph without them.
    perm = perm[torch.argsort(fold_of[perm], stable=True)]
    fold_starts = torch.searchsorted(fold_of[perm], torch.arange(len(adjs) + 1)).tolist()
    batches = [
        (k, perm[a : min(a + config.batch_size, fold_starts[k + 1])])
        for k in range(len(adjs))
        for a in range(fold_starts[k], fold_starts[k + 1], config.batch_size)
    ]
    total, steps = 0.0, 0
    inv_tau = 1.0 / config.temperature
    num_programs = programs.numel()
    full = config.num_negatives >= num_programs
    program_col = torch.full((adjs[0].size(0),), -1, dtype=torch.long)
    program_col[programs] = torch.arange(num_programs)
    log_weight = torch.full((config.num_negatives,), math.log(num_programs / config.num_negatives))
    for k, idx in batches:
        users, pos = positives[0, idx], positives[1, idx]
        w = None if weight is None else weight[idx]
        uniq, inv, count = torch.unique(users, return_inverse=True, return_counts=True)
        bias = model.bias if config.program_bias else None
        if full:
            emb = _final_embeddings(model, adjs[k], config)
            scores = emb[uniq] @ emb[programs].T * inv_tau
            if bias is not None:
                scores = scores + bias[programs]
            loss = full_softmax_loss(scores, inv, program_col[pos], weight=w)
        else:
            sampled = programs[
                torch.randint(num_programs, (config.num_negatives,), generator=generator)
            ]
            # The step needs the rows of its users, positives and samples only: one gather
            # (one scatter back), and cosine's normalisation of those rows alone.
            rows = _final_embeddings(model, adjs[k], config, torch.cat([uniq, pos, sampled]))
            a, b = uniq.numel(), uniq.numel() + pos.numel()
            user_emb, pos_emb, sample_emb = rows[:a], rows[a:b], rows[b:]
            pos_score = (user_emb[inv] * pos_emb).sum(-1) * inv_tau
            if bias is not None:
                pos_score = pos_score + bias[pos]
            groups = min(config.negative_groups, uniq.numel())
            if groups == 1:
                offset = log_weight if bias is None else log_weight + bias[sampled]
                negative = sampled_scores(user_emb, sample_emb, offset, inv_tau)
                loss = sampled_softmax_loss(pos_score, negative, inv, log_weight=None, weight=w)
            else:
                loss = _grouped_sampled_loss(
                    user_emb, sample_emb, sampled, pos_score, inv, groups=groups,
                    num_programs=num_programs, inv_tau=inv_tau, bias=bias, weight=w,
                )  # fmt: skip
        if config.l2 > 0:
            # Squared norm of each pair's two ego embeddings, summed per distinct node.
            ego = model.ego_embeddings()
            uniq_pos, pos_count = torch.unique(pos, return_counts=True)
            norms = (ego[uniq].pow(2).sum(1) * count).sum()
            norms = norms + (ego[uniq_pos].pow(2).sum(1) * pos_count).sum()
            loss = loss + config.l2 * norms / len(idx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if after_step is not None:
            after_step()
        total += float(loss.detach())
        steps += 1
    return total / max(steps, 1)


def sampled_scores(users: Tensor, samples: Tensor, offset: Tensor, inv_tau: float) -> Tensor:
    """``users @ samples.T / tau + offset`` in one pass over the ``[users, samples]`` result:
    1/tau scales the users' rows and the offset (each sample's bias and logQ correction)
    is added by the product itself. At 100k users that matrix is 20,000 x 5,000 per step;
    writing and back-propagating it once instead of four times took the step's share of it
    from 5.4 s to 3.5 s (``bench/sampled_step.py``)."""
    return torch.addmm(offset.unsqueeze(0), users * inv_tau, samples.T)


def _grouped_sampled_loss(
    user_emb: Tensor,
    sample_emb: Tensor,
    sampled: Tensor,
    pos_score: Tensor,
    inv: Tensor,
    *,
    groups: int,
    num_programs: int,
    inv_tau: float,
    bias: Tensor | None,
    weight: Tensor | None,
) -> Tensor:
    """The sampled softmax with users ``k, k + groups, ...`` (the rows of ``user_emb``)
    scored against the k-th share of ``sampled`` only (``sample_emb``'s rows; each sample
    then stands for ``num_programs / share`` programs): the log-sum-exp of each user's row,
    then the loss with that one column."""
    share = sampled.numel() // groups
    users = user_emb.size(0)
    parts, order = [], []
    for k in range(groups):
        rows = torch.arange(k, users, groups)
        cols = slice(k * share, (k + 1) * share)
        offset = torch.full((share,), math.log(num_programs / share))
        if bias is not None:
            offset = offset + bias[sampled[cols]]
        parts.append(
            torch.logsumexp(sampled_scores(user_emb[rows], sample_emb[cols], offset, inv_tau), 1)
        )
        order.append(rows)
    position = torch.empty(users, dtype=torch.long)
    position[torch.cat(order)] = torch.arange(users)
    others = torch.cat(parts)[position]
    return sampled_softmax_loss(pos_score, others.unsqueeze(1), inv, log_weight=None, weight=weight)


@dataclass(frozen=True)
class _Validation:
    users: Tensor  # user nodes scored
    seen: Tensor  # [2, S] (user node, program node) to exclude: training positives
    truth_rows: npt.NDArray[np.int64]
    truth_items: npt.NDArray[np.int64]


def _holdout(graph: TrainGraph, config: TrainConfig, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """``(train, val)`` masks: ``val_fraction`` of the positives of at most ``val_max_users``
    users (a random sample; the other users keep every positive for training), drawn at
    random or, with ``holdout="latest"``, each user's latest."""
    keys = None
    if config.holdout == "latest":
        if graph.positive_time is None:
            raise ValueError('holdout="latest" needs TrainGraph.positive_time')
        # Latest first; ties in a random order.
        shuffled = torch.randperm(graph.positives.size(1), generator=g)
        latest_first = shuffled[torch.argsort(-graph.positive_time[shuffled], stable=True)]
        keys = torch.empty_like(shuffled)
        keys[latest_first] = torch.arange(shuffled.numel())
    users = torch.unique(graph.positives[0])
    if users.numel() <= config.val_max_users:
        return split_positives(
            graph.positives, fraction=config.val_fraction, generator=g, keys=keys
        )
    sample = users[torch.randperm(users.numel(), generator=g)[: config.val_max_users]]
    chosen = torch.zeros(graph.num_nodes, dtype=torch.bool)
    chosen[sample] = True
    where = torch.nonzero(chosen[graph.positives[0]]).squeeze(1)
    _, sub_val = split_positives(
        graph.positives[:, where],
        fraction=config.val_fraction,
        generator=g,
        keys=None if keys is None else keys[where],
    )
    val = torch.zeros(graph.positives.size(1), dtype=torch.bool)
    val[where[sub_val]] = True
    return ~val, val


def _recent_holdout(
    graph: TrainGraph, config: TrainConfig, g: torch.Generator
) -> tuple[Tensor, Tensor]:
    """``(train, val)`` masks holding out the positives after a cut in time, the latest
    ``val_fraction`` of all positives, of at most ``val_max_users`` users (a random sample
    of those who also have a positive before it): where a half-life is judged with
    ``holdout="latest"``.

    A popularity's half-life is judged on the watches that follow its data, as when it is
    served. Each user's own latest watches lie, for most users, days before the data's
    end, and reward a popularity that remembers those days: on the TV benchmark's temporal
    split (20k users) the genre/channel count ranked them best with 1 day (0.1663, 12 h
    level), the watches after the cut with 12 hours (0.1815 against 0.1699), as the test
    does (docs/benchmarks.md). The model itself early-stops on each user's latest: trained
    without the latest watches of some users, it lost 4 % on that test."""
    if graph.positive_time is None:
        raise ValueError('holdout="latest" needs TrainGraph.positive_time')
    time = graph.positive_time
    n = time.numel()
    val = torch.zeros(n, dtype=torch.bool)
    if config.val_fraction <= 0 or n == 0:
        return ~val, val
    cut = torch.sort(time).values[min(n - 1, int(n * (1 - config.val_fraction)))]
    after = time >= cut
    users = graph.positives[0]
    has_after = torch.zeros(graph.num_nodes, dtype=torch.bool)
    has_after[users[after]] = True
    has_before = torch.zeros(graph.num_nodes, dtype=torch.bool)
    has_before[users[~after]] = True
    candidates = torch.nonzero(has_after & has_before).squeeze(1)
    sample = candidates[torch.randperm(candidates.numel(), generator=g)[: config.val_max_users]]
    chosen = torch.zeros(graph.num_nodes, dtype=torch.bool)
    chosen[sample] = True
    val = after & chosen[users]
    return ~val, val


def _user_sample(
    graph: TrainGraph, config: TrainConfig, g: torch.Generator
) -> tuple[TrainGraph, Tensor | None]:
    """What a fit learns from: ``graph`` itself, or with more than ``config.max_train_users``
    users with positives, the graph of a random sample of them and every other node, as
    ``(subgraph, nodes)``, ``nodes[i]`` the node of ``graph`` that the subgraph's node ``i``
    is.

    Without an embedding of their own (``user_ego=False``) users are the sum of their
    programs and bundles, so the parameters a fit learns are the programs' and the side
    nodes', and a sample of the users teaches them at a bounded cost; every user is then
    served by propagating them over the whole graph (:class:`_Serve`). The other users'
    bundle edges go too, so that every node's degree shrinks by about the same factor as
    the programs'; the other users themselves go, so that no step pays for them."""
    limit = config.max_train_users
    users = torch.unique(graph.positives[0])
    if limit is None or users.numel() <= limit:
        return graph, None
    if config.user_ego:
        raise ValueError(
            f"max_train_users={limit} needs user_ego=False: a user left out of training "
            "would keep an untrained embedding of their own"
        )
    keep = torch.ones(graph.num_nodes, dtype=torch.bool)
    keep[graph.user_nodes] = False
    keep[users[torch.randperm(users.numel(), generator=g)[:limit]]] = True
    nodes = torch.nonzero(keep).squeeze(1)
    new_id = torch.full((graph.num_nodes,), -1, dtype=torch.long)
    new_id[nodes] = torch.arange(nodes.numel())
    edges = keep[graph.edge_index[0]] & keep[graph.edge_index[1]]
    kept = keep[graph.positives[0]]

    def relabel(t: Tensor | None) -> Tensor | None:
        return None if t is None else new_id[t.long()]

    user_nodes = new_id[graph.user_nodes.long()]
    sub = TrainGraph(
        num_nodes=nodes.numel(),
        edge_index=new_id[graph.edge_index[:, edges].long()],
        user_nodes=user_nodes[user_nodes >= 0],
        program_nodes=new_id[graph.program_nodes.long()],
        positives=new_id[graph.positives[:, kept].long()],
        edge_weight=None if graph.edge_weight is None else graph.edge_weight[edges],
        positive_time=None if graph.positive_time is None else graph.positive_time[kept],
        genre_nodes=relabel(graph.genre_nodes),
        channel_nodes=relabel(graph.channel_nodes),
    )
    return sub, nodes


@dataclass
class _Serve:
    """Serve a fit over ``graph`` with every positive; ``nodes``: the node of ``graph``
    that each trained node is (None: the same ids, see :func:`_user_sample`)."""

    graph: TrainGraph
    nodes: Tensor | None = None

    def model(self, trained: GraphLightGCN, config: TrainConfig) -> GraphLightGCN:
        """``trained``'s parameters on ``graph``'s nodes (users get no embedding of their
        own: :func:`_user_sample` requires it)."""
        if self.nodes is None:
            return trained
        model = GraphLightGCN(
            self.graph.num_nodes,
            config.embedding_dim,
            config.num_layers,
            alpha=config.layer_weights,
        )
        with torch.no_grad():
            model.embedding.weight.zero_()
            model.embedding.weight[self.nodes] = trained.ego_embeddings()
            model.bias[self.nodes] = trained.bias
        model.freeze_ego_(self.graph.user_nodes)
        return model


def _validation(graph: TrainGraph, train: Tensor, val: Tensor) -> _Validation:
    """Every user with a held-out positive is scored: :func:`_holdout` already holds out
    from at most ``val_max_users`` of them."""
    val_pos = graph.positives[:, val]
    users = torch.unique(val_pos[0])
    row_of = torch.full((graph.num_nodes,), -1, dtype=torch.long)
    row_of[users] = torch.arange(users.numel())
    seen = graph.positives[:, train]
    seen = seen[:, row_of[seen[0]] >= 0]
    return _Validation(
        users=users,
        seen=seen,
        truth_rows=row_of[val_pos[0]].numpy(),
        truth_items=val_pos[1].numpy(),
    )


def _val_ndcg(
    emb: Tensor,
    graph: TrainGraph,
    v: _Validation,
    k: int,
    extra: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> float:
    top, _ = recommend(
        emb, users=v.users, programs=graph.program_nodes, exclude=v.seen, k=k, extra=extra
    )
    return ndcg_at_k(Ranking.from_arrays(top.numpy(), v.truth_rows, v.truth_items, k=k))


def _run(
    graph: TrainGraph,
    config: TrainConfig,
    *,
    train_mask: Tensor,
    epochs: int,
    validation: _Validation | None,
    phase: str,
    progress: bool,
    history: list[dict[str, float | int | str | None]],
    serve: _Serve | None = None,
    steps: int | None = None,
) -> tuple[Tensor, int, Tensor | None]:
    """``(embeddings, best epoch, served)``: the best epoch's embeddings on the graph of
    ``train_mask``'s positives and, with ``serve``, the same parameters propagated over
    ``serve``'s graph with every positive. ``steps``: train for the whole epochs closest to
    that many optimiser steps instead of ``epochs`` (a refit on more positives takes more
    steps an epoch where a fold's share no longer fits the same number of batches)."""
    from tqdm.auto import tqdm

    g = torch.Generator().manual_seed(config.seed)
    model = GraphLightGCN(
        graph.num_nodes, config.embedding_dim, config.num_layers, alpha=config.layer_weights
    )
    model.reset_parameters_(std=config.init_std, generator=g)
    if not config.user_ego:
        model.freeze_ego_(graph.user_nodes)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    adj = _message_edges(graph, train_mask)
    positives = graph.positives[:, train_mask].long()
    weight = None
    if isinstance(config.half_life_days, float) and graph.positive_time is not None:
        weight = recency_weight(graph.positive_time[train_mask], config.half_life_days)
    programs = graph.program_nodes.long()
    if config.folds > 1:
        fold_of = torch.randint(config.folds, (positives.size(1),), generator=g)
        where = torch.nonzero(train_mask).squeeze(1)
        adjs = []
        for k in range(config.folds):
            mask = train_mask.clone()
            mask[where[fold_of == k]] = False
            adjs.append(_message_edges(graph, mask))
    else:
        fold_of, adjs = torch.zeros(positives.size(1), dtype=torch.long), [adj]
    # Steps an epoch takes (as _train_epoch batches each fold); with `steps`, as many whole
    # epochs as come closest to that many steps.
    sizes = torch.bincount(fold_of, minlength=len(adjs)).tolist()
    epoch_steps = sum(math.ceil(size / config.batch_size) for size in sizes)
    if steps is not None:
        epochs = max(1, round(steps / max(epoch_steps, 1)))

    best_score, best_epoch, best_emb, waited = -math.inf, epochs, None, 0
    best_state: dict[str, Tensor] | None = None
    judged = model
    after_step = None
    if config.ema_decay is not None:
        ema = get_ema_multi_avg_fn(config.ema_decay)  # type: ignore[no-untyped-call]
        averaged = AveragedModel(model, multi_avg_fn=ema, use_buffers=True)
        judged = cast(GraphLightGCN, averaged.module)

        def after_step() -> None:
            averaged.update_parameters(model)

    bar = tqdm(range(1, epochs + 1), desc=f"LightGCN {phase}", disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        loss = _train_epoch(
            model, optimizer, adjs, fold_of, positives, programs, config, g, weight, after_step
        )
        t1 = time.perf_counter()
        score = None
        if validation is not None:
            judged.eval()
            with torch.no_grad():
                emb = _served_embeddings(judged, adj, config, programs)
            score = _val_ndcg(emb, graph, validation, config.val_k)
        t2 = time.perf_counter()
        history.append(
            {
                "phase": phase,
                "epoch": epoch,
                "loss": loss,
                "val_ndcg": score,
                "steps": epoch_steps,
                "train_s": t1 - t0,
                "eval_s": t2 - t1,
            }
        )
        postfix = {"loss": f"{loss:.4f}"}
        if score is not None:
            postfix[f"val_ndcg@{config.val_k}"] = f"{score:.4f}"
            if score > best_score:
                best_score, best_epoch, best_emb, waited = score, epoch, emb, 0
                if serve is not None:
                    best_state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
            else:
                waited += 1
            postfix["best"] = f"{best_score:.4f}@{best_epoch}"
        bar.set_postfix(postfix)
        if waited >= config.patience:
            break
    bar.close()
    model = judged  # what was judged is what is served
    if best_emb is None:
        model.eval()
        with torch.no_grad():
            best_emb = _served_embeddings(model, adj, config, programs)
        best_epoch = epochs
    served = None
    if serve is not None:
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        whole = serve.model(model, config)
        every = torch.ones(serve.graph.positives.size(1), dtype=torch.bool)
        with torch.no_grad():
            served = _served_embeddings(
                whole,
                _message_edges(serve.graph, every),
                config,
                serve.graph.program_nodes.long(),
            )
    return best_emb, best_epoch, served


def fit(
    graph: TrainGraph, config: TrainConfig | None = None, *, progress: bool = True
) -> FitResult:
    """Train LightGCN on ``graph``; the same graph, config and seed give the same embeddings.

    With ``config.val_fraction > 0``, a per-user share of the positives is held out (from
    the loss *and* the message-passing edges), training stops after ``patience`` epochs
    without a better validation nDCG@``val_k``, and with ``refit`` the model is then
    retrained from the same seed on every positive for as many steps as the best epochs took.

    Args:
        graph (TrainGraph): the graph and its positives.
        config (TrainConfig, optional): hyperparameters; the fields it does not set are
            chosen from the graph's size by :func:`default_config` (default: all of them).
        progress (bool, optional): show a tqdm bar with loss and validation nDCG.
    """
    config = resolve_config(graph, config)
    if config.layer_weights is not None and len(config.layer_weights) != config.num_layers + 1:
        raise ValueError(
            f"layer_weights has {len(config.layer_weights)} values; "
            f"num_layers={config.num_layers} needs {config.num_layers + 1}"
        )
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads or os.cpu_count() or 1)
    try:
        start = time.perf_counter()
        history: list[dict[str, float | int | str | None]] = []
        g = torch.Generator().manual_seed(config.seed)
        serve = _Serve(graph)
        graph, serve.nodes = _user_sample(graph, config, g)
        train_mask, val_mask = _holdout(graph, config, g)
        validation = None
        if val_mask.any():
            validation = _validation(graph, train_mask, val_mask)
        # Where half-lives are judged: the holdout, or with holdout="latest" the watches
        # after a cut in time (_recent_holdout).
        recent = None
        judged = "auto" in (config.half_life_days, config.genre_channel_half_life_days)
        if config.holdout == "latest" and validation is not None and judged:
            recent_train, recent_val = _recent_holdout(
                graph, config, torch.Generator().manual_seed(config.seed)
            )
            if recent_val.any():
                recent = (recent_train, _validation(graph, recent_train, recent_val))
        if config.half_life_days == "auto":
            chosen = None
            if graph.positive_time is not None and validation is not None:
                judge_train, judge_val = recent or (train_mask, validation)
                chosen = choose_half_life(graph, judge_train, judge_val, config.val_k)
            config = config.model_copy(update={"half_life_days": chosen})
        elif config.half_life_days is not None and graph.positive_time is None:
            raise ValueError(
                f"half_life_days={config.half_life_days} weighs each positive by its age, but "
                "the graph has no positive_time (when each positive happened)"
            )
        # Without a refit, the served embeddings still propagate over every positive (with
        # holdout="latest", the held-out ones are some users' latest watches) of every user.
        every = torch.ones_like(train_mask)
        refits = validation is not None and config.refit
        sampled = serve.nodes is not None
        emb, best_epoch, served = _run(
            graph,
            config,
            train_mask=train_mask,
            epochs=config.epochs,
            validation=validation,
            phase="search",
            progress=progress,
            history=history,
            serve=serve if not refits and (sampled or validation is not None) else None,
        )
        config = choose_genre_channel(
            emb, graph, train_mask, validation, config, history, judge=recent
        )
        term = None
        weight = config.genre_channel_beta
        if isinstance(weight, float) and weight > 0:
            term = genre_channel_term(
                serve.graph,
                torch.ones(serve.graph.positives.size(1), dtype=torch.bool),
                _float_or_none(config.genre_channel_half_life_days),
                _float_or(config.genre_weight, GENRE_WEIGHT),
            )
            term = term.with_beta(weight) if term is not None else None
        if served is not None:
            emb = served
        if refits:
            emb, _, served = _run(
                graph,
                config,
                train_mask=every,
                epochs=best_epoch,
                steps=sum(
                    int(h["steps"] or 0)
                    for h in history
                    if h["phase"] == "search" and int(h["epoch"] or 0) <= best_epoch
                ),
                validation=None,
                phase="refit",
                progress=progress,
                history=history,
                serve=serve if sampled else None,
            )
            emb = emb if served is None else served
        train_s = [float(h["train_s"] or 0.0) for h in history]
        return FitResult(
            embeddings=emb.detach().clone(),
            best_epoch=best_epoch,
            history=history,
            fit_seconds=time.perf_counter() - start,
            seconds_per_epoch=sum(train_s) / len(train_s),
            config=config,
            genre_channel=term,
        )
    finally:
        torch.set_num_threads(previous_threads)


HALF_LIVES_DAYS = (7.0, 3.0, 1.0, 0.5)
"""The half-lives :func:`choose_half_life` tries besides none."""
MIN_RECENCY_GAIN = 1.02
"""A half-life is chosen only if it beats none by this factor on the holdout."""


def recency_weight(time: Tensor, half_life_days: float) -> Tensor:
    """``0.5 ** (age / half-life)`` of each time, its age counted in days from the latest."""
    age_days = (time.max() - time).double() / 86_400.0
    return torch.pow(0.5, age_days / half_life_days).float()


def choose_half_life(
    graph: TrainGraph, train_mask: Tensor, validation: _Validation, k: int
) -> float | None:
    """The half-life whose recency-weighted popularity best ranks the holdout, or None.

    Counting each program's training positives weighted by their age, for each of
    :data:`HALF_LIVES_DAYS` and unweighted, and scoring each count as a ranking of the held-out
    positives (nDCG@``k``), tells in seconds whether the data reward recency, without a fit
    per candidate. A half-life must beat the unweighted count by :data:`MIN_RECENCY_GAIN`.
    On a random holdout (watches spread over the time span) the unweighted count wins; on a
    holdout of the latest watches, a short half-life does (docs/benchmarks.md).
    """
    assert graph.positive_time is not None
    programs = graph.positives[1, train_mask]
    time = graph.positive_time[train_mask]

    def score(half_life: float | None) -> float:
        weight = (
            torch.ones(programs.numel()) if half_life is None else recency_weight(time, half_life)
        )
        count = torch.zeros(graph.num_nodes, 1).index_add_(0, programs, weight.unsqueeze(1))
        count[validation.users] = 1.0  # a user's score of a program is its count
        return _val_ndcg(count, graph, validation, k)

    return _best_half_life(score)


def _best_half_life(score: Callable[[float | None], float]) -> float | None:
    """The best scoring of none and :data:`HALF_LIVES_DAYS` (scored in that order), a
    half-life only if it beats none by :data:`MIN_RECENCY_GAIN`."""
    found = {half_life: score(half_life) for half_life in (None, *HALF_LIVES_DAYS)}
    best = max(found, key=lambda half_life: found[half_life])
    return best if found[best] >= MIN_RECENCY_GAIN * found[None] else None


def _float_or_none(value: float | str | None) -> float | None:
    return value if isinstance(value, float) else None


def _float_or(value: float | str, default: float) -> float:
    return value if isinstance(value, float) else default


def _popularity(
    graph: TrainGraph, mask: Tensor, half_life_days: float | None
) -> npt.NDArray[np.float64]:
    """Each program's positives of ``mask`` (in ``graph.program_nodes`` order), weighted by
    their recency weight for ``half_life_days``, else counted once."""
    lookup = torch.full((graph.num_nodes,), -1, dtype=torch.long)
    lookup[graph.program_nodes] = torch.arange(graph.program_nodes.numel())
    programs = lookup[graph.positives[1, mask]].numpy()
    weight = None
    if half_life_days is not None and graph.positive_time is not None:
        weight = recency_weight(graph.positive_time[mask], half_life_days).double().numpy()
    return np.bincount(programs, weight, graph.program_nodes.numel()).astype(np.float64)


def genre_channel_term(
    graph: TrainGraph,
    mask: Tensor,
    half_life_days: float | None,
    genre_weight: float = GENRE_WEIGHT,
) -> GenreChannel | None:
    """The term of :mod:`gnn.genre_channel` (its beta 0) from the positives of ``mask``,
    popularity weighted by the half-life's recency weight, the genres' share weighing
    ``genre_weight``; None when the graph has no genre or channel linked to a program."""
    empty = torch.empty(0, dtype=torch.long)
    genres = graph.genre_nodes if graph.genre_nodes is not None else empty
    channels = graph.channel_nodes if graph.channel_nodes is not None else empty
    side = program_side(graph.edge_index, graph.program_nodes, genres, channels, genre_weight)
    if side is None:
        return None
    lookup = torch.full((graph.num_nodes,), -1, dtype=torch.long)
    lookup[graph.user_nodes] = torch.arange(graph.user_nodes.numel())
    lookup[graph.program_nodes] = torch.arange(graph.program_nodes.numel())
    users = lookup[graph.positives[0, mask]].numpy()
    programs = lookup[graph.positives[1, mask]].numpy()
    shape = (graph.user_nodes.numel(), graph.program_nodes.numel())
    counts = sp.csr_matrix((np.ones(users.size), (users, programs)), shape=shape)
    popularity = _popularity(graph, mask, half_life_days)
    return GenreChannel.build(*side, counts, popularity, beta=0.0)


def _term_half_life(
    graph: TrainGraph, judge: tuple[Tensor, _Validation], genre_weight: float, k: int
) -> float | None:
    """The half-life (none or one of :data:`HALF_LIVES_DAYS`) with which the genre/channel
    term alone ranks ``judge`` (a train mask and its validation) best; as for the loss's
    (:func:`choose_half_life`), one must beat none by :data:`MIN_RECENCY_GAIN`. Without
    that rule, 7 days won the random holdout at 100k users by 0.5 % and cost 1.2 % on the
    test (docs/benchmarks.md)."""
    train, validation = judge
    term = genre_channel_term(graph, train, None, genre_weight)
    if term is None:
        return None
    alone = torch.zeros(graph.num_nodes, 1)

    def score(half_life: float | None) -> float:
        candidate = term.with_popularity(_popularity(graph, train, half_life)).with_beta(1.0)
        extra = candidate.for_nodes(graph.user_nodes, graph.program_nodes)
        return _val_ndcg(alone, graph, validation, k, extra)

    return _best_half_life(score)


def choose_genre_channel(
    emb: Tensor,
    graph: TrainGraph,
    train_mask: Tensor,
    validation: _Validation | None,
    config: TrainConfig,
    history: list[dict[str, float | int | str | None]],
    *,
    judge: tuple[Tensor, _Validation] | None = None,
) -> TrainConfig:
    """``config`` with the genre/channel term's "auto" settings chosen on the holdout.

    The half-life first: the one with which the term alone ranks ``judge`` (a train mask
    and a validation: the holdout's, or :func:`_recent_holdout`'s) best. Then the beta of
    :data:`~gnn.genre_channel.BETAS` that makes ``emb``'s scores plus the term rank the
    holdout best, the genre weight set or :data:`~gnn.genre_channel.GENRE_WEIGHT`; then
    each genre weight of :data:`~gnn.genre_channel.GENRE_WEIGHTS` with that beta. Beta is
    0 when the best does not beat ``emb`` alone (its best holdout score is in
    ``history``). Settings that are not "auto" are kept; without a holdout, or genre and
    channel nodes, "auto" means no half-life, :data:`~gnn.genre_channel.GENRE_WEIGHT` and
    beta 0.
    """
    auto_half_life = config.genre_channel_half_life_days == "auto"
    auto_weight = config.genre_weight == "auto"
    half_life = _float_or_none(config.genre_channel_half_life_days)
    genre_weight = _float_or(config.genre_weight, GENRE_WEIGHT)
    beta = config.genre_channel_beta
    term = None
    if validation is not None and beta is not None and (beta == "auto" or beta > 0):
        term = genre_channel_term(graph, train_mask, half_life, genre_weight)
    if term is not None and validation is not None:

        def score(candidate: GenreChannel, weight: float) -> float:
            extra = candidate.with_beta(weight).for_nodes(graph.user_nodes, graph.program_nodes)
            return _val_ndcg(emb, graph, validation, config.val_k, extra)

        if auto_half_life and graph.positive_time is not None:
            judged = judge or (train_mask, validation)
            half_life = _term_half_life(graph, judged, genre_weight, config.val_k)
            term = term.with_popularity(_popularity(graph, train_mask, half_life))
        found = {b: score(term, b) for b in ((beta,) if isinstance(beta, float) else BETAS)}
        chosen = max(found, key=lambda b: found[b])
        best = found[chosen]
        if auto_weight:
            for w in (w for w in GENRE_WEIGHTS if w != genre_weight):
                candidate = genre_channel_term(graph, train_mask, half_life, w)
                if candidate is not None and (found_w := score(candidate, chosen)) > best:
                    best, genre_weight = found_w, w
        if beta == "auto":
            without = max((float(h["val_ndcg"] or 0.0) for h in history), default=-math.inf)
            beta = chosen if best > without else 0.0
    update = {
        "genre_channel_half_life_days": half_life,
        "genre_weight": genre_weight,
        "genre_channel_beta": 0.0 if beta == "auto" else beta,
    }
    return config.model_copy(update=update)


DENSE_POSITIVES_PER_USER = 20.0
"""From this many positives per user on average, a graph is trained with the dense recipe."""
STEPS_PER_EPOCH = 32
"""Steps of the sparse recipe per pass over the positives, whatever the graph's size. Beyond
:data:`MAX_TRAIN_USERS` users a step keeps that size (a 32nd of every user's positives),
so a pass over the sample takes fewer, larger steps: at 1M users one per fold, 10 an
epoch. With 32 steps a pass over the sample the 1M-user nightly run took about 63
minutes instead of 47, for 1.5 % more holdout nDCG@10 (docs/benchmarks.md)."""
NEGATIVE_SHARE = 4
"""The sparse recipe samples one program in this many per step (at least 1,024): each
program is a negative as often per epoch at every catalogue size. At 20k users (4,000
programs) a quarter gave nDCG@10 0.2462 and a twentieth (what a fixed 1,024 is of the
20,000 programs at 100k users) 0.2255, stopping early (docs/benchmarks.md)."""

SPARSE_PATIENCE = 6
"""Epochs without a better holdout score before the sparse recipe stops. In eight fits on
the TV benchmark (data seeds 11 and 12, 20k and 100k users, both splits) the holdout never
improved after more than 5 epochs without improving; 8 waited almost 4 minutes in vain
at 100k users (docs/benchmarks.md)."""

REFIT_HOLDOUT_SHARE = (0.01, 0.05)
"""The sparse recipe refits on every positive (:attr:`TrainConfig.refit`) when its holdout
takes at least the first and less than the second of these shares of them: about
``val_fraction`` x ``val_max_users`` / users of the defaults, so from 10,000 users (a 5 %
holdout) up to 50,000 (1 %). On data seed 12 at 20k users (2.5 %) the refit scored nDCG@10
0.2522 against 0.2510 (random split) and 0.3161 against 0.3152 (temporal), for about twice
the fit time; at 100k users a second fit would take the fit past its 15 minutes, for a
holdout a fifth as large; on the demo's graph (5,000 users, 10 %) it gained nothing over
four training seeds (nDCG@10 0.2335 against 0.2333 on average, 0.2418 against 0.2426 on the
seed `make demo` uses) for 1.6 times the fit (docs/benchmarks.md)."""

MAX_TRAIN_USERS = 100_000
"""The sparse recipe learns from at most this many users' positives (a random sample) and
serves every user: the programs and side nodes are what it learns. At 1M users (50,000
programs) the fit took 10 minutes of a 47-minute nightly run (export, fit, evaluation,
ranker, publish; docs/benchmarks.md), and scored its holdout 1.18 x the genre/channel
count alone."""

EMA_DECAY = 0.98
"""The sparse recipe judges and serves a moving average of its parameters
(:attr:`TrainConfig.ema_decay`): about the last 50 steps, an epoch and a quarter at 20k and
100k users. On data seed 12 it added 0.5 % nDCG@10 at 20k users (random split), 0.2 %
(temporal) and 1.2 % at 100k users (temporal), at no cost (docs/benchmarks.md). At 1M
users (10 steps an epoch) the same 50 steps span five epochs: there the holdout scored
0.1285 with it against 0.1289 without (docs/benchmarks.md, the nightly run's row C)."""

SAMPLES_PER_USER = 1_024
"""The sparse recipe scores each user of a step against at least this many of its sampled
programs (:attr:`TrainConfig.negative_groups`), not all of them: what a step must cover is
the catalogue, not each user. At 20k users (data seed 12, 1,250 samples per step) 1,250,
625 and 312 per user gave nDCG@10 0.2454, 0.2469 and 0.2447 at 1, 1/2 and 1/4 of the
scores' cost; at 100k users (5,000 samples) 556 per user stopped learning at epoch 9
(holdout 0.1350) and 1,250 per user went on to 0.1422 at epoch 24 (docs/benchmarks.md)."""


def default_config(graph: TrainGraph) -> TrainConfig:
    """The configuration chosen from ``graph``'s size (docs/benchmarks.md has the runs).

    * **Dense** graphs (at least :data:`DENSE_POSITIVES_PER_USER` positives per user, such as
      MovieLens) keep the recipe tuned on ms100k: each user has an embedding of their own,
      cosine scores, one full-batch step per epoch over an exact softmax, a refit on all
      positives after early stopping.
    * **Sparse** graphs (TV: a few positives per user) keep cosine scores but give users no
      embedding of their own
      (a user is the sum of their programs and bundles, so there is nothing per user to
      overfit), learn a bias per program, score each fold of the positives on the graph
      without it (a pair never carries its own message), and take
      :data:`STEPS_PER_EPOCH` mini-batch steps per epoch against a quarter of the
      programs (:data:`NEGATIVE_SHARE`), sampled, with the logQ correction, each user
      scored against :data:`SAMPLES_PER_USER` or more of them: an epoch costs the same
      number of propagations at 20k users as at 1M. Beyond :data:`MAX_TRAIN_USERS` users
      it learns from a sample of them (:attr:`TrainConfig.max_train_users`) and serves
      every user, so that a fit costs about the same at 1M users as at 100k. It judges
      and serves a moving average of its parameters (:data:`EMA_DECAY`), and refits on
      every positive where that pays (:data:`REFIT_HOLDOUT_SHARE`).
    """
    users = graph.user_nodes.numel()
    programs = graph.program_nodes.numel()
    positives = graph.positives.size(1)
    if positives / users >= DENSE_POSITIVES_PER_USER:
        return TrainConfig()
    negatives = min(programs, max(1_024, programs // NEGATIVE_SHARE))
    every = TrainConfig()
    holdout_share = every.val_fraction * min(1.0, every.val_max_users / users)
    return TrainConfig(
        embedding_dim=64,
        num_layers=3,
        lr=0.01,
        epochs=120,
        batch_size=max(1_024, math.ceil(positives / STEPS_PER_EPOCH)),
        num_negatives=negatives,
        negative_groups=max(1, negatives // SAMPLES_PER_USER),
        folds=10,
        user_ego=False,
        program_bias=True,
        patience=SPARSE_PATIENCE,
        max_train_users=MAX_TRAIN_USERS,
        ema_decay=EMA_DECAY,
        refit=REFIT_HOLDOUT_SHARE[0] <= holdout_share < REFIT_HOLDOUT_SHARE[1],
        num_threads=None,
    )


def resolve_config(graph: TrainGraph, config: TrainConfig | None = None) -> TrainConfig:
    """``config``'s explicitly set fields over :func:`default_config` of ``graph``."""
    chosen = default_config(graph)
    if config is None:
        return chosen
    return chosen.model_copy(
        update={name: getattr(config, name) for name in config.model_fields_set}
    )
