"""Splits: no held-out subject (or, where claimed, stimulus) ever reaches training."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from vaxis.data.cohort import Cohort
from vaxis.data.splits import (
    SPLITTERS,
    Split,
    SplitError,
    faced_official_folds,
    leave_one_subject_out,
    leave_stimuli_out,
    seedv_session_folds,
    seedv_trial_split,
    split_fold,
    study_split,
    subject_holdout,
    subject_kfold,
    subjects_x_stimuli,
)
from vaxis.data.synthetic import SynthConfig, synthesize_features


@pytest.fixture(scope="module")
def faced_small() -> Cohort:
    return synthesize_features(SynthConfig(n_subjects=10, n_windows=2))[0]


@pytest.fixture(scope="module")
def faced_full() -> Cohort:
    return synthesize_features(SynthConfig(n_subjects=123, n_windows=2))[0]


@pytest.fixture(scope="module")
def seedv_small() -> Cohort:
    return synthesize_features(SynthConfig(like="seedv", n_subjects=3, n_windows=2))[0]


def units(cohort: Cohort, unit: str, index: np.ndarray) -> set[int]:
    return set(getattr(cohort, unit)[index].tolist())


#: every registered splitter, with the cohort it is meant for; a new entry without a row here
#: fails test_every_registered_splitter_is_tested
CASES: dict[str, tuple[str, dict]] = {
    "study": ("faced_full", {}),
    "holdout": ("faced_small", {}),
    "faced-official": ("faced_full", {}),
    "subject-kfold": ("faced_small", {"k": 5}),
    "loso": ("faced_small", {}),
    "stimuli-out": ("faced_small", {}),
    "subjects-x-stimuli": ("faced_small", {"k": 5}),
    "seedv-sessions": ("seedv_small", {}),
    "seedv-trials": ("seedv_small", {}),
}


def test_every_registered_splitter_is_tested() -> None:
    assert set(SPLITTERS) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_claimed_unit_crosses_train_and_test(name: str, request: pytest.FixtureRequest) -> None:
    fixture, kwargs = CASES[name]
    cohort: Cohort = request.getfixturevalue(fixture)
    splits = SPLITTERS[name](cohort, **kwargs)
    assert splits
    for split in splits:
        split.check_disjoint(cohort)
        assert split.train.size and split.test.size
        assert split.disjoint_by
        # checked here independently of check_disjoint
        for unit in split.disjoint_by:
            tested = units(cohort, unit, split.test)
            assert not tested & units(cohort, unit, split.train)
            assert not tested & units(cohort, unit, split.val)
        for unit in split.val_disjoint_by:
            assert not units(cohort, unit, split.val) & units(cohort, unit, split.train)
        parts = np.concatenate([split.train, split.val, split.test])
        assert np.unique(parts).size == parts.size


def test_official_faced_folds_are_12_x_9_plus_15_sorted(faced_full: Cohort) -> None:
    splits = faced_official_folds(faced_full)
    held = [split.held_out_subjects for split in splits]
    assert [len(h) for h in held] == [12] * 9 + [15]
    assert held[0] == tuple(range(12)) and held[-1] == tuple(range(108, 123))
    assert sorted(s for h in held for s in h) == list(range(123))
    assert all(split.val.size == 0 for split in splits)  # the protocol has no validation
    # every fold trains on all other subjects
    for split, h in zip(splits, held, strict=True):
        assert len(units(faced_full, "subject", split.train)) == 123 - len(h)


def test_official_folds_and_study_split_refuse_other_cohorts(faced_small: Cohort) -> None:
    with pytest.raises(SplitError, match="subject_kfold"):
        faced_official_folds(faced_small)
    with pytest.raises(SplitError, match="subject_holdout"):
        study_split(faced_small)
    with pytest.raises(SplitError, match="SEED-V"):
        seedv_session_folds(faced_small)
    with pytest.raises(SplitError, match="'seedv-trials' is a SEED-V protocol"):
        seedv_trial_split(faced_small)


def test_study_split_is_the_papers(faced_full: Cohort) -> None:
    (split,) = study_split(faced_full)
    assert units(faced_full, "subject", split.train) == set(range(80))
    assert units(faced_full, "subject", split.val) == set(range(80, 100))
    assert units(faced_full, "subject", split.test) == set(range(100, 123))


@pytest.mark.parametrize(
    "make", [lambda c: subject_kfold(c, k=3), lambda c: leave_one_subject_out(c)]
)
def test_every_subject_tested_exactly_once(
    faced_small: Cohort, make: Callable[[Cohort], list[Split]]
) -> None:
    splits = make(faced_small)
    tested = [s for split in splits for s in split.held_out_subjects]
    assert sorted(tested) == list(range(10))
    for split in splits:
        expected = np.flatnonzero(np.isin(faced_small.subject, split.held_out_subjects))
        assert np.array_equal(np.sort(split.test), expected)


def test_validation_subjects_come_from_training_subjects(faced_small: Cohort) -> None:
    for split in subject_kfold(faced_small, k=5, val_fraction=0.25, seed=1):
        val = units(faced_small, "subject", split.val)
        assert len(val) == 2  # round(0.25 * 8)
        assert not val & set(split.held_out_subjects)
        assert not val & units(faced_small, "subject", split.train)
    assert [s.held_out_subjects for s in subject_kfold(faced_small, k=5, seed=2)] != [
        s.held_out_subjects for s in subject_kfold(faced_small, k=5, seed=3)
    ]


def test_holdout_keeps_the_studys_proportions(faced_small: Cohort) -> None:
    (split,) = subject_holdout(faced_small)
    assert split.held_out_subjects == (8, 9)  # round(23/123 * 10) = 2 last subjects
    assert units(faced_small, "subject", split.val) == {6, 7}


def test_stimuli_out_holds_one_clip_per_class_and_covers_every_clip(faced_small: Cohort) -> None:
    splits = leave_stimuli_out(faced_small, per_class=1)
    assert len(splits) == 4  # neutral has 4 clips, the other classes 3
    covered: set[int] = set()
    for split in splits:
        labels = faced_small.label[split.test]
        clips = units(faced_small, "stimulus", split.test)
        assert len(clips) == 9 and set(labels.tolist()) == set(range(9))
        assert units(faced_small, "subject", split.test) == set(range(10))
        covered |= clips
    assert covered == set(range(28))


def test_subjects_x_stimuli_holds_out_both(faced_small: Cohort) -> None:
    for split in subjects_x_stimuli(faced_small, k=5):
        test_subjects, test_stimuli = set(split.held_out_subjects), set(split.held_out_stimuli)
        assert units(faced_small, "subject", split.test) == test_subjects
        assert units(faced_small, "stimulus", split.test) == test_stimuli
        for part in (split.train, split.val):
            assert not units(faced_small, "subject", part) & test_subjects
            assert not units(faced_small, "stimulus", part) & test_stimuli


def test_seedv_session_blocks(seedv_small: Cohort) -> None:
    splits = seedv_session_folds(seedv_small)
    assert len(splits) == 3
    for fold, split in enumerate(splits):
        trial = seedv_small.stimulus[split.test] % 15
        assert set(trial.tolist()) == set(range(5 * fold, 5 * fold + 5))
        assert set(seedv_small.label[split.test].tolist()) == set(range(5))
        assert set(seedv_small.session[split.test].tolist()) == {0, 1, 2}
        # the protocol is not subject-disjoint, and the split does not claim it is
        assert units(seedv_small, "subject", split.test) == units(
            seedv_small, "subject", split.train
        )
        assert split.disjoint_by == ("stimulus",)


def test_seedv_trials_is_cbramods_split(seedv_small: Cohort) -> None:
    """Trials 1-5 of every session train, 6-10 validate, 11-15 test, for every subject."""
    (split,) = seedv_trial_split(seedv_small)
    assert split.name == "seedv-trials"
    stimulus = seedv_small.stimulus
    for part, trials in (
        (split.train, range(5)),
        (split.val, range(5, 10)),
        (split.test, range(10, 15)),
    ):
        expected = {session * 15 + t for session in range(3) for t in trials}
        assert units(seedv_small, "stimulus", part) == expected
        assert set(seedv_small.label[part].tolist()) == set(range(5))  # every emotion, each part
        assert units(seedv_small, "subject", part) == {0, 1, 2}  # every subject in every part
        for subject in range(3):  # all of each subject's windows of those trials
            mine = seedv_small.subject == subject
            wanted = np.flatnonzero(mine & np.isin(stimulus, list(expected)))
            np.testing.assert_array_equal(np.intersect1d(part, np.flatnonzero(mine)), wanted)
    parts = np.concatenate([split.train, split.val, split.test])
    np.testing.assert_array_equal(np.sort(parts), np.arange(seedv_small.n_samples))
    assert split.held_out_stimuli == tuple(
        sorted(s * 15 + t for s in range(3) for t in range(10, 15))
    )
    assert split.disjoint_by == ("stimulus",) and split.val_disjoint_by == ("stimulus",)
    assert split_fold(seedv_small, "seedv-trials").name == "seedv-trials"


def test_seedv_trials_check_catches_a_trial_shared_by_train_and_val(seedv_small: Cohort) -> None:
    (split,) = seedv_trial_split(seedv_small)
    split.check_disjoint(seedv_small)
    # one window of a validation trial moved into training: no sample shared, a trial is
    moved = replace(split, train=np.append(split.train, split.val[:1]), val=split.val[1:])
    trial = int(seedv_small.stimulus[split.val[0]])
    with pytest.raises(SplitError, match=rf"stimuli \[{trial}\] are in both train and val"):
        moved.check_disjoint(seedv_small)
    # without the claim, the same split passes: the check is what catches it
    replace(moved, val_disjoint_by=()).check_disjoint(seedv_small)


def test_subject_splits_keep_validation_subjects_out_of_training(faced_small: Cohort) -> None:
    split = subject_kfold(faced_small, k=5, val_fraction=0.25)[0]
    assert split.val_disjoint_by == ("subject",)
    val_subject = faced_small.subject[split.val[0]]
    leaked = np.flatnonzero(faced_small.subject == val_subject)[:1]
    with pytest.raises(SplitError, match="both train and val"):
        replace(
            split, train=np.append(split.train, leaked), val=np.setdiff1d(split.val, leaked)
        ).check_disjoint(faced_small)


def test_check_disjoint_catches_leaks(faced_small: Cohort) -> None:
    split = subject_kfold(faced_small, k=5, val_fraction=0.2)[0]
    leaked_sample = split.test[:1]
    with pytest.raises(SplitError, match="two parts"):
        replace(split, train=np.append(split.train, leaked_sample)).check_disjoint(faced_small)
    # some samples of a test subject moved to training: no sample is shared, a subject is
    moved = replace(split, train=np.append(split.train, split.test[:3]), test=split.test[3:])
    with pytest.raises(SplitError, match="both train and test"):
        moved.check_disjoint(faced_small)
    val_leak = replace(split, val=np.append(split.val, split.test[:3]), test=split.test[3:])
    with pytest.raises(SplitError, match="both val and test"):
        val_leak.check_disjoint(faced_small)
    with pytest.raises(SplitError, match="held-out"):
        replace(split, held_out_subjects=(99,)).check_disjoint(faced_small)
    with pytest.raises(SplitError, match="past the cohort"):
        replace(split, test=np.array([faced_small.n_samples])).check_disjoint(faced_small)
    # a stimulus split whose test clip also appears in training
    stim = leave_stimuli_out(faced_small)[0]
    leaky = replace(
        stim,
        train=stim.train[:-1],
        test=np.append(stim.test, stim.train[-1]),
        held_out_stimuli=(),
    )
    with pytest.raises(SplitError, match=r"stimuli .* both train and test"):
        leaky.check_disjoint(faced_small)


def test_splitters_reject_impossible_requests(faced_small: Cohort) -> None:
    with pytest.raises(SplitError):
        subject_kfold(faced_small, k=11)
    with pytest.raises(SplitError):
        leave_stimuli_out(faced_small, per_class=3)  # would leave no training clip of a class


def test_split_fold_returns_the_protocol_fold_and_names_the_choices(faced_small: Cohort) -> None:
    folds = subject_kfold(faced_small, k=5)
    chosen = split_fold(faced_small, "subject-kfold", 3, k=5)
    assert (chosen.test == folds[3].test).all() and chosen.name == folds[3].name
    with pytest.raises(ValueError, match="has 5 folds, not fold 5"):
        split_fold(faced_small, "subject-kfold", 5, k=5)
    with pytest.raises(ValueError, match="unknown protocol 'kfold'; choose from"):
        split_fold(faced_small, "kfold", 0)
