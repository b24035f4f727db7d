"""LightGCN over any graph, with the normalised adjacency computed once.

The model is :class:`torch_geometric.nn.models.LightGCN`; only its propagation is
changed so that training is cheap on CPU:

* the symmetric normalisation :math:`\\hat{A} = D^{-1/2} A D^{-1/2}` is built once per graph
  by :func:`normalized_adjacency` (a ``torch.sparse_csr`` matrix), instead of once per
  layer and per step as ``LGConv(normalize=True)`` does;
* since :math:`\\hat{A}` is symmetric, the gradient of :math:`\\hat{A} X` is
  :math:`\\hat{A}\\,\\nabla`, another CSR product. PyTorch's generic backward for a sparse
  product transposes the matrix on every call and is several times slower.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch_geometric.nn.conv import LGConv
from torch_geometric.nn.models import LightGCN

from gnn.metrics import PAD


def normalized_adjacency(
    edge_index: Tensor, num_nodes: int, *, edge_weight: Tensor | None = None
) -> Tensor:
    """The symmetric normalised adjacency :math:`D^{-1/2} A D^{-1/2}` as a CSR matrix.

    Args:
        edge_index (torch.Tensor): ``[2, E]`` undirected edges, in either or both
            directions: an edge listed several times gets the mean of its weights.
        num_nodes (int): number of nodes.
        edge_weight (torch.Tensor, optional): ``[E]`` positive weights (default: all 1).

    Returns:
        A ``[num_nodes, num_nodes]`` float32 ``torch.sparse_csr`` tensor, symmetric.
    """
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}")
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
        raise ValueError(f"edge_index holds node ids outside 0..{num_nodes - 1}")
    weight = (
        torch.ones(edge_index.size(1), dtype=torch.float32)
        if edge_weight is None
        else edge_weight.to(torch.float32)
    )
    if weight.shape != (edge_index.size(1),):
        raise ValueError(f"edge_weight must have shape [{edge_index.size(1)}]")
    if weight.numel() and weight.min() <= 0:
        raise ValueError("edge_weight must be positive")
    lo = torch.minimum(edge_index[0], edge_index[1]).long()
    hi = torch.maximum(edge_index[0], edge_index[1]).long()
    pairs = torch.sparse_coo_tensor(
        torch.stack([lo, hi]),
        torch.stack([weight, torch.ones_like(weight)], dim=1),
        (num_nodes, num_nodes, 2),
        check_invariants=False,
    ).coalesce()
    (lo, hi), summed = pairs.indices(), pairs.values()
    mean = summed[:, 0] / summed[:, 1]
    off = lo != hi  # a self loop appears once, an edge in both directions
    index = torch.stack([torch.cat([lo, hi[off]]), torch.cat([hi, lo[off]])])
    adj = torch.sparse_coo_tensor(
        index, torch.cat([mean, mean[off]]), (num_nodes, num_nodes), check_invariants=False
    ).coalesce()
    row, col = adj.indices()
    deg = torch.zeros(num_nodes).index_add_(0, row, adj.values())
    inv_sqrt = deg.pow(-0.5).masked_fill_(deg == 0, 0.0)
    values = inv_sqrt[row] * adj.values() * inv_sqrt[col]
    normalized = torch.sparse_coo_tensor(
        adj.indices(), values, adj.shape, check_invariants=False
    ).coalesce()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return normalized.to_sparse_csr()


def _spmm(adj: Tensor, x: Tensor) -> Tensor:
    """``adj @ x`` for a CSR ``adj``, written into a fresh output: the same values as
    ``torch.sparse.mm``, which allocates, fills and copies a result around the same kernel,
    in 80-85 % of its time on the TV benchmark's graphs (``bench/spmm.py``)."""
    out = torch.empty(adj.size(0), x.size(1), dtype=x.dtype)
    return torch.addmm(out, adj, x.contiguous(), beta=0.0, out=out)


