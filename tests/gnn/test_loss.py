"""The softmax losses on cases small enough to compute by hand."""

from __future__ import annotations

import math

import pytest
import torch

from gnn.loss import full_softmax_loss, sampled_softmax_loss


def test_full_softmax_loss_is_the_negative_log_likelihood_of_each_positive() -> None:
    scores = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    # User 0's positive is program 2, user 1's are programs 0 and 1.
    loss = full_softmax_loss(scores, torch.tensor([0, 1, 1]), torch.tensor([2, 0, 1]))
    first = math.log(math.e + math.e**2 + math.e**3) - 3.0
    uniform = math.log(3.0)
    assert float(loss) == pytest.approx((first + 2 * uniform) / 3, rel=1e-6)


def test_sampled_softmax_loss_weighs_each_sample_by_its_log_q_correction() -> None:
    # One pair scoring 2 against two samples scoring 0 and 1, each standing for 2 programs.
    loss = sampled_softmax_loss(
        torch.tensor([2.0]),
        torch.tensor([[0.0, 1.0]]),
        torch.tensor([0]),
        log_weight=torch.full((2,), math.log(2.0)),
    )
    expected = math.log(math.e**2 + 2 * math.e**0 + 2 * math.e**1) - 2.0
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_sampled_loss_with_every_program_once_and_no_correction_is_the_full_loss() -> None:
    scores = torch.tensor([[0.5, -1.0, 2.0, 0.0]])
    full = full_softmax_loss(scores, torch.tensor([0]), torch.tensor([1]))
    others = scores[:, [0, 2, 3]]
    sampled = sampled_softmax_loss(
        scores[0, [1]], others, torch.tensor([0]), log_weight=torch.zeros(3)
    )
    assert float(sampled) == pytest.approx(float(full), rel=1e-6)


def test_losses_name_the_shape_they_need() -> None:
    with pytest.raises(ValueError, match=r"scores must be \[R, P\]"):
        full_softmax_loss(torch.zeros(3), torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(ValueError, match="log_weight"):
        sampled_softmax_loss(
            torch.zeros(1), torch.zeros(1, 2), torch.tensor([0]), log_weight=torch.zeros(3)
        )


def test_a_weight_per_pair_makes_the_loss_a_weighted_mean() -> None:
    scores = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    rows, cols = torch.tensor([0, 1]), torch.tensor([2, 0])
    first = math.log(math.e + math.e**2 + math.e**3) - 3.0
    uniform = math.log(3.0)
    weighted = full_softmax_loss(scores, rows, cols, weight=torch.tensor([3.0, 1.0]))
    assert float(weighted) == pytest.approx((3 * first + uniform) / 4, rel=1e-6)
    sampled = sampled_softmax_loss(
        torch.tensor([3.0, 0.0]),
        torch.tensor([[1.0, 2.0], [0.0, 0.0]]),
        rows,
        log_weight=torch.zeros(2),
        weight=torch.tensor([3.0, 1.0]),
    )
    assert float(sampled) == pytest.approx((3 * first + uniform) / 4, rel=1e-6)
    with pytest.raises(ValueError, match="weight must have one value per pair"):
        full_softmax_loss(scores, rows, cols, weight=torch.ones(3))
