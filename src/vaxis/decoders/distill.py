r"""Soft-target distillation towards fixed class prototypes (the study's "+KD" regime).

The study trains with "soft-target distillation towards random orthonormal 9-D prototypes
(lambda 0.5, T 1)" (docs/REFERENCE.md sec. 1.8). Its exact formula is not public; ours
(inferred) is:

.. math::

    P &= \text{a fixed } K \times K \text{ orthonormal matrix (QR of a seeded Gaussian)} \\
    q_y &= \operatorname{softmax}(P_y / T) \qquad \text{(the soft target of class } y) \\
    \mathcal{L} &= \operatorname{CE}(z, y)
        + \lambda\, T^2\, \operatorname{KL}\big(q_y \,\|\, \operatorname{softmax}(z / T)\big)

for logits ``z``: classic knowledge distillation (Hinton et al. 2015, the ``T^2`` keeps
gradient scales comparable across temperatures) with a fixed "teacher" that maps each class to
its prototype. ``prototypes="identity"`` gives ``P = I``, the teacher-free virtual teacher of
Yuan et al. (CVPR 2020), i.e. label smoothing towards ``softmax(e_y / T)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch.nn import functional as F


class Distillation(BaseModel):
    """Distillation settings; the defaults are the study's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: float = Field(default=0.5, ge=0)
    temperature: float = Field(default=1.0, gt=0)
    prototypes: Literal["random-orthonormal", "identity"] = "random-orthonormal"
    #: seed of the random prototypes (fixed, independent of the training seed)
    seed: int = 0


def prototype_matrix(n_classes: int, settings: Distillation) -> np.ndarray:
    """The K x K prototype matrix (rows orthonormal)."""
    if settings.prototypes == "identity":
        return np.eye(n_classes)
    gaussian = np.random.default_rng(settings.seed).standard_normal((n_classes, n_classes))
    q, r = np.linalg.qr(gaussian)
    return q * np.sign(np.diag(r))  # sign fix: a unique draw for a given seed (Haar measure)


def soft_targets(n_classes: int, settings: Distillation) -> torch.Tensor:
    """Row y = the soft target q_y of class y, shape (K, K), float32."""
    p = prototype_matrix(n_classes, settings) / settings.temperature
    return torch.softmax(torch.as_tensor(p, dtype=torch.float32), dim=1)


def distillation_loss(
    logits: torch.Tensor, y: torch.Tensor, targets: torch.Tensor, settings: Distillation
) -> torch.Tensor:
    """``lambda T^2 KL(q_y || softmax(z / T))`` averaged over the batch."""
    t = settings.temperature
    log_p = F.log_softmax(logits / t, dim=1)
    return settings.weight * t * t * F.kl_div(log_p, targets[y], reduction="batchmean")
