"""Distillation towards fixed prototypes: the documented formula, computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaxis.decoders.distill import (
    Distillation,
    distillation_loss,
    prototype_matrix,
    soft_targets,
)


def test_random_prototypes_are_orthonormal_fixed_by_their_seed_and_not_the_identity() -> None:
    p = prototype_matrix(9, Distillation())
    np.testing.assert_allclose(p @ p.T, np.eye(9), atol=1e-12)
    np.testing.assert_array_equal(p, prototype_matrix(9, Distillation()))
    assert not np.allclose(p, prototype_matrix(9, Distillation(seed=1)))
    assert np.abs(np.diag(p)).max() < 0.99


def test_soft_targets_are_the_softmax_of_the_prototypes_over_t() -> None:
    settings = Distillation(temperature=2.0)
    p = prototype_matrix(5, settings) / 2.0
    expected = np.exp(p) / np.exp(p).sum(1, keepdims=True)
    np.testing.assert_allclose(soft_targets(5, settings).numpy(), expected, rtol=1e-6)
    identity = soft_targets(3, Distillation(prototypes="identity")).numpy()
    e = np.e
    np.testing.assert_allclose(identity[0], [e / (e + 2), 1 / (e + 2), 1 / (e + 2)], rtol=1e-6)


def test_loss_is_lambda_t_squared_kl_and_zero_at_the_targets() -> None:
    settings = Distillation(weight=0.5, temperature=2.0)
    targets = soft_targets(4, settings)
    logits, y = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0, 1])
    q = targets.double()[y].numpy()
    log_p = torch.log_softmax(logits / 2.0, dim=1).numpy()
    kl = np.sum(q * (np.log(q) - log_p), axis=1).mean()
    loss = distillation_loss(logits, y, targets.double(), settings)
    assert float(loss) == pytest.approx(0.5 * 4.0 * kl)
    at_targets = 2.0 * torch.log(targets.double()[y])  # logits / T reproduce q exactly
    assert float(distillation_loss(at_targets, y, targets.double(), settings)) == pytest.approx(
        0.0, abs=1e-6
    )
