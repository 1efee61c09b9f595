"""The test against chance at the unit of the claim (vaxis.decoders.chance), on synthetic
cohorts whose EEG carries clip identity and, where planted, a class signal.

A ridge classifier refitted in closed form stands in for a cheap decoder (it is checked
against scikit-learn's RidgeClassifier), so a test can refit it hundreds of times.
"""

from __future__ import annotations

from dataclasses import replace
from math import factorial

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import RidgeClassifier

from vaxis.data.cohort import Cohort
from vaxis.data.normalize import subject_zscore
from vaxis.data.splits import split_fold
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.chance import (
    FITTING,
    HELD_OUT,
    SHARED,
    ChanceConfig,
    ChanceTest,
    FitPredict,
    chance_test,
    combine,
    label_units,
    subject_balanced_accuracy,
)
from vaxis.decoders.metrics import compute_metrics
from vaxis.decoders.units import Task, Units, make_units

#: stimulus-specific EEG, no class signal (no valence, no arousal): the null of the test
NULL = {"plant_valence": False, "arousal_strength": 0.0, "stimulus_strength": 0.3}
#: a class signal (valence and arousal patterns) beside weaker clip identity
PLANTED = {
    "stimulus_strength": 0.2,
    "valence_strength": 1.0,
    "arousal_strength": 1.0,
    "plant_residual": False,
}
Parts = tuple[Units, Units, Units]


def cohort_of(seed: int, n_subjects: int = 16, **knobs: object) -> Cohort:
    """A small synthetic FACED-shaped cohort (one 10-s segment per clip), z-scored per subject
    as ``run_experiment`` does."""
    config = SynthConfig(n_subjects=n_subjects, n_windows=10, seed=seed, **knobs)  # type: ignore[arg-type]
    return subject_zscore(synthesize_features(config)[0])


def parts_of(cohort: Cohort, protocol: str, task: Task = "faced9") -> Parts:
    train, val, test = split_fold(cohort, protocol).cohorts(cohort)
    return tuple(make_units(c, task, sequence=False) for c in (train, val, test))  # type: ignore[return-value]


def ridge(train: Units, test: Units, alpha: float = 1.0) -> FitPredict:
    """A ridge classifier (scikit-learn's: +-1 targets, centred, unpenalised intercept) whose
    refits on any targets cost one matrix product: the features never change, only ``y``."""
    xtr, xte = (u.x.reshape(len(u), -1).astype(float) for u in (train, test))
    mean = xtr.mean(axis=0)
    centred = xtr - mean
    gram = centred.T @ centred + alpha * np.eye(centred.shape[1])
    project = (xte - mean) @ np.linalg.solve(gram, centred.T)

    def refit(train: Units, val: Units) -> np.ndarray:
        y = 2.0 * (train.y[:, None] == np.arange(train.n_classes)) - 1
        return np.argmax(project @ (y - y.mean(axis=0)) + y.mean(axis=0), axis=1)

    return refit


def old_t_p(y_pred: np.ndarray, test: Units) -> float:
    """The test vaxis used before: one-sided t over test subjects against 1/K."""
    design = label_units([], test)
    per_subject = subject_balanced_accuracy(y_pred, design, test, design.targets[None])[0]
    return float(stats.ttest_1samp(per_subject, 1 / test.n_classes, alternative="greater").pvalue)


@pytest.fixture(scope="module")
def null() -> Cohort:
    return cohort_of(0, **NULL)


def test_the_ridge_stand_in_is_scikit_learns_ridge_classifier(null: Cohort) -> None:
    train, val, test = parts_of(null, "holdout")
    reference = RidgeClassifier(alpha=1.0).fit(train.x.reshape(len(train), -1), train.y)
    expected = reference.predict(test.x.reshape(len(test), -1))
    assert np.array_equal(ridge(train, test)(train, val), expected)


