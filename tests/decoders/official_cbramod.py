"""Modules laid out as the official CBraMod code (github.com/wjq-learning/CBraMod, models/
cbramod.py, criss_cross_transformer.py, model_for_faced.py): the same module names, indices and
shapes, so their state dicts have the release's keys. Written for the tests; no forward pass
(only the layout matters: the files they save are what vaxis must read)."""

from __future__ import annotations

import torch
from torch import nn


def _patch_embedding(patch: int, width: int) -> nn.Module:
    module = nn.Module()
    module.positional_encoding = nn.Sequential(
        nn.Conv2d(width, width, kernel_size=(19, 7), padding=(9, 3), groups=width)
    )
    module.mask_encoding = nn.Parameter(torch.zeros(patch), requires_grad=False)
    convs = []
    for i, (kernel, stride, pad) in enumerate(((49, 25, 24), (3, 1, 1), (3, 1, 1))):
        channels_in = 1 if i == 0 else 25
        convs += [
            nn.Conv2d(channels_in, 25, (1, kernel), stride=(1, stride), padding=(0, pad)),
            nn.GroupNorm(5, 25),
            nn.GELU(),
        ]
    module.proj_in = nn.Sequential(*convs)
    module.spectral_proj = nn.Sequential(nn.Linear(patch // 2 + 1, width), nn.Dropout(0.1))
    return module


def _layer(width: int, heads: int, feedforward: int) -> nn.Module:
    layer = nn.Module()
    layer.self_attn_s = nn.MultiheadAttention(width // 2, heads // 2, batch_first=True)
    layer.self_attn_t = nn.MultiheadAttention(width // 2, heads // 2, batch_first=True)
    layer.linear1 = nn.Linear(width, feedforward)
    layer.dropout = nn.Dropout(0.1)
    layer.linear2 = nn.Linear(feedforward, width)
    layer.norm1, layer.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
    layer.dropout1, layer.dropout2 = nn.Dropout(0.1), nn.Dropout(0.1)
    return layer


def official_backbone(
    patch: int = 200, width: int = 200, depth: int = 12, heads: int = 8, feedforward: int = 800
) -> nn.Module:
    """The pre-training model (``pretrained_weights.pth`` is its state dict): patch embedding
    with ``mask_encoding``, ``encoder.layers.<i>`` and the pre-training ``proj_out``."""
    model = nn.Module()
    model.patch_embedding = _patch_embedding(patch, width)
    model.encoder = nn.Module()
    model.encoder.layers = nn.ModuleList(_layer(width, heads, feedforward) for _ in range(depth))
    model.proj_out = nn.Sequential(nn.Linear(width, patch))
    return model


def official_finetuned(
    head: str, n_channels: int, n_patches: int, n_classes: int, **sizes: int
) -> nn.Module:
    """A fine-tuned model as saved by the official code: ``backbone`` (its ``proj_out``
    replaced by Identity) and ``classifier``, a Sequential whose index 0 is a Rearrange (no
    parameters; a Flatten stands in for it here)."""
    model = nn.Module()
    model.backbone = official_backbone(**sizes)
    model.backbone.proj_out = nn.Identity()
    width = sizes.get("width", 200)
    flat = n_channels * n_patches * width
    if head == "avgpooling_patch_reps":
        layers = [nn.Flatten(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                  nn.Linear(width, n_classes)]  # fmt: skip
    elif head == "all_patch_reps":
        layers = [nn.Flatten(), nn.Linear(flat, n_patches * width), nn.ELU(), nn.Dropout(),
                  nn.Linear(n_patches * width, width), nn.ELU(), nn.Dropout(),
                  nn.Linear(width, n_classes)]  # fmt: skip
    else:
        raise ValueError(head)
    model.classifier = nn.Sequential(*layers)
    return model
