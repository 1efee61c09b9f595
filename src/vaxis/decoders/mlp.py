"""Multi-layer perceptrons on seconds-averaged DE features: plain and residual.

Both average the seconds of a segment, flatten channels x bands and map them through hidden
layers; the last hidden layer is the penultimate representation.

* ``mlp`` - ``Linear -> LayerNorm -> GELU -> Dropout`` per hidden width.
* ``resmlp`` - an input projection to ``width`` followed by ``depth`` pre-norm residual blocks
  ``h + Dropout(Linear(GELU(Linear(LayerNorm(h)))))`` (the feed-forward half of a transformer
  block) and a final LayerNorm; it trains stably at depths where the plain MLP does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from vaxis.decoders.base import Decoder, register


@register("mlp")
class MLPDecoder(Decoder):
    """Plain MLP; ``hidden`` gives the width of each hidden layer (at least one)."""

    def __init__(
        self,
        n_channels: int,
        n_bands: int,
        n_classes: int,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.2,
    ) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        if not hidden:
            raise ValueError("an MLP needs at least one hidden layer; use 'linear' for none")
        widths = [n_channels * n_bands, *hidden]
        self.body = nn.Sequential(
            *(
                nn.Sequential(nn.Linear(a, b), nn.LayerNorm(b), nn.GELU(), nn.Dropout(dropout))
                for a, b in pairwise(widths)
            )
        )
        self.feature_dim = widths[-1]
        self.classifier = nn.Linear(self.feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.pool_seconds(x).flatten(1))


class _ResidualBlock(nn.Module):
    def __init__(self, width: int, expansion: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.up = nn.Linear(width, expansion * width)
        self.down = nn.Linear(expansion * width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.drop(self.down(nn.functional.gelu(self.up(self.norm(h)))))


@register("resmlp")
class ResidualMLPDecoder(Decoder):
    """Residual MLP: ``depth`` pre-norm blocks at ``width`` (hidden ``expansion x width``)."""

    def __init__(
        self,
        n_channels: int,
        n_bands: int,
        n_classes: int,
        width: int = 128,
        depth: int = 3,
        expansion: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        self.embed = nn.Linear(n_channels * n_bands, width)
        self.blocks = nn.Sequential(
            *(_ResidualBlock(width, expansion, dropout) for _ in range(depth))
        )
        self.norm = nn.LayerNorm(width)
        self.feature_dim = width
        self.classifier = nn.Linear(width, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(self.embed(self.pool_seconds(x).flatten(1))))
