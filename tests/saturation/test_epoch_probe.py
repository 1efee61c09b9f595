"""The per-epoch observer: class means on validation subjects and gradient shares by hand."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.decoders.planted import planted_units
from vaxis.align.interventions import AlignmentTargets
from vaxis.core.positions import StimulusPositions
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch, EpochState, TrainConfig, fit
from vaxis.decoders.units import Units
from vaxis.saturation.basin import v_direction
from vaxis.saturation.epoch_probe import EpochProbe, read_epochs
from vaxis.saturation.gradient_share import gradient_share, subspace_basis

POSITIONS = StimulusPositions(
    dataset="faced", stimuli=(0, 1, 2), positions=(-1.0, 0.2, 1.0), source="planted"
)


def TARGETS(train: Units) -> np.ndarray:
    """The class positions the alignment losses target, as `vaxis align` gives them."""
    return AlignmentTargets.from_positions(POSITIONS, train).class_positions


CONFIG = TrainConfig(
    decoder="mlp", hyper={"hidden": [8]}, epochs=3, batch_size=32, lr=1e-2, warmup_epochs=1,
    num_threads=1,
)  # fmt: skip


def shrink(logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
    """An auxiliary loss whose feature gradient of sample i is proportional to x_i."""
    return 0.1 * features.pow(2).mean()


def features_of(model: Decoder, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.eval().features(torch.as_tensor(x)).double().numpy()


def test_each_epoch_records_validation_means_and_hand_computable_shares(tmp_path: Path) -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    probe = EpochProbe(tmp_path, TARGETS)
    models: list[Decoder] = []

    def observe(state: EpochState) -> None:
        probe(state)
        models.append(copy.deepcopy(state.model))

    result = fit(CONFIG, train, val, extra_loss=shrink, on_epoch_state=observe)
    assert torch.equal(  # the observer leaves the run as it was
        result.model.classifier.weight,
        fit(CONFIG, train, val, extra_loss=shrink).model.classifier.weight,
    )
    saved = read_epochs(tmp_path)
    assert saved is not None
    np.testing.assert_array_equal(saved["epoch"], [1, 2, 3])
    assert saved["val_balanced_accuracy"] == pytest.approx(
        [r.val_balanced_accuracy for r in result.history]
    )
    # the stimuli are the classes here, with equal counts per subject: both means agree
    np.testing.assert_allclose(saved["stimulus_means"], saved["class_means"], atol=1e-9)
    for e, model in enumerate(models):
        f_val = features_of(model, val.x)
        means = np.stack([f_val[val.y == k].mean(axis=0) for k in range(3)])
        np.testing.assert_allclose(saved["class_means"][e], means, rtol=1e-6, atol=1e-6)
        centred = means - means.mean(axis=0)
        basin = subspace_basis(centred)
        v = v_direction(centred, np.array([-1.0, 0.2, 1.0]) - 0.2 / 3)[:, None]
        f = features_of(model, train.x)  # 120 samples < probe_size: the whole training set
        logits = f @ model.classifier.weight.detach().double().numpy().T
        logits += model.classifier.bias.detach().double().numpy()
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g_ce = (p - np.eye(3)[train.y]) @ model.classifier.weight.detach().double().numpy()
        expected = {
            "share_basin_ce": gradient_share(g_ce, basin),
            "share_basin_aux": gradient_share(f, basin),  # d/dx_i of mean(x^2) is 2 x_i / nD
            "share_v_ce": gradient_share(g_ce, v),
            "share_v_aux": gradient_share(f, v),
        }
        for key, value in expected.items():
            assert saved[key][e] == pytest.approx(value, abs=1e-5), key


def test_runs_without_auxiliary_loss_record_nan_for_it_and_resumed_runs_append(
    tmp_path: Path,
) -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    straight = tmp_path / "straight"
    fit(CONFIG, train, val, on_epoch_state=EpochProbe(straight, TARGETS))
    parts = tmp_path / "parts"
    config = CONFIG.model_copy(update={"checkpoint_every": 1})
    fit(config, train, val, run_dir=parts, until_epoch=2, on_epoch_state=EpochProbe(parts))
    fit(config, train, val, run_dir=parts, on_epoch_state=EpochProbe(parts))
    a, b = read_epochs(straight), read_epochs(parts)
    assert a is not None and b is not None
    np.testing.assert_array_equal(b["epoch"], [1, 2, 3])
    np.testing.assert_allclose(a["class_means"], b["class_means"], atol=1e-6)
    assert np.isnan(a["share_basin_aux"]).all() and np.isfinite(a["share_basin_ce"]).all()
    assert np.isnan(b["share_v_ce"]).all()  # no positions given: no V direction


def test_the_probe_needs_validation_subjects(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="validation"):
        fit(CONFIG, planted_units(), on_epoch_state=EpochProbe(tmp_path))
