"""Pre-norm transformer layer shared by the token-based decoders (channel and axial transformers).

Attention runs through :func:`torch.nn.functional.scaled_dot_product_attention` (fused kernels
on CPU and GPU). ``fused=False`` computes the same ``softmax(Q K^T / sqrt(d)) V`` explicitly:
it is the reference the fused path is tested and benchmarked against, not a setting to train
with. There is no attention dropout, so both paths agree to rounding in train mode too.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, fused: bool = True) -> torch.Tensor:
    """Softmax attention over the second-to-last axis of (..., heads, length, head_dim) tensors."""
    if fused:
        # the fused CPU kernel takes exactly 4-D input; more batch axes fall back to the math path
        fq, fk, fv = (t.reshape(-1, *t.shape[-3:]) for t in (q, k, v))
        return F.scaled_dot_product_attention(fq, fk, fv).view(*q.shape[:-1], v.shape[-1])
    scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
    return scores.softmax(dim=-1) @ v


class SelfAttention(nn.Module):
    """Multi-head self-attention along one axis of a (..., width) token tensor.

    ``seq_dim`` (negative, counted on the input) names the axis attended along; every other
    leading axis is a batch axis. Heads are split and the axis moved by views, so a token grid
    keeps one memory layout through the per-token projections, norms and MLPs; the only copies
    are where the fused kernel needs one flat batch axis and where heads are merged again.
    """

    def __init__(self, width: int, heads: int, fused: bool = True) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.fused = fused
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, seq_dim: int = -2) -> torch.Tensor:
        # (..., 3 * width) -> (..., 3, heads, head_dim), then the attended axis next to head_dim
        qkv = self.qkv(x).unflatten(-1, (3, self.heads, -1)).movedim(seq_dim - 2, -2)
        q, k, v = qkv.unbind(-4)
        out = attend(q, k, v, self.fused).movedim(-2, seq_dim - 1)  # back to (..., heads, hd)
        return self.proj(out.flatten(-2))


class TransformerLayer(nn.Module):
    """Pre-norm layer: ``x + attn(norm(x))``, then ``x + mlp(norm(x))`` (GELU MLP)."""

    def __init__(
        self, width: int, heads: int, mlp_ratio: int = 4, dropout: float = 0.0, fused: bool = True
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, fused)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_ratio * width),
            nn.GELU(),
            nn.Linear(mlp_ratio * width, width),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, seq_dim: int = -2) -> torch.Tensor:
        x = x + self.dropout(self.attn(self.norm1(x), seq_dim))
        return x + self.dropout(self.mlp(self.norm2(x)))
