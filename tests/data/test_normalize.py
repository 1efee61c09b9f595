"""Feature post-processing: per-subject z-score, running normalisation, LDS smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.normalize import RunningNormalizer, lds_smooth, subject_zscore
from vaxis.errors import DataFormatError


def make_features(
    data: np.ndarray, subject: np.ndarray, stimulus: np.ndarray, window: np.ndarray
) -> Cohort:
    n = len(data)
    meta = CohortMeta(
        dataset="toy",
        kind="features",
        channel_names=tuple(f"ch{i}" for i in range(data.shape[1])),
        label_names=("neg", "neu", "pos"),
        sfreq=1.0,
        band_names=tuple(f"b{i}" for i in range(data.shape[2])),
        synthetic=True,
        provenance={"made_by": "test"},
    )
    return Cohort(
        data=data,
        subject=subject,
        stimulus=stimulus,
        window=window,
        label=stimulus % 3,
        valence=stimulus % 3 - 1,
        session=np.zeros(n, dtype=int),
        meta=meta,
    )


def grid_cohort(
    n_subjects: int, n_stimuli: int, n_windows: int, seed: int = 0, shape: tuple[int, int] = (2, 3)
) -> Cohort:
    """Rows in (subject, stimulus, window) order with random data."""
    subject, stimulus, window = (
        g.ravel()
        for g in np.meshgrid(
            np.arange(n_subjects), np.arange(n_stimuli), np.arange(n_windows), indexing="ij"
        )
    )
    data = np.random.default_rng(seed).normal(size=(subject.size, *shape))
    return make_features(data, subject, stimulus, window)


# ------------------------------------------------------------------------- subject z-score
def test_subject_zscore_removes_planted_subject_offsets_and_scales() -> None:
    cohort = grid_cohort(3, 4, 10)
    planted = cohort.data * np.array([1.0, 5.0, 0.2])[cohort.subject, None, None]
    planted += np.array([-3.0, 0.0, 40.0])[cohort.subject, None, None]
    out = subject_zscore(cohort.with_data(planted))
    for s in range(3):
        rows = out.data[cohort.subject == s].reshape(-1, 6)
        np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(rows.std(axis=0), 1.0, atol=1e-6)
    # subjects differ only by the planted affine map, so their z-scores are identical
    np.testing.assert_allclose(subject_zscore(cohort).data, out.data, atol=1e-6)
    assert out.meta.provenance["postprocessing"][-1]["step"] == "subject_zscore"
    assert out.meta.provenance["made_by"] == "test"


# ------------------------------------------------------------------- running normalisation
def official_running_norm(
    sequence: np.ndarray, mean: np.ndarray, var: np.ndarray, decay: float
) -> np.ndarray:
    """Line-by-line transcription of the official FACED loop (bn_val = 1)."""
    running_sum = np.zeros(sequence.shape[1])
    running_square = np.zeros(sequence.shape[1])
    decay_factor = 1.0
    out = np.zeros_like(sequence)
    for counter, one in enumerate(sequence):
        running_sum = running_sum + one
        running_mean = running_sum / (counter + 1)
        running_square = running_square + one**2
        running_var = (running_square - 2 * running_mean * running_sum) / (
            counter + 1
        ) + running_mean**2
        curr_mean = decay_factor * mean + (1 - decay_factor) * running_mean
        curr_var = decay_factor * var + (1 - decay_factor) * running_var
        decay_factor = decay_factor * decay
        out[counter] = (one - curr_mean) / np.sqrt(curr_var + 1e-5)
    return out


def test_running_norm_matches_the_official_loop_by_hand() -> None:
    cohort = grid_cohort(3, 3, 4, seed=1)
    cohort = cohort.with_data(cohort.data * 2.0 + 5.0)
    train = cohort.for_subjects([0, 1])
    normaliser = RunningNormalizer(decay=0.9).fit(train)
    flat = cohort.data.reshape(len(cohort.data), -1)
    per_subject = [flat[cohort.subject == s] for s in (0, 1)]
    np.testing.assert_allclose(normaliser.mean_, np.mean([x.mean(0) for x in per_subject], 0))
    np.testing.assert_allclose(normaliser.var_, np.mean([x.var(0) for x in per_subject], 0))
    out = normaliser.transform(cohort).data.reshape(len(flat), -1)
    for s in range(3):
        rows = cohort.subject == s  # already in (stimulus, window) order
        expected = official_running_norm(flat[rows], normaliser.mean_, normaliser.var_, 0.9)
        np.testing.assert_allclose(out[rows], expected, atol=1e-10)
    record = normaliser.transform(cohort).meta.provenance["postprocessing"][-1]
    assert record["fit_subjects"] == [0, 1]


def test_running_norm_statistics_come_only_from_training_subjects() -> None:
    cohort = grid_cohort(4, 3, 5, seed=2)
    changed = cohort.data.copy()
    changed[cohort.subject == 3] = changed[cohort.subject == 3] * 100 + 7  # a test subject
    other = cohort.with_data(changed)
    first = RunningNormalizer().fit(cohort.for_subjects([0, 1, 2]))
    second = RunningNormalizer().fit(other.for_subjects([0, 1, 2]))
    np.testing.assert_array_equal(first.mean_, second.mean_)
    np.testing.assert_array_equal(first.var_, second.var_)
    train_rows = cohort.subject != 3
    np.testing.assert_array_equal(
        first.transform(cohort).data[train_rows], second.transform(other).data[train_rows]
    )
    # and the training statistics do move when a training subject changes
    changed[cohort.subject == 0] += 1.0
    third = RunningNormalizer().fit(cohort.with_data(changed).for_subjects([0, 1, 2]))
    assert not np.allclose(first.mean_, third.mean_)


def test_running_norm_follows_the_given_presentation_order() -> None:
    cohort = grid_cohort(1, 3, 4, seed=3)
    normaliser = RunningNormalizer(decay=0.8).fit(grid_cohort(2, 3, 4, seed=4))
    shown = [2, 0, 1]
    out = normaliser.transform(cohort, presentation={0: shown}).data.reshape(12, -1)
    flat = cohort.data.reshape(12, -1)
    order = np.concatenate([np.flatnonzero(cohort.stimulus == s) for s in shown])
    expected = official_running_norm(flat[order], normaliser.mean_, normaliser.var_, 0.8)
    np.testing.assert_allclose(out[order], expected, atol=1e-10)
    default = normaliser.transform(cohort).data.reshape(12, -1)
    assert not np.allclose(default, out)
    with pytest.raises(ValueError, match="lacks stimuli"):
        normaliser.transform(cohort, presentation={0: [2, 0]})


def test_running_norm_converges_to_the_subjects_own_statistics() -> None:
    # training statistics far off: after many samples the subject is z-scored by its own
    train = grid_cohort(2, 1, 50, seed=5, shape=(1, 2))
    subject = grid_cohort(1, 1, 3000, seed=6, shape=(1, 2))
    subject = subject.with_data(subject.data * 4.0 + 10.0)
    out = RunningNormalizer().fit(train).transform(subject).data.reshape(3000, -1)
    tail = out[1500:]
    np.testing.assert_allclose(tail.mean(axis=0), 0.0, atol=0.1)
    np.testing.assert_allclose(tail.std(axis=0), 1.0, atol=0.1)
    assert abs(out[0].mean()) > 5  # the first sample is judged by the training statistics


def test_running_norm_refuses_misuse() -> None:
    cohort = grid_cohort(2, 2, 3)
    with pytest.raises(ValueError, match="not fitted"):
        RunningNormalizer().transform(cohort)
    with pytest.raises(ValueError, match="features"):
        RunningNormalizer().fit(grid_cohort(2, 2, 3, shape=(2, 2))).transform(cohort)
    broken = cohort.data.copy()
    broken[0, 0, 0] = -np.inf
    with pytest.raises(DataFormatError, match="non-finite"):
        RunningNormalizer().fit(cohort.with_data(broken))


# ---------------------------------------------------------------------------- LDS smoothing
def official_lds(sequence: np.ndarray) -> np.ndarray:
    """Transcription of the official ``LDS`` function (one sequence, windows x features)."""
    v0, a, t, c, sigma = 0.01, 1.0, 0.0001, 1.0, 1.0
    u0 = sequence.mean(axis=0)
    x = sequence.T
    m, n = x.shape
    p, u, v, k = (np.zeros((m, n)) for _ in range(4))
    k[:, 0] = v0 * c / (c * v0 * c + sigma)
    u[:, 0] = u0 + k[:, 0] * (x[:, 0] - c * u0)
    v[:, 0] = (1 - k[:, 0] * c) * v0
    for i in range(1, n):
        p[:, i - 1] = a * v[:, i - 1] * a + t
        k[:, i] = p[:, i - 1] * c / (c * p[:, i - 1] * c + sigma)
        u[:, i] = a * u[:, i - 1] + k[:, i] * (x[:, i] - c * a * u[:, i - 1])
        v[:, i] = (1 - k[:, i] * c) * p[:, i - 1]
    return u.T


def test_lds_matches_the_official_recursion_on_shuffled_uneven_sequences() -> None:
    rng = np.random.default_rng(7)
    lengths = {(0, 0): 6, (0, 1): 3, (1, 0): 1, (1, 2): 9}
    subject, stimulus, window = (
        np.concatenate(parts)
        for parts in zip(
            *[([s] * n, [v] * n, range(n)) for (s, v), n in lengths.items()], strict=True
        )
    )
    cohort = make_features(rng.normal(size=(len(subject), 2, 2)), subject, stimulus, window)
    shuffle = rng.permutation(len(subject))
    out = lds_smooth(cohort.subset(shuffle))
    for s, v in lengths:
        rows = (out.subject == s) & (out.stimulus == v)
        by_window = np.argsort(out.window[rows])
        got = out.data[rows][by_window].reshape(by_window.size, -1)
        source = cohort.data[(subject == s) & (stimulus == v)].reshape(by_window.size, -1)
        np.testing.assert_allclose(got, official_lds(source), atol=1e-12)


def test_lds_keeps_constants_and_damps_noise() -> None:
    cohort = grid_cohort(2, 2, 30, seed=8)
    constant = cohort.with_data(np.full_like(cohort.data, 3.5))
    np.testing.assert_allclose(lds_smooth(constant).data, 3.5)
    smoothed = lds_smooth(cohort).data
    assert smoothed.var() < 0.2 * cohort.data.var()
    assert lds_smooth(cohort.subset(np.array([], dtype=int))).data.shape == (0, 2, 3)
