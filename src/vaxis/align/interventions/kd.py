"""Knowledge distillation from the LLM's class similarities.

The teacher's distribution for a sample of class ``y`` is ``t = softmax(-d(., y) / tau)`` over
classes (``d`` the LLM class distance, :meth:`AlignmentTargets.distances`); the student is
``softmax(logits / T)``, and the loss is Hinton's ``T^2 * KL(t || student)``, averaged over the
batch. Unlike :mod:`~vaxis.align.interventions.distance_ce` the student is softened by ``T`` and
the teacher's own entropy is subtracted (a perfect match costs zero).
"""

from __future__ import annotations

import torch

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss
from vaxis.align.interventions.distance_ce import distance_targets
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch


class SimilarityDistillation(AuxLoss):
    """``T^2 KL(teacher || softmax(logits / T))`` with the LLM-similarity teacher."""

    teacher: torch.Tensor

    def __init__(
        self,
        targets: AlignmentTargets,
        weight: float,
        model: Decoder | None = None,
        tau: float = 1.0,
        temperature: float = 2.0,
    ) -> None:
        super().__init__(targets, weight)
        if tau <= 0 or temperature <= 0:
            raise ValueError("tau and temperature must be positive")
        self.temperature = temperature
        distances = torch.as_tensor(targets.distances()).float()
        self.register_buffer("teacher", distance_targets(distances, tau))

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        t = self.teacher[batch.y]
        log_student = torch.log_softmax(logits / self.temperature, dim=1)
        kl = (t * (torch.log(t.clamp_min(1e-30)) - log_student)).sum(dim=1).mean()
        return self.temperature**2 * kl
