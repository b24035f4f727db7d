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

import warnings
from typing import Any

import torch
from torch import Tensor
from torch_geometric.nn.conv import LGConv
from torch_geometric.nn.models import LightGCN


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


class _SymmetricSpmm(torch.autograd.Function):
    """``adj @ x`` for a symmetric sparse ``adj``, whose backward is ``adj @ grad``."""

    @staticmethod
    def forward(ctx: Any, adj: Tensor, x: Tensor) -> Tensor:
        ctx.adj = adj
        out: Tensor = torch.sparse.mm(adj, x)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        return None, torch.sparse.mm(ctx.adj, grad)


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

    def reset_parameters_(self, *, std: float, generator: torch.Generator) -> None:
        """Draw the ego embeddings from ``N(0, std^2)`` with ``generator`` (reproducible)."""
        with torch.no_grad():
            self.embedding.weight.normal_(0.0, std, generator=generator)
