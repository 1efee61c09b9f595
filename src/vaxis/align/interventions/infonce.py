"""CLIP-style InfoNCE between projected EEG features and the LLM's class embeddings.

A learned linear map ``g`` projects the penultimate features into the embedding space; with
``z_i = g(f_i) / ||g(f_i)||`` and ``e_c = E_c / ||E_c||`` the (fixed) class embeddings, the
logits are ``z_i . e_c / T`` and the loss is the cross-entropy towards the sample's class
(CLIP's image-to-text direction, with the classes as the texts; the text-to-image direction
would count samples of the same class as negatives, so it is left out). Needs class
embeddings with at least two dimensions (1-D positions normalise to a sign).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch


class InfoNCELoss(AuxLoss):
    """Cross-entropy of cosine similarities to the class embeddings (see module)."""

    embeddings: torch.Tensor

    def __init__(
        self,
        targets: AlignmentTargets,
        weight: float,
        model: Decoder | None = None,
        temperature: float = 0.1,
    ) -> None:
        super().__init__(targets, weight)
        model = self.require_model(model, "infonce")
        geometry = torch.as_tensor(targets.geometry()).float()
        if geometry.shape[1] < 2:
            raise ValueError("InfoNCE needs class embeddings (k, m) with m >= 2 in the targets")
        self.temperature = temperature
        self.register_buffer("embeddings", F.normalize(geometry, dim=1))
        self.project = nn.Linear(model.feature_dim, geometry.shape[1])

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        z = F.normalize(self.project(features), dim=1)
        return F.cross_entropy(z @ self.embeddings.T / self.temperature, batch.y)
