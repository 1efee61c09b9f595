"""Directional ablation: planted residual signal gives a large z, no signal gives z near 0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vaxis.core.positions import StimulusPositions, from_truth
from vaxis.data.splits import subject_holdout
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.experiment import InputConfig, run_experiment
from vaxis.decoders.train import TrainConfig
from vaxis.errors import DataFormatError
from vaxis.saturation.ablation import (
    Head,
    ablate_run,
    directional_ablation,
    load_decoder,
    matched_null_directions,
    project_out,
    residual_direction,
    run_residual_direction,
)

N_CLASSES, PER_CLASS, DIM = 4, 3, 16


def planted(
    seed: int, residual: float, class_along_u: float, n_subjects: int = 6, n_windows: int = 10
) -> dict[str, np.ndarray]:
    """Samples whose stimulus residual (-1, 0, +1 within its class) moves features along
    ``u = e_0`` by ``residual``; classes differ along u by ``class_along_u`` per step and
    weakly along random directions elsewhere; the V-axis positions carry the same residual."""
    rng = np.random.default_rng(seed)
    classes = np.repeat(np.arange(N_CLASSES), PER_CLASS)
    within = np.tile([-1.0, 0.0, 1.0], N_CLASSES)
    u = np.eye(DIM)[0]
    centroids = 0.3 * rng.standard_normal((N_CLASSES, DIM))
    centroids[:, 0] = class_along_u * (np.arange(N_CLASSES) - 1.5)
    stimulus = np.tile(np.repeat(np.arange(classes.size), n_windows), n_subjects)
    subject = np.repeat(np.arange(n_subjects), classes.size * n_windows)
    label = classes[stimulus]
    features = centroids[label] + residual * within[stimulus, None] * u
    features = features + rng.standard_normal(features.shape)
    return {
        "features": features,
        "label": label,
        "stimulus": stimulus,
        "subject": subject,
        "positions": (np.arange(N_CLASSES) * 1.0)[label] + 0.3 * within[stimulus],
        "centroids": centroids,
    }


def centroid_head(centroids: np.ndarray) -> Head:
    """Nearest-centroid linear head: logits ``x . mu_k - |mu_k|^2 / 2``."""
    bias = -0.5 * (centroids**2).sum(axis=1)
    return lambda x: x @ centroids.T + bias


def test_residual_direction_recovers_the_planted_direction_and_its_sign() -> None:
    val = planted(0, residual=1.0, class_along_u=0.0)
    u = residual_direction(val["features"], val["label"], val["stimulus"], val["positions"])
    assert np.linalg.norm(u) == pytest.approx(1.0)
    assert u[0] > 0.95  # positions increase along +e_0


def test_a_direction_the_head_uses_drops_accuracy_far_beyond_random_directions() -> None:
    val = planted(0, residual=1.0, class_along_u=1.0)
    test = planted(1, residual=1.0, class_along_u=1.0)
    u = residual_direction(val["features"], val["label"], val["stimulus"], val["positions"])
    head = centroid_head(test["centroids"])
    result = directional_ablation(head, test["features"], test["label"], u, n_random=200)
    assert result.baseline > 0.6
    assert result.drop > 0.1 and result.z > 5 and result.p == pytest.approx(1 / 201)


def test_no_planted_residual_gives_z_scores_near_zero() -> None:
    # nothing varies within classes: the chosen direction is noise, exchangeable with random
    # ones, so z behaves like a standard score across cohorts
    z = []
    for seed in range(0, 12, 2):
        val = planted(seed, residual=0.0, class_along_u=0.0)
        test = planted(seed + 1, residual=0.0, class_along_u=0.0)
        u = residual_direction(val["features"], val["label"], val["stimulus"], val["positions"])
        head = centroid_head(test["centroids"])
        z.append(directional_ablation(head, test["features"], test["label"], u, 200, seed).z)
    assert np.max(np.abs(z)) < 3 and abs(np.mean(z)) < 1


def test_a_direction_the_head_ignores_costs_nothing() -> None:
    data = planted(4, residual=1.0, class_along_u=1.0)
    centroids = data["centroids"].copy()
    centroids[:, 0] = 0.0  # the head reads nothing along e_0
    head = centroid_head(centroids)
    result = directional_ablation(head, data["features"], data["label"], np.eye(DIM)[0])
    assert result.drop == 0.0 and result.z < 0 < result.random_mean


def test_project_out_removes_exactly_that_component() -> None:
    rng = np.random.default_rng(0)
    x, u = rng.standard_normal((5, 4)), 3.0 * rng.standard_normal(4)
    out = project_out(x, u)
    np.testing.assert_allclose(out @ u, 0, atol=1e-12)
    np.testing.assert_allclose(x - out, np.outer(x @ u, u) / (u @ u), atol=1e-12)


def test_a_stimulus_with_two_positions_is_refused() -> None:
    data = planted(0, residual=1.0, class_along_u=0.0)
    positions = data["positions"].copy()
    positions[0] += 1.0
    with pytest.raises(ValueError, match="two different positions"):
        residual_direction(data["features"], data["label"], data["stimulus"], positions)


# ----------------------------------------------------------------------- a trained run
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StimulusPositions]:
    cohort, truth = synthesize_features(SynthConfig(n_subjects=10, n_windows=4, seed=0))
    config = TrainConfig(
        decoder="mlp",
        hyper={"hidden": [16]},
        epochs=4,
        warmup_epochs=1,
        batch_size=32,
        num_threads=1,
    )
    out = tmp_path_factory.mktemp("run")
    run_experiment(cohort, subject_holdout(cohort)[0], config, out, InputConfig(unit="window"))
    return out, from_truth(truth)


def test_ablate_run_scores_the_saved_head_and_reproduces_the_run_accuracy(
    trained: tuple[Path, StimulusPositions],
) -> None:
    run, positions = trained
    result = ablate_run(run, positions, n_random=100)
    metrics = json.loads((run / "metrics.json").read_text())
    assert result.baseline == pytest.approx(metrics["test"]["balanced_accuracy"])
    assert result.n == 100 and np.isfinite(result.z) and result.random_sd > 0
    saved = np.load(run / "test_predictions.npz")
    logits = load_decoder(run).head(torch.as_tensor(saved["features"])).detach().numpy()
    np.testing.assert_allclose(logits, saved["logits"], rtol=1e-4, atol=1e-5)


def test_the_direction_depends_only_on_validation_predictions(
    trained: tuple[Path, StimulusPositions], tmp_path: Path
) -> None:
    run, positions = trained
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    saved = dict(np.load(copy / "test_predictions.npz"))
    saved["features"] = saved["features"] + 5.0 * np.random.default_rng(0).standard_normal(
        saved["features"].shape
    )
    np.savez(copy / "test_predictions.npz", **saved)
    np.testing.assert_array_equal(
        run_residual_direction(copy, positions), run_residual_direction(run, positions)
    )
    (copy / "model.pt").unlink()
    with pytest.raises(DataFormatError, match="no saved weights"):
        ablate_run(copy, positions)


def test_the_matched_null_lives_where_the_residual_direction_can() -> None:
    """Matched null directions come from the same estimator (R^T g): inside the span of the
    stimulus residual features, unlike uniform directions, and each is a unit vector."""
    rng = np.random.default_rng(0)
    stimulus = np.repeat(np.arange(12), 5)
    labels = stimulus // 4  # 3 classes of 4 stimuli
    features = np.zeros((stimulus.size, 6))
    features[:, :2] = rng.standard_normal((12, 2))[stimulus]  # residual variation in 2 dims
    features[:, 2:] = rng.standard_normal((stimulus.size, 4)) * 1e-9  # nothing per stimulus
    nulls = matched_null_directions(features, labels, stimulus, n=50, seed=1)
    assert nulls.shape == (50, 6)
    assert np.allclose(np.linalg.norm(nulls, axis=1), 1)
    assert np.abs(nulls[:, 2:]).max() < 1e-6
    assert np.abs(nulls[:, :2]).min(axis=0).max() > 0  # not one repeated direction
    assert len({tuple(np.round(u, 6)) for u in nulls}) == 50
