"""Activation checkpointing: the same numbers, less memory kept for backward."""

from __future__ import annotations

import pytest
import torch

from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders import build_decoder
from vaxis.decoders.train import TrainConfig, fit
from vaxis.decoders.units import make_units
from vaxis.sweep.cost import saved_for_backward

SMALL = {
    "cbramod-de": {"depth": 2, "width": 16, "heads": 4, "feedforward": 32, "dropout": 0.3},
    "axial": {"depth": 2, "width": 16, "heads": 2, "dropout": 0.3},
}


@pytest.mark.parametrize("decoder", sorted(SMALL))
def test_checkpointed_training_gives_the_same_weights_bit_for_bit(decoder: str) -> None:
    cohort = synthesize_features(SynthConfig(n_subjects=4, n_windows=20, seed=0))[0]
    units = make_units(cohort)
    train, val = units.subset(units.subject < 2), units.subset(units.subject >= 2)
    config = TrainConfig(
        decoder=decoder, hyper=SMALL[decoder], epochs=2, batch_size=32, num_threads=1
    )
    plain = fit(config, train, val)
    again = fit(config.model_copy(update={"checkpoint_activations": True}), train, val)
    assert config.key() == config.model_copy(update={"checkpoint_activations": True}).key()
    for name, tensor in plain.model.state_dict().items():
        assert torch.equal(tensor, again.model.state_dict()[name]), name
    assert [r.train_loss for r in plain.history] == [r.train_loss for r in again.history]


@pytest.mark.parametrize("decoder", sorted(SMALL))
def test_checkpointing_keeps_less_for_backward(decoder: str) -> None:
    torch.manual_seed(0)
    model = build_decoder(decoder, 32, 5, 9, **SMALL[decoder]).train()
    x = torch.randn(16, 10, 32, 5)
    kept = saved_for_backward(model, x)
    model.checkpoint_activations()
    assert saved_for_backward(model, x) < kept / 2  # two blocks: at most one block's worth each