def test_the_statistic_is_compute_metrics_per_subject_balanced_accuracy(null: Cohort) -> None:
    _, _, test = parts_of(null, "stimuli-out")
    # one subject never sees class 0: its balanced accuracy is over the classes it has
    keep = ~((test.subject == test.subjects[0]) & (test.y == 0))
    test = test.subset(keep)
    rng = np.random.default_rng(0)
    preds = np.where(rng.random((3, len(test))) < 0.4, test.y, rng.integers(0, 9, len(test)))
    design = label_units([], test)
    got = subject_balanced_accuracy(preds, design, test, np.tile(design.targets, (3, 1)))
    for row, y_pred in zip(got, preds, strict=True):
        expected = compute_metrics(test.y, y_pred, test.subject, 9).per_subject_balanced_accuracy
        assert row == pytest.approx([expected[int(s)] for s in test.subjects], abs=1e-12)
    one = subject_balanced_accuracy(preds[1], design, test, np.tile(design.targets, (2, 1)))
    assert one == pytest.approx(np.tile(got[1], (2, 1)))  # one prediction set, many rows


def test_units_and_strata_follow_the_protocol_and_the_task(null: Cohort) -> None:
    holdout = label_units(parts_of(null, "holdout")[:2], parts_of(null, "holdout")[2])
    assert holdout.kind == "clip" and holdout.ids.size == 28
    assert np.all(holdout.strata == SHARED)  # every test subject saw every clip in training
    for protocol in ("stimuli-out", "subjects-x-stimuli"):
        train, val, test = parts_of(null, protocol)
        design = label_units([train, val], test)
        held_out = design.strata == HELD_OUT
        assert held_out.sum() == 9 and np.array_equal(np.sort(design.targets[held_out]), range(9))
        assert np.array_equal(design.ids[held_out], np.unique(test.stimulus))
        assert np.all(design.strata[~held_out] == FITTING)
    train, val, test = parts_of(null, "holdout", task="binary")
    binary = label_units([train, val], test)  # valence is set per category: categories swap
    assert binary.kind == "category" and binary.ids.size == 8
    assert sorted(binary.targets) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_permutations_keep_class_counts_in_each_stratum_and_depend_on_the_seed_only(
    null: Cohort,
) -> None:
    train, val, test = parts_of(null, "stimuli-out")
    design = label_units([train, val], test)
    draws = design.draw(200, seed=3, strata=(FITTING, HELD_OUT))
    for stratum in (FITTING, HELD_OUT):
        members = design.strata == stratum
        expected = np.sort(design.targets[members])
        assert all(np.array_equal(np.sort(row[members]), expected) for row in draws)
    assert np.unique(draws, axis=0).shape[0] > 190  # really permuted
    assert np.array_equal(draws, design.draw(200, seed=3, strata=(FITTING, HELD_OUT)))
    test_only = design.draw(50, seed=3, strata=(HELD_OUT,))
    fitting = design.strata == FITTING
    assert np.all(test_only[:, fitting] == design.targets[fitting])
    assert np.array_equal(design.ids[design.index(test)], test.stimulus)


def test_on_a_null_subject_split_the_old_t_rejects_and_the_refit_test_does_not(
    null: Cohort,
) -> None:
    train, val, test = parts_of(null, "holdout")
    refit = ridge(train, test)
    y_pred = refit(train, val)
    assert old_t_p(y_pred, test) < 1e-3  # clip identity passed for emotion before
    tested = chance_test(train, val, test, y_pred, ChanceConfig(refits=199), refit)
    assert tested.kind == "refit" and tested.statistic > 0.5  # far above 1/9: clips recognised
    assert np.mean(tested.null) > 0.5  # ... and as well recognised under permuted labels
    assert tested.p is not None and tested.p > 0.05
    assert tested.n_subjects == 3 and tested.n_test_units == tested.n_units == 28
    # without a refit no test is possible here, and the reason says why
    refused = chance_test(train, val, test, y_pred, ChanceConfig(refits=199), None)
    assert refused.kind == "none" and refused.p is None and "clip identity" in refused.reason
    assert "no test of above chance" in refused.describe()


