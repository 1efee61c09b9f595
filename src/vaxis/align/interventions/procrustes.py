"""Procrustes alignment of the batch class means with the LLM class geometry.

With ``M`` (k x d) the batch class means of the penultimate features and ``T`` (k x m) the
LLM's configuration of the same classes (:meth:`AlignmentTargets.geometry`: class embeddings,
or the V positions as one column), both centred and scaled to unit Frobenius norm, the best
rotation/reflection and scale leave the residual (Procrustes disparity, as
``scipy.spatial.procrustes`` with zero-padding to equal width)
``min_{R, s} ||M - s T R||^2 = 1 - ||T^T M||_*^2``, where ``||.||_*`` is the nuclear norm (sum
of singular values). The loss is that residual, differentiable through the SVD. Batches with
fewer than three classes give a zero loss (any two points align exactly).
"""

from __future__ import annotations

import torch

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss, class_means
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch


class ProcrustesLoss(AuxLoss):
    """Procrustes disparity between batch class means and the LLM class geometry."""

    geometry: torch.Tensor

    def __init__(
        self, targets: AlignmentTargets, weight: float, model: Decoder | None = None
    ) -> None:
        super().__init__(targets, weight)
        self.register_buffer("geometry", torch.as_tensor(targets.geometry()).float())

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        means, present = class_means(features, batch.y)
        if present.numel() < 3:
            return features.sum() * 0.0
        return procrustes_disparity(means, self.geometry[present])


def procrustes_disparity(m: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``1 - ||T^T M||_*^2`` after centring and unit-norm scaling of both configurations."""
    m, t = _standardize(m), _standardize(t)
    return 1.0 - torch.linalg.matrix_norm(t.T @ m, ord="nuc") ** 2


def _standardize(x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(dim=0, keepdim=True)
    return centred / centred.norm().clamp_min(1e-12)
