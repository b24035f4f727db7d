"""The losses LightGCN trains with: a softmax over programs, exact or sampled.

For a positive pair :math:`(u, p)` with score :math:`s(u, p)`, the exact loss is the
negative log-likelihood of :math:`p` under a softmax over every program :math:`\\mathcal{P}`:

.. math::
    \\ell(u, p) = \\log \\sum_{q \\in \\mathcal{P}} e^{s(u, q)} - s(u, p)

The sampled loss replaces the sum by :math:`M` programs drawn with probability
:math:`Q(q)`, shared by every pair of a step, each weighed by :math:`1 / (M\\,Q(q))`
so that the sum estimates the exact one (the "logQ correction"):

.. math::
    \\ell(u, p) = \\log\\Big(e^{s(u, p)} + \\sum_{m=1}^{M} e^{s(u, q_m) - \\log(M\\,Q(q_m))}\\Big)
        - s(u, p)

Both take the scores of the distinct users of a step once (``[users, programs]``)
and a row index per pair, so a user with many positives costs one row, and both average
over the pairs with an optional weight per pair (a recent watch counting more than an
old one): :math:`\\sum_i w_i \\ell_i / \\sum_i w_i`.
"""

from __future__ import annotations

import torch
from torch import Tensor


def full_softmax_loss(
    scores: Tensor, row: Tensor, col: Tensor, *, weight: Tensor | None = None
) -> Tensor:
    """Mean exact softmax loss of the pairs ``(row[i], col[i])``.

    Args:
        scores (torch.Tensor): ``[R, P]`` scores of R users against every program.
        row (torch.Tensor): ``[N]`` row of ``scores`` of each positive pair.
        col (torch.Tensor): ``[N]`` column (program) of each positive pair.
        weight (torch.Tensor, optional): ``[N]`` positive weight of each pair (default: 1).
    """
    _check_pairs(scores, row, col)
    return _mean(torch.logsumexp(scores, dim=1)[row] - scores[row, col], weight)


def sampled_softmax_loss(
    positive: Tensor,
    negative: Tensor,
    row: Tensor,
    *,
    log_weight: Tensor | None,
    weight: Tensor | None = None,
) -> Tensor:
    """Mean sampled softmax loss with the logQ correction.

    Args:
        positive (torch.Tensor): ``[N]`` score of each positive pair.
        negative (torch.Tensor): ``[R, M]`` scores of R users against M sampled programs.
        row (torch.Tensor): ``[N]`` row of ``negative`` of each positive pair's user.
        log_weight (torch.Tensor, optional): ``[M]`` :math:`-\\log(M\\,Q(q_m))` of each sample
            (``log(P / M)`` everywhere for a uniform draw of M among P programs); None
            when ``negative`` already includes it (one pass less over ``[R, M]``).
        weight (torch.Tensor, optional): ``[N]`` positive weight of each pair (default: 1).
    """
    if negative.dim() != 2:
        raise ValueError(f"negative must be [R, M], got {list(negative.shape)}")
    if log_weight is not None and log_weight.shape != negative.shape[1:]:
        raise ValueError(
            f"log_weight must be [M] for negative [R, M]; got {list(log_weight.shape)} "
            f"and {list(negative.shape)}"
        )
    if positive.shape != row.shape:
        raise ValueError(f"positive and row must have one value per pair, got {positive.shape}")
    corrected = negative if log_weight is None else negative + log_weight
    others = torch.logsumexp(corrected, dim=1)[row]
    return _mean(torch.logaddexp(positive, others) - positive, weight)


def _mean(losses: Tensor, weight: Tensor | None) -> Tensor:
    if weight is None:
        return losses.mean()
    if weight.shape != losses.shape:
        raise ValueError(f"weight must have one value per pair, got {list(weight.shape)}")
    return (losses * weight).sum() / weight.sum()


def _check_pairs(scores: Tensor, row: Tensor, col: Tensor) -> None:
    if scores.dim() != 2:
        raise ValueError(f"scores must be [R, P], got {list(scores.shape)}")
    if row.shape != col.shape or row.dim() != 1:
        raise ValueError("row and col must be 1-D with one value per pair")
