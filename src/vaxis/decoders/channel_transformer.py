"""Transformer over channels as tokens; each token is one channel's band vector.

Architecture. After averaging the seconds of a segment, channel ``c`` becomes the token
``W x[c, :] + b + e_channel[c]`` (a linear embedding of its ``n_bands`` DE values plus a learned
channel embedding). ``depth`` pre-norm transformer layers (fused attention) mix the channels;
the penultimate representation is the mean of the layer-normed channel tokens (``width``
values) and the head is one linear layer.

Hyper-parameters: ``depth`` (4), ``width`` (64), ``heads`` (4), ``mlp_ratio`` (4), ``dropout``
(residual dropout, 0.1).

Reference: Vaswani et al. 2017, "Attention is all you need"; channels-as-tokens for EEG emotion
as in e.g. Wang et al. 2022, "Transformers for EEG-based emotion recognition: a hierarchical
spatial information learning model", IEEE Sensors J. 22(5).

Differences from the originals: a plain encoder with learned channel embeddings and mean
pooling, no hierarchy of brain regions and no class token; the seconds axis is averaged.
"""

from __future__ import annotations

import torch
from torch import nn

from vaxis.decoders.attention import TransformerLayer
from vaxis.decoders.base import Decoder, register


@register("channel_transformer")
class ChannelTransformer(Decoder):
    """One token per channel, attention across channels."""

    def __init__(
        self,
        n_channels: int,
        n_bands: int,
        n_classes: int,
        depth: int = 4,
        width: int = 64,
        heads: int = 4,
        mlp_ratio: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        self.embed = nn.Linear(n_bands, width)
        self.channel_embedding = nn.Parameter(0.02 * torch.randn(n_channels, width))
        self.layers = nn.Sequential(
            *(TransformerLayer(width, heads, mlp_ratio, dropout) for _ in range(depth))
        )
        self.norm = nn.LayerNorm(width)
        self.feature_dim = width
        self.classifier = nn.Linear(width, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(self.pool_seconds(x)) + self.channel_embedding
        return self.norm(self.layers(tokens)).mean(dim=1)
