"""Regional within-class residuals (``SynthConfig.residual_groups``): closed form, recovery where
planted, nothing where not, and no change to anything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from vaxis.data.synthetic import (
    SynthConfig,
    channel_blocks,
    load_truth,
    make_truth,
    subject_features,
    synthesize_features,
)

SMALL: dict[str, Any] = {"n_subjects": 3, "n_windows": 2, "seed": 5}


def test_blocks_partition_the_channels_in_order() -> None:
    blocks = channel_blocks(32, 3)
    assert [b.size for b in blocks] == [11, 11, 10]
    np.testing.assert_array_equal(np.concatenate(blocks), np.arange(32))
    assert channel_blocks(32, 0) == []
    with pytest.raises(ValidationError, match="at most one per channel"):
        SynthConfig(residual_groups=33)


def test_the_default_cohort_is_unchanged_and_other_draws_do_not_move() -> None:
    plain = make_truth(SynthConfig(**SMALL))
    assert plain.group_residuals.shape == (28, 0) and not plain.planted["group_residuals"]
    grouped = make_truth(SynthConfig(**SMALL, residual_groups=3))
    for name in ("valence", "arousal", "identity", "valence_pattern", "subject_mixing"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(grouped, name))
    # the null removes them: same data as without the option
    off = SynthConfig(**SMALL, residual_groups=3, plant_residual=False)
    np.testing.assert_array_equal(
        synthesize_features(off)[0].data,
        synthesize_features(SynthConfig(**SMALL, plant_residual=False))[0].data,
    )


def test_scores_and_patterns_follow_the_documented_model() -> None:
    truth = make_truth(SynthConfig(**SMALL, residual_groups=3))
    q, patterns, classes = truth.group_residuals, truth.group_patterns, truth.stimulus_class
    assert q.shape == (28, 3) and patterns.shape == (3, 32, 5)
    for c in np.unique(classes):  # centred within class
        np.testing.assert_allclose(q[classes == c].mean(axis=0), 0, atol=1e-12)
    for g, block in enumerate(channel_blocks(32, 3)):
        outside = np.setdiff1d(np.arange(32), block)
        assert np.all(patterns[g, outside] == 0)
        np.testing.assert_allclose(np.sqrt(np.mean(patterns[g, block] ** 2)), 1.0)
        p_v = truth.valence_pattern[block]  # P_g is P_v restricted to the block, rescaled
        np.testing.assert_allclose(patterns[g, block] * np.sqrt(np.mean(p_v**2)), p_v)


def test_the_data_carry_exactly_the_mixed_regional_term() -> None:
    config = SynthConfig(**SMALL, residual_groups=3, group_residual_strength=0.2)
    truth, plain = make_truth(config), make_truth(config.model_copy(update={"residual_groups": 0}))
    term = 0.2 * np.einsum("sg,gcb->scb", truth.group_residuals, truth.group_patterns)
    for n in range(config.n_subjects):
        diff = subject_features(truth, n) - subject_features(plain, n)  # same noise draws
        mixed = np.einsum("ij,sjb->sib", truth.subject_mixing[n], term)
        np.testing.assert_allclose(diff, np.broadcast_to(mixed[:, None], diff.shape), atol=1e-12)


def regional_r(plant: bool) -> np.ndarray:
    """(G, G) correlation, over stimuli, between q^h and each block's read-out along P_g of
    the within-class residual of subject-averaged features."""
    config = SynthConfig(
        n_subjects=8, n_windows=4, seed=1, residual_groups=3, group_residual_strength=0.3,
        plant_residual=plant,
    )  # fmt: skip
    cohort, truth = synthesize_features(config)
    means = np.stack([cohort.data[cohort.stimulus == s].mean(axis=0) for s in range(28)])
    classes = truth.stimulus_class
    for c in np.unique(classes):
        means[classes == c] -= means[classes == c].mean(axis=0)
    reads = np.einsum("scb,gcb->sg", means, truth.group_patterns)
    q = truth.group_residuals
    return np.corrcoef(reads.T, q.T)[:3, 3:]


def test_each_region_carries_its_own_residual_where_planted_and_none_otherwise() -> None:
    planted = regional_r(True)
    assert np.all(np.diag(planted) > 0.9)
    assert np.all(np.abs(planted[~np.eye(3, dtype=bool)]) < 0.5)
    # null: 28 stimuli, 9 class means removed -> sd of r ~ 1/sqrt(19) ~ 0.23; 3 sd bound
    # (measured: 0.47, 0.13, 0.17)
    assert np.all(np.abs(np.diag(regional_r(False))) < 0.7)


def test_saved_truth_keeps_the_regional_arrays_and_old_files_still_load(tmp_path: Path) -> None:
    truth = make_truth(SynthConfig(**SMALL, residual_groups=2))
    npz, _ = truth.save(tmp_path / "c")
    back = load_truth(tmp_path / "c")
    np.testing.assert_array_equal(back.group_residuals, truth.group_residuals)
    np.testing.assert_array_equal(back.group_patterns, truth.group_patterns)
    arrays = dict(np.load(npz))
    del arrays["group_residuals"], arrays["group_patterns"]
    np.savez(npz, **arrays)  # a file written before the option existed
    assert load_truth(tmp_path / "c").group_residuals.size == 0
