"""Tiny LLM targets, decoders and batches for the intervention tests (no tests here)."""

from __future__ import annotations

import numpy as np
import torch

from vaxis.align.interventions import AlignmentTargets
from vaxis.data.datasets import FACED
from vaxis.decoders import build_decoder
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch

CLASSES = ("anger", "sadness", "neutral", "joy")
CLASS_POSITIONS = np.array([-1.2, -0.5, 0.1, 1.5])
#: two stimuli per class, stimulus s of class s // 2, a little off its class's position
STIMULUS_POSITIONS = np.repeat(CLASS_POSITIONS, 2) + np.tile([-0.1, 0.2], 4)
N_SAMPLES = 16


def tiny_targets(**changes: object) -> AlignmentTargets:
    """Four classes with positions and 3-D embeddings, FACED channel and band names."""
    rng = np.random.default_rng(7)
    values: dict[str, object] = {
        "class_positions": CLASS_POSITIONS,
        "class_names": CLASSES,
        "stimulus_positions": STIMULUS_POSITIONS,
        "sample_stimulus": np.arange(N_SAMPLES) % 8,
        "class_embeddings": rng.standard_normal((4, 3)),
        "channel_names": FACED.channels,
        "band_names": FACED.band_names,
    }
    return AlignmentTargets(**(values | changes))  # type: ignore[arg-type]


def tiny_decoder(seed: int = 0) -> Decoder:
    torch.manual_seed(seed)
    return build_decoder("mlp", len(FACED.channels), len(FACED.band_names), 4, hidden=[8])


def tiny_batch(seed: int = 0) -> Batch:
    """16 samples (2 s x 32 channels x 5 bands); sample i shows stimulus i % 8, class i % 8 // 2."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(N_SAMPLES, 2, len(FACED.channels), len(FACED.band_names), generator=generator)
    index = torch.arange(N_SAMPLES)
    return Batch(x=x, y=(index % 8) // 2, index=index, epoch=1)
