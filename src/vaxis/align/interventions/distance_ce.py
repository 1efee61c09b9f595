"""Distance-weighted cross-entropy: soft targets that spread each class over its V-axis neighbours.

The target of a sample of class ``y`` is ``q_c = exp(-d(c, y) / tau) / sum_c' exp(-d(c', y) /
tau)`` with ``d`` the LLM class distance (:meth:`AlignmentTargets.distances`, by default
``|p_c - p_y|`` on the axis; the study's tau is 5), and the loss is the cross-entropy
``-sum_c q_c log softmax(logits)_c`` averaged over the batch. Added to the ordinary
cross-entropy it moves probability towards classes that are close on the V-axis.
"""

from __future__ import annotations

import torch

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch


def distance_targets(distances: torch.Tensor, tau: float) -> torch.Tensor:
    """(k, k) rows ``q(. | y)``: softmax over classes of ``-distance / tau``."""
    return torch.softmax(-distances / tau, dim=1)


class DistanceWeightedCE(AuxLoss):
    """Cross-entropy against ``q(. | y)`` (see module)."""

    soft: torch.Tensor

    def __init__(
        self,
        targets: AlignmentTargets,
        weight: float,
        model: Decoder | None = None,
        tau: float = 5.0,
    ) -> None:
        super().__init__(targets, weight)
        if tau <= 0:
            raise ValueError("tau must be positive")
        distances = torch.as_tensor(targets.distances()).float()
        self.register_buffer("soft", distance_targets(distances, tau))

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        return -(self.soft[batch.y] * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
