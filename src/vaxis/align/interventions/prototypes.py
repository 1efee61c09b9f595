"""EMOD-style prototypes placed by the V-axis: features are pulled towards fixed targets.

The prototype of class ``c`` (or stimulus ``s``) is ``P = p * u + (I - u u^T) r``: its V
position ``p`` along a learned unit direction ``u`` of feature space, plus a fixed random code
``r`` (seeded Gaussian, scale ``code_scale``, projected orthogonal to ``u``) that keeps the
prototypes of equal positions apart. The loss is the mean squared distance
``mean_i ||f_i - P_(i)||^2 / d``. Class prototypes use the class positions; stimulus prototypes
the per-stimulus positions (the targets must carry them). EMOD's prototypes are random; placing
them by the V-axis is the study's variant, and this construction is our definition of it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch


class PrototypeLoss(AuxLoss):
    """Pull each sample's features towards its class (or stimulus) prototype (see module)."""

    codes: torch.Tensor

    def __init__(
        self,
        targets: AlignmentTargets,
        weight: float,
        model: Decoder | None = None,
        level: str = "class",
        code_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(targets, weight)
        model = self.require_model(model, "prototypes")
        if level not in ("class", "stimulus"):
            raise ValueError(f"unknown prototype level {level!r}; choose class or stimulus")
        positions = targets.stimulus_positions if level == "stimulus" else targets.class_positions
        if positions is None:
            raise ValueError("stimulus prototypes need the targets' stimulus positions")
        self.level = level
        generator = torch.Generator().manual_seed(seed)
        codes = torch.randn(len(positions), model.feature_dim, generator=generator) * code_scale
        self.register_buffer("codes", codes)
        self.direction = nn.Parameter(torch.randn(model.feature_dim, generator=generator))

    def prototypes(self) -> torch.Tensor:
        """(n, d) current prototypes (class or stimulus)."""
        u = F.normalize(self.direction, dim=0)
        positions = self.class_positions if self.level == "class" else self.stimulus_positions
        positions = torch.nan_to_num(positions)
        orthogonal = self.codes - (self.codes @ u)[:, None] * u[None, :]
        return positions[:, None] * u[None, :] + orthogonal

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        which = batch.y if self.level == "class" else self.sample_stimulus[batch.index]
        return ((features - self.prototypes()[which]) ** 2).mean()