def test_held_out_clips_predicted_by_clip_pass_the_old_t_but_not_the_permutation() -> None:
    """Predictions that cluster by clip: every test subject gets the same class for a clip.

    Three of the 9 held-out clips are predicted right for every subject, one of them wrong for
    half of the subjects: the old t over 16 subjects calls that far above 1/9, but a
    relabelling of 9 clips gives >= 3 fixed points 8% of the time."""
    _, _, test = parts_of(cohort_of(0, **NULL), "stimuli-out")
    clip_class = {int(s): int(y) for s, y in zip(test.stimulus, test.y, strict=True)}
    stimuli = sorted(clip_class)
    guess = {s: clip_class[s] for s in stimuli[:3]}  # 3 right ...
    wrong = [clip_class[s] for s in stimuli[3:]]
    guess |= dict(zip(stimuli[3:], np.roll(wrong, 1).tolist(), strict=True))  # ... 6 wrong
    y_pred = np.array([guess[int(s)] for s in test.stimulus])
    y_pred[(test.subject % 2 == 0) & (test.stimulus == stimuli[0])] = wrong[0]
    assert old_t_p(y_pred, test) < 1e-6
    tested = chance_test(test, test.subset(np.zeros(len(test), bool)), test, y_pred,
                         ChanceConfig(permutations=4999))  # fmt: skip
    # a fitting part holding the test clips: no predictions test (they were seen) ...
    assert tested.kind == "none"
    empty = test.subset(np.zeros(len(test), bool))
    tested = chance_test(empty, empty, test, y_pred, ChanceConfig(permutations=4999))
    assert tested.kind == "predictions" and tested.unit == "clip"
    assert 0.05 < fixed_points_at_least(3) < tested.p < fixed_points_at_least(2)  # type: ignore[operator]
    assert tested.n_test_units == 9 and tested.n_subjects == 16


def fixed_points_at_least(m: int, n: int = 9) -> float:
    """P(a uniform permutation of n items has >= m fixed points), from derangement counts."""
    derangements = [round(factorial(k) * sum((-1) ** j / factorial(j) for j in range(k + 1)))
                    for k in range(n + 1)]  # fmt: skip
    fewer = sum(derangements[n - k] * factorial(n) // (factorial(k) * factorial(n - k))
                for k in range(m))  # fmt: skip
    return 1 - fewer / factorial(n)


def test_on_a_planted_cohort_both_tests_find_the_class_signal() -> None:
    planted = cohort_of(0, **PLANTED)
    for protocol, refitted in (("holdout", True), ("stimuli-out", False)):
        train, val, test = parts_of(planted, protocol)
        refit = ridge(train, test)
        config = ChanceConfig(refits=199, permutations=999)
        tested = chance_test(
            train, val, test, refit(train, val), config, refit if refitted else None
        )
        assert tested.kind == ("refit" if refitted else "predictions")
        assert tested.p is not None and tested.p <= 0.05, protocol


def test_runs_combine_only_when_they_share_their_permutations(null: Cohort) -> None:
    train, val, test = parts_of(null, "stimuli-out")
    rng = np.random.default_rng(1)
    config = ChanceConfig(permutations=99)
    runs = [chance_test(train, val, test, rng.integers(0, 9, len(test)), config) for _ in range(2)]
    both = combine(runs)
    assert both.statistic == pytest.approx(np.mean([r.statistic for r in runs]))
    assert both.null == pytest.approx(np.mean([r.null for r in runs], axis=0))
    assert both.n_runs == 2 and "mean over 2 runs" in both.describe()
    assert ChanceTest.from_dict(both.to_dict()) == both
    other = parts_of(null, "subjects-x-stimuli")
    elsewhere = chance_test(*other, rng.integers(0, 9, len(other[2])), config)
    with pytest.raises(ValueError, match="do not share their permutations"):
        combine([runs[0], elsewhere])


def test_targets_that_vary_within_a_clip_are_refused(null: Cohort) -> None:
    train, val, test = parts_of(null, "stimuli-out")
    mixed = replace(test, y=np.where(np.arange(len(test)) % 2 == 0, test.y, (test.y + 1) % 9))
    with pytest.raises(ValueError, match="targets vary within a clip"):
        label_units([train, val], mixed)
