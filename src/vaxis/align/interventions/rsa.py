"""Representational similarity alignment (RSA) of the decoder's class geometry with the LLM's.

For the classes present in a batch, the decoder's RDM is ``D_ij = 1 - r(m_i, m_j)`` with
``m_c`` the batch mean of the penultimate features of class ``c`` and ``r`` Pearson's
correlation across feature dimensions (rsatoolbox's ``correlation`` RDM). The LLM's RDM ``T`` is
:meth:`AlignmentTargets.distances` (``|p_i - p_j|`` on the V-axis, or ``1 - r`` between class
embeddings). The loss is ``1 - rho(upper(D), upper(T))`` with ``rho`` Pearson's correlation
(rsatoolbox's ``corr`` comparison) or a differentiable Spearman approximation (Pearson between
soft ranks, ``rank_i = 1/2 + sum_j sigmoid((u_i - u_j) / s)``, ``s`` relative to the values'
spread). Batches with fewer than three classes give no comparison and a zero loss.
"""

from __future__ import annotations

from typing import Literal

import torch

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss, class_means
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch


class RSALoss(AuxLoss):
    """``1 - rho`` between the batch class-mean RDM and the LLM class RDM (see module)."""

    target_rdm: torch.Tensor

    def __init__(
        self,
        targets: AlignmentTargets,
        weight: float,
        model: Decoder | None = None,
        method: Literal["pearson", "spearman"] = "pearson",
        sharpness: float = 0.1,
    ) -> None:
        super().__init__(targets, weight)
        if method not in ("pearson", "spearman"):
            raise ValueError(f"unknown RSA method {method!r}; choose pearson or spearman")
        self.method, self.sharpness = method, sharpness
        self.register_buffer("target_rdm", torch.as_tensor(targets.distances()).float())

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        means, present = class_means(features, batch.y)
        if present.numel() < 3:
            return features.sum() * 0.0
        upper = torch.triu_indices(present.numel(), present.numel(), offset=1, device=means.device)
        model = correlation_rdm(means)[upper[0], upper[1]]
        target = self.target_rdm[present][:, present][upper[0], upper[1]]
        if self.method == "spearman":
            model, target = soft_rank(model, self.sharpness), soft_rank(target, self.sharpness)
        return 1.0 - pearson(model, target)


def correlation_rdm(means: torch.Tensor) -> torch.Tensor:
    """(k, k) ``1 - Pearson r`` between the rows of ``means``."""
    centred = means - means.mean(dim=1, keepdim=True)
    unit = centred / centred.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return 1.0 - unit @ unit.T


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson's correlation of two vectors (0 when either is constant)."""
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12)


def soft_rank(values: torch.Tensor, sharpness: float) -> torch.Tensor:
    """Differentiable ranks (1-based): sigmoid comparisons at ``sharpness`` x the values' std."""
    scale = (values.std() * sharpness).clamp_min(1e-12)
    return 0.5 + torch.sigmoid((values[:, None] - values[None, :]) / scale).sum(dim=1)
