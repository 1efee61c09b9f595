"""CBraMod-style criss-cross transformer over DE features (the study's CBraMod on DE input).

CBraMod (:mod:`vaxis.decoders.cbramod`) reads raw EEG; the study's pipeline reads DE features
(docs/REFERENCE.md sec. 1.12 records this choice). This decoder keeps CBraMod's encoder and
changes only the tokens: one token per (channel, second) of a segment, the linear embedding of
that second's band values plus a learned channel embedding and CBraMod's conditional
positional encoding (a depthwise 19 x 7 convolution over the channel x second grid). Each
criss-cross layer attends across channels within a second (spatial) and across seconds
within a channel (temporal), in parallel halves of the width. The penultimate representation
is the mean of the final tokens (``width`` values); the head is one linear layer.

Hyper-parameters (CBraMod's sizes): ``depth`` (12), ``width`` (200), ``heads`` (8, even),
``feedforward`` (800), ``dropout`` (0.1).

Reference: Wang et al. 2025, "CBraMod: a criss-cross brain foundation model for EEG decoding",
ICLR 2025 (arXiv:2412.07236). Differences: DE tokens instead of raw 1-s patches (so no
pretrained weights apply), no spectral branch.
"""

from __future__ import annotations

import torch
from torch import nn

from vaxis.decoders.base import Decoder, register
from vaxis.decoders.cbramod import CrissCrossEncoder


@register("cbramod-de")
class CBraModDE(Decoder):
    """Criss-cross transformer over (channel, second) tokens of DE features."""

    def __init__(
        self,
        n_channels: int,
        n_bands: int,
        n_classes: int,
        depth: int = 12,
        width: int = 200,
        heads: int = 8,
        feedforward: int = 800,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        if heads % 2 or (width // 2) % (heads // 2) or width % 2:
            raise ValueError(
                f"need heads even and width/2 divisible by heads/2; got width={width}, "
                f"heads={heads}"
            )
        self.embed = nn.Linear(n_bands, width)
        self.channel_embedding = nn.Parameter(0.02 * torch.randn(n_channels, 1, width))
        self.positional = nn.Conv2d(width, width, (19, 7), padding=(9, 3), groups=width)
        self.encoder = CrissCrossEncoder(depth, width, heads, feedforward, dropout)
        self.feature_dim = width
        self.classifier = nn.Linear(width, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # (batch, channels, bands): one second
            x = x.unsqueeze(1)
        t = self.embed(x.transpose(1, 2)) + self.channel_embedding  # (b, channels, seconds, w)
        t = t + self.positional(t.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.encoder(t).mean(dim=(1, 2))
