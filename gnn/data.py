"""The graph LightGCN trains on: nodes of every type, message-passing edges, positives."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class TrainGraph:
    """A graph to train on. Node ids are ``0..num_nodes-1`` across all node types.

    Attributes:
        num_nodes (int): number of nodes of every type.
        edge_index (torch.Tensor): ``[2, E]`` undirected message-passing edges other than
            the positives (for example Program-Genre, User-Bundle); may be empty. Each
            edge in either or both directions.
        user_nodes (torch.Tensor): ``[U]`` node ids of the users (recommendation targets).
        program_nodes (torch.Tensor): ``[P]`` node ids of the programs (the candidates).
        positives (torch.Tensor): ``[2, N]`` (user node, program node) interactions. They
            are the loss's positives *and* message-passing edges: :func:`fit` adds them
            to the graph itself, minus the ones it holds out for validation.
        edge_weight (torch.Tensor, optional): ``[E]`` positive weights of ``edge_index``
            (default: 1). Positive pairs always weigh 1.
        positive_time (torch.Tensor, optional): ``[N]`` when each positive happened, in
            seconds on any common clock (the export gives epoch seconds of
            ``WATCHED.last_ts``). What a recency-weighted loss and a holdout of each user's
            latest positives need; without it every positive is as old as the others.
        genre_nodes (torch.Tensor, optional): ``[G]`` node ids of the genres and
        channel_nodes (torch.Tensor, optional): ``[C]`` of the channels, among the side
            nodes: with them a fit can add popularity within the user's genres and
            channels to LightGCN's score (:mod:`gnn.genre_channel`).
    """

    num_nodes: int
    edge_index: Tensor
    user_nodes: Tensor
    program_nodes: Tensor
    positives: Tensor
    edge_weight: Tensor | None = None
    positive_time: Tensor | None = None
    genre_nodes: Tensor | None = None
    channel_nodes: Tensor | None = None

    def __post_init__(self) -> None:
        for name in ("edge_index", "positives"):
            t = getattr(self, name)
            if t.dim() != 2 or t.size(0) != 2:
                raise ValueError(f"TrainGraph.{name} must have shape [2, n], got {list(t.shape)}")
        for name in ("user_nodes", "program_nodes", "genre_nodes", "channel_nodes"):
            t = getattr(self, name)
            if t is None:
                continue
            if t.dim() != 1 or (t.numel() == 0 and name in ("user_nodes", "program_nodes")):
                raise ValueError(f"TrainGraph.{name} must be a non-empty 1-D tensor")
            if t.numel() and (t.min() < 0 or t.max() >= self.num_nodes):
                raise ValueError(f"TrainGraph.{name} holds ids outside 0..{self.num_nodes - 1}")
        if self.positives.size(1) == 0:
            raise ValueError("TrainGraph.positives is empty: nothing to learn from")
        if self.positive_time is not None:
            if self.positive_time.shape != (self.positives.size(1),):
                raise ValueError(
                    f"TrainGraph.positive_time must have one value per positive "
                    f"({self.positives.size(1)}), got shape {list(self.positive_time.shape)}"
                )
            if not torch.isfinite(self.positive_time.double()).all():
                raise ValueError("TrainGraph.positive_time holds a missing or infinite time")
        is_user = torch.zeros(self.num_nodes, dtype=torch.bool)
        is_user[self.user_nodes] = True
        is_program = torch.zeros(self.num_nodes, dtype=torch.bool)
        is_program[self.program_nodes] = True
        if (is_user & is_program).any():
            raise ValueError("a node cannot be both in user_nodes and program_nodes")
        if not is_user[self.positives[0]].all():
            raise ValueError("TrainGraph.positives[0] must hold user nodes only")
        if not is_program[self.positives[1]].all():
            raise ValueError("TrainGraph.positives[1] must hold program nodes only")

    @classmethod
    def bipartite(
        cls, users: Tensor, programs: Tensor, *, num_users: int, num_programs: int
    ) -> TrainGraph:
        """Users ``0..num_users-1`` and programs ``0..num_programs-1`` linked by interactions.

        Program ``j`` becomes node ``num_users + j``; ``users[i]`` interacted with
        ``programs[i]``.
        """
        return cls(
            num_nodes=num_users + num_programs,
            edge_index=torch.empty(2, 0, dtype=torch.long),
            user_nodes=torch.arange(num_users),
            program_nodes=torch.arange(num_users, num_users + num_programs),
            positives=torch.stack([users.long(), programs.long() + num_users]),
        )
