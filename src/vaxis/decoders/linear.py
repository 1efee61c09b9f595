"""Linear decoder: multinomial logistic regression on seconds-averaged DE features.

``logits = W vec(mean_t x_t) + b`` with ``W`` of shape (classes, channels x bands). Trained
with cross-entropy it is multinomial logistic regression, the simplest read-out of the
channel-band features and the baseline every deeper model must beat. Its "penultimate
features" are the flattened input itself.
"""

from __future__ import annotations

import torch
from torch import nn

from vaxis.decoders.base import Decoder, register


@register("linear")
class LinearDecoder(Decoder):
    """Logistic regression over the ``n_channels * n_bands`` averaged DE features."""

    def __init__(self, n_channels: int, n_bands: int, n_classes: int) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        self.feature_dim = n_channels * n_bands
        self.classifier = nn.Linear(self.feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool_seconds(x).flatten(1)
