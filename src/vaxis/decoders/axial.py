"""EMOD-style axial transformer over channel x band DE tokens (the study's best backbone).

Architecture. After averaging the seconds of a segment, every (channel, band) cell is one token,
``t[c, b] = x[c, b] * w_b + e_band[b] + e_channel[c]`` (a per-band value embedding plus learned
band and channel embeddings), so FACED gives 32 x 5 = 160 tokens. Each of ``depth`` blocks
applies one pre-norm transformer layer per entry of ``axes``: ``"channel"`` attends along the
channel axis (the 32 channels of one band), ``"band"`` along the band axis (the 5 bands of one
channel). The penultimate representation is the mean of the final layer-normed tokens
(``width`` values); the head is one linear layer.

Hyper-parameters: ``depth`` (3 or 6 in the study), ``width`` (128), ``heads`` (8),
``mlp_ratio`` (4), ``dropout`` (residual dropout; 0 by default, as the study's recipe
regularises by augmentation and distillation, and drawing masks is slow on CPU), ``axes``
(order of the axial layers in a block), ``channel_tokens`` (token pooling: a learned mixture
of the channels into this many region tokens before the first layer, cutting every layer's
cost by about ``n_channels / channel_tokens``; ``None`` keeps all channels), ``fused``
(``False`` = explicit softmax attention, the reference).
A naive depth-6, width-128 model over all 160 tokens costs ~290 GFLOP per training step of 128
samples (:func:`vaxis.decoders.flops.axial_flops`).

Reference: EMOD, AAAI 2026 (the prior best on FACED, per the study); axial attention after
Ho et al. 2019, "Axial Attention in Multidimensional Transformers", arXiv:1912.12180.

Differences from the original: EMOD's own code is not public to us; this is the study's
"EMOD-style" description (axial attention over 32 x 5 DE tokens, depth 3/6, width 128). Token
embedding, mean-pool read-out, head count and MLP ratio are our choices; the seconds axis is
averaged (the study's segments are 10 s of 1 s DE windows).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from vaxis.decoders.attention import TransformerLayer
from vaxis.decoders.base import Decoder, register, run_block

Axis = Literal["channel", "band"]
#: the axis of a (batch, channels, bands, width) token grid that each kind of layer attends along
SEQ_DIM: dict[Axis, int] = {"channel": -3, "band": -2}


@register("axial")
class AxialTransformer(Decoder):
    """Transformer over (channel, band) tokens with attention along one axis at a time."""

    def __init__(
        self,
        n_channels: int,
        n_bands: int,
        n_classes: int,
        depth: int = 6,
        width: int = 128,
        heads: int = 8,
        mlp_ratio: int = 4,
        dropout: float = 0.0,
        axes: tuple[Axis, ...] = ("channel", "band"),
        channel_tokens: int | None = None,
        fused: bool = True,
    ) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        if not axes or set(axes) - {"channel", "band"}:
            raise ValueError(f"axes must be a non-empty sequence of 'channel'/'band', got {axes}")
        self.depth = depth
        self.width = width
        self.mlp_ratio = mlp_ratio
        self.channel_tokens = channel_tokens
        self.layer_axes: tuple[Axis, ...] = tuple(axes) * depth
        self.value_weight = nn.Parameter(0.02 * torch.randn(n_bands, width))
        self.band_embedding = nn.Parameter(0.02 * torch.randn(n_bands, width))
        self.channel_embedding = nn.Parameter(0.02 * torch.randn(n_channels, width))
        self.channel_mix = (
            None
            if channel_tokens is None
            else nn.Parameter(torch.randn(channel_tokens, n_channels) / n_channels**0.5)
        )
        self.layers = nn.ModuleList(
            TransformerLayer(width, heads, mlp_ratio, dropout, fused) for _ in self.layer_axes
        )
        self.norm = nn.LayerNorm(width)
        self.feature_dim = width
        self.classifier = nn.Linear(width, n_classes)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Final token states (batch, channel tokens, bands, width) before pooling."""
        x = self.pool_seconds(x)
        t = x.unsqueeze(-1) * self.value_weight + self.band_embedding
        t = t + self.channel_embedding.unsqueeze(1)
        if self.channel_mix is not None:
            t = torch.einsum("kc,bcnd->bknd", self.channel_mix, t)
        for axis, layer in zip(self.layer_axes, self.layers, strict=True):
            t = run_block(layer, t, seq_dim=SEQ_DIM[axis])
        return self.norm(t)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.tokens(x).mean(dim=(1, 2))
