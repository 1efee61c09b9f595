"""Basin strength |<PC1(class means), v>| against hand-built class geometries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vaxis.errors import DataFormatError
from vaxis.saturation.basin import basin_strength, basin_strength_per_run, run_basin_strength

POSITIONS = np.array([-1.0, -0.4, 0.1, 0.5, 0.8])  # V-axis position of classes 0..4
DIM = 8


def samples(
    class_means: np.ndarray, per_class: int = 6, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose class means are exactly ``class_means``: +/- paired noise around each mean."""
    rng = np.random.default_rng(seed)
    half = rng.standard_normal((class_means.shape[0], per_class // 2, class_means.shape[1]))
    noise = np.concatenate([half, -half], axis=1)
    features = (class_means[:, None, :] + noise).reshape(-1, class_means.shape[1])
    labels = np.repeat(np.arange(class_means.shape[0]), per_class)
    return features, labels


def orthogonal_to_positions() -> np.ndarray:
    """A centred class pattern orthogonal to the centred positions."""
    q = np.array([1.0, -2.0, 0.5, 1.5, -1.0])
    p = POSITIONS - POSITIONS.mean()
    q = q - q.mean()
    return q - (q @ p) / (p @ p) * p


def test_class_means_spread_along_the_v_direction_give_one() -> None:
    axis = np.random.default_rng(1).standard_normal(DIM)
    features, labels = samples(5.0 + np.outer(POSITIONS, axis))
    assert basin_strength(features, labels, POSITIONS) == pytest.approx(1.0, abs=1e-9)


def test_main_spread_orthogonal_to_the_v_direction_gives_zero() -> None:
    # classes spread most along e0 in a pattern unrelated to valence, less along e1 by valence
    e0, e1 = np.eye(DIM)[:2]
    means = 3.0 * np.outer(orthogonal_to_positions(), e0) + 0.5 * np.outer(POSITIONS, e1)
    features, labels = samples(means)
    assert basin_strength(features, labels, POSITIONS) == pytest.approx(0.0, abs=1e-9)
    # the same geometry with the valence spread dominating reads one
    means = 0.1 * np.outer(orthogonal_to_positions(), e0) + 5.0 * np.outer(POSITIONS, e1)
    features, labels = samples(means)
    assert basin_strength(features, labels, POSITIONS) == pytest.approx(1.0, abs=1e-9)


def test_strength_ignores_rotations_offsets_and_the_scale_and_sign_of_positions() -> None:
    rng = np.random.default_rng(2)
    means = rng.standard_normal((5, DIM)) + np.outer(POSITIONS, rng.standard_normal(DIM))
    features, labels = samples(means, seed=3)
    value = basin_strength(features, labels, POSITIONS)
    assert 0.05 < value < 0.999  # a mixed geometry: neither extreme
    rotation = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0]
    assert basin_strength(features @ rotation + 7.0, labels, -3.0 * POSITIONS) == pytest.approx(
        value, rel=1e-9
    )


def test_fewer_than_three_classes_or_uncovered_labels_are_refused() -> None:
    features, labels = samples(np.outer(POSITIONS, np.ones(DIM)))
    with pytest.raises(ValueError, match="at least 3 classes"):
        basin_strength(features[labels < 2], labels[labels < 2], POSITIONS)
    with pytest.raises(ValueError, match="do not cover"):
        basin_strength(features, labels, POSITIONS[:3])


def _write_run(folder: Path, features: np.ndarray, labels: np.ndarray) -> None:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"test": {"balanced_accuracy": 0.5}}))
    np.savez(folder / "test_predictions.npz", features=features, label=labels)


def test_runs_are_read_from_their_test_predictions(tmp_path: Path) -> None:
    along = samples(np.outer(POSITIONS, np.ones(DIM)))
    e0, e1 = np.eye(DIM)[:2]
    across = samples(3.0 * np.outer(orthogonal_to_positions(), e0) + np.outer(POSITIONS, e1))
    _write_run(tmp_path / "a", *along)
    _write_run(tmp_path / "b" / "seed1", *across)
    assert run_basin_strength(tmp_path / "a", POSITIONS) == pytest.approx(1.0)
    per_run = basin_strength_per_run(tmp_path, POSITIONS)
    assert per_run.keys() == {"a", "b/seed1"}
    assert per_run["b/seed1"] == pytest.approx(0.0, abs=1e-9)


def test_a_run_without_features_is_refused_with_the_file_named(tmp_path: Path) -> None:
    tmp_path.joinpath("run").mkdir()
    np.savez(tmp_path / "run" / "test_predictions.npz", label=np.arange(3))
    with pytest.raises(DataFormatError, match=r"test_predictions\.npz"):
        run_basin_strength(tmp_path / "run", POSITIONS)
    with pytest.raises(DataFormatError, match="no test predictions"):
        run_basin_strength(tmp_path, POSITIONS)