class _SymmetricSpmm(torch.autograd.Function):
    """``adj @ x`` for a symmetric sparse ``adj``, whose backward is ``adj @ grad``."""

    @staticmethod
    def forward(ctx: Any, adj: Tensor, x: Tensor) -> Tensor:
        ctx.adj = adj
        return _spmm(adj, x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        return None, _spmm(ctx.adj, grad)


class SymmetricLGConv(LGConv):  # type: ignore[misc]
    """:class:`~torch_geometric.nn.conv.LGConv` on a precomputed symmetric normalised CSR.

    ``forward(x, adj)`` with ``adj`` from :func:`normalized_adjacency`; no normalisation
    happens here.
    """

    def __init__(self) -> None:
        super().__init__(normalize=False)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        if edge_index.layout != torch.sparse_csr or edge_weight is not None:
            raise ValueError("SymmetricLGConv needs the CSR matrix from normalized_adjacency()")
        out: Tensor = _SymmetricSpmm.apply(edge_index, x)
        return out


class GraphLightGCN(LightGCN):  # type: ignore[misc]
    r"""PyG's LightGCN whose layers propagate over a precomputed normalised adjacency.

    .. math::
        \mathbf{X} = \sum_{l=0}^{L} \alpha_l \hat{A}^{l} \mathbf{E},
        \qquad \hat{A} = D^{-1/2} A D^{-1/2}

    .. note::
        Pass ``adj = normalized_adjacency(edge_index, num_nodes)`` wherever PyG's LightGCN
        takes ``edge_index``; build it once per graph and reuse it for every step.

    Args:
        num_nodes (int): number of nodes of every type.
        embedding_dim (int): size of each node embedding.
        num_layers (int): number of propagation layers :math:`L`.
        alpha (sequence of float, optional): the :math:`L + 1` layer weights
            :math:`\alpha_l` (default: ``1 / (L + 1)`` each, as in the paper).
    """

    embedding: torch.nn.Embedding
    ego_rows: Tensor | None = None

    def __init__(
        self,
        num_nodes: int,
        embedding_dim: int,
        num_layers: int,
        *,
        alpha: tuple[float, ...] | None = None,
    ) -> None:
        weights = None if alpha is None else torch.tensor(alpha, dtype=torch.float32)
        super().__init__(num_nodes, embedding_dim, num_layers, alpha=weights)
        self.convs = torch.nn.ModuleList([SymmetricLGConv() for _ in range(num_layers)])
        self.bias = torch.nn.Parameter(torch.zeros(num_nodes))

    def freeze_ego_(self, nodes: Tensor) -> None:
        """Give ``nodes`` no embedding of their own: they become what they are linked to
        (for users: their programs and bundles), so they have nothing to overfit.

        Their rows leave the parameters: ``embedding`` keeps the other nodes' rows, in node
        order (``ego_rows``), so that neither the optimiser nor a moving average of the
        parameters spends anything on rows that are always zero (at 20k users, four fifths
        of the table)."""
        keep = torch.ones(self.num_nodes, dtype=torch.bool)
        keep[nodes] = False
        rows = torch.nonzero(keep).squeeze(1)
        embedding = torch.nn.Embedding(rows.numel(), self.embedding_dim)
        with torch.no_grad():
            embedding.weight.copy_(self.embedding.weight[rows])
        self.embedding = embedding
        # A plain attribute, not a buffer: a moving average of the parameters and buffers
        # (torch's AveragedModel) must not average node ids.
        self.ego_rows = rows

    def ego_embeddings(self) -> Tensor:
        """Every node's own embedding, ``[num_nodes, embedding_dim]``: zero for the nodes of
        :meth:`freeze_ego_`."""
        weight: Tensor = self.embedding.weight
        rows = self.ego_rows
        if rows is None:
            return weight
        return weight.new_zeros(self.num_nodes, weight.size(1)).index_copy(0, rows, weight)

    def get_embedding(self, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        x = self.ego_embeddings()
        alpha = self.alpha.tolist()
        out: Tensor = x * alpha[0]
        for i in range(self.num_layers):
            x = self.convs[i](x, edge_index, edge_weight)
            # One pass for x * alpha and the sum (exactly the same values when alpha is a
            # power of two, as with three layers' 1/4).
            out = torch.add(out, x, alpha=alpha[i + 1])
        return out

    def reset_parameters_(self, *, std: float, generator: torch.Generator) -> None:
        """Draw the ego embeddings from ``N(0, std^2)`` with ``generator`` (reproducible)."""
        with torch.no_grad():
            self.embedding.weight.normal_(0.0, std, generator=generator)


def recommend(
    embeddings: Tensor,
    *,
    users: Tensor,
    programs: Tensor,
    exclude: Tensor | None = None,
    k: int = 10,
    max_scores: int = 1 << 24,
    extra: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """Top-k programs per user by dot product, excluding given (user, program) pairs.

    Users are scored in batches of at most ``max_scores`` user x program scores, so any
    number of users fits in memory.

    Args:
        embeddings (torch.Tensor): ``[num_nodes, d]`` (``FitResult.embeddings``).
        users (torch.Tensor): ``[U]`` user nodes to recommend for.
        programs (torch.Tensor): ``[P]`` candidate program nodes.
        exclude (torch.Tensor, optional): ``[2, S]`` (user node, program node) pairs never
            to recommend, typically the training interactions. Pairs for other users or
            other programs are ignored.
        k (int, optional): list length (default: 10).
        max_scores (int, optional): scores held in memory at once (default: 2**24).
        extra (callable, optional): ``extra(users, programs)`` gives ``[len(users),
            len(programs)]`` scores added to the dot products of a batch of user nodes,
            such as :meth:`gnn.genre_channel.GenreChannel.for_nodes`'s.

    Returns:
        ``(program_nodes, scores)``, both ``[U, k]``, best first. When a user has fewer
        than k candidates left, the row is padded with program ``-1`` and score ``-inf``.
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    num_nodes = embeddings.size(0)
    users, programs = users.long(), programs.long()
    k_eff = min(k, programs.numel())
    user_row = torch.full((num_nodes,), -1, dtype=torch.long)
    user_row[users] = torch.arange(users.numel())
    program_col = torch.full((num_nodes,), -1, dtype=torch.long)
    program_col[programs] = torch.arange(programs.numel())
    if exclude is not None and exclude.numel():
        rows, cols = user_row[exclude[0].long()], program_col[exclude[1].long()]
        ok = (rows >= 0) & (cols >= 0)
        rows, cols = rows[ok], cols[ok]
        order = torch.argsort(rows, stable=True)
        rows, cols = rows[order], cols[order]
    else:
        rows = cols = torch.empty(0, dtype=torch.long)
    ptr = torch.searchsorted(rows, torch.arange(users.numel() + 1))

    program_emb = embeddings[programs]
    step = max(1, max_scores // max(programs.numel(), 1))
    top_nodes = torch.full((users.numel(), k), PAD, dtype=torch.long)
    top_scores = torch.full((users.numel(), k), -math.inf)
    with torch.no_grad():
        for a in range(0, users.numel(), step):
            b = min(a + step, users.numel())
            scores = embeddings[users[a:b]] @ program_emb.T
            if extra is not None:
                scores += extra(users[a:b], programs)
            lo, hi = int(ptr[a]), int(ptr[b])
            scores[rows[lo:hi] - a, cols[lo:hi]] = -math.inf
            val, col = torch.topk(scores, k_eff, dim=1)
            top_scores[a:b, :k_eff] = val
            top_nodes[a:b, :k_eff] = torch.where(val > -math.inf, programs[col], PAD)
    return top_nodes, top_scores
