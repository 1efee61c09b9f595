"""Train / validation / test splits that say what they hold out, and check that they do.

A claim about emotion needs held-out subjects; a claim about stimuli needs held-out stimuli
(FACED labels are assigned per clip, so a decoder can learn clip identity). Every split
therefore records the units it keeps apart (``disjoint_by``; ``val_disjoint_by`` where
validation is held out from training too) and :meth:`Split.check_disjoint` verifies the claim
on the cohort. Validation subjects, where a split has them, are drawn from the training
subjects of that fold, never from its test subjects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vaxis.data.cohort import Cohort
from vaxis.data.datasets import FACED_N_SUBJECTS, FACED_STUDY_SPLIT, protocol_dataset
from vaxis.data.seedv import seedv_session_protocol
from vaxis.errors import VaxisError

FACED_FOLD_SIZES: tuple[int, ...] = (12,) * 9 + (15,)
_UNITS = ("subject", "stimulus")
_PLURAL = {"subject": "subjects", "stimulus": "stimuli"}


class SplitError(VaxisError, ValueError):
    """A split cannot be built as asked, or it lets a held-out unit leak into training."""


@dataclass(frozen=True, eq=False)
class Split:
    """Sample indices of each part, and the units the split claims to keep apart."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    #: units that never cross train/test or val/test: ("subject",), ("stimulus",) or both
    disjoint_by: tuple[str, ...]
    held_out_subjects: tuple[int, ...] = ()
    held_out_stimuli: tuple[int, ...] = ()
    #: units that never cross train/val either (validation as unseen as the test part)
    val_disjoint_by: tuple[str, ...] = ()

    def check_disjoint(self, cohort: Cohort) -> None:
        """Raise :class:`SplitError` if a sample or a claimed unit is in two parts."""
        parts = {"train": self.train, "val": self.val, "test": self.test}
        for name, index in parts.items():
            if index.size and (index.min() < 0 or index.max() >= cohort.n_samples):
                raise SplitError(f"{self.name}: {name} indexes past the cohort's samples")
        shared = np.intersect1d(np.concatenate([self.train, self.val]), self.test)
        if shared.size or np.intersect1d(self.train, self.val).size:
            raise SplitError(f"{self.name}: some samples are in two parts")
        claims = {"subject": self.held_out_subjects, "stimulus": self.held_out_stimuli}
        for unit, held_out in claims.items():
            tested = np.unique(getattr(cohort, unit)[self.test])
            if held_out and not np.array_equal(tested, np.sort(held_out)):
                raise SplitError(f"{self.name}: the test {_PLURAL[unit]} are not the held-out ones")
        pairs = [(unit, other, "test") for unit in self.disjoint_by for other in ("train", "val")]
        pairs += [(unit, "train", "val") for unit in self.val_disjoint_by]
        for unit, first, second in pairs:
            if unit not in _UNITS:
                raise SplitError(f"{self.name}: unknown unit {unit!r} (use {_UNITS})")
            values = getattr(cohort, unit)
            leaked = np.intersect1d(values[parts[first]], values[parts[second]])
            if leaked.size:
                raise SplitError(
                    f"{self.name}: {_PLURAL[unit]} {leaked[:5].tolist()} are in both {first} and "
                    f"{second}, although the split claims to hold {_PLURAL[unit]} out"
                )

    def cohorts(self, cohort: Cohort) -> tuple[Cohort, Cohort, Cohort]:
        """The train, validation and test cohorts (after checking the split)."""
        self.check_disjoint(cohort)
        return cohort.subset(self.train), cohort.subset(self.val), cohort.subset(self.test)


Splitter = Callable[..., list[Split]]


def _indices(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask)


def _subject_split(
    cohort: Cohort,
    name: str,
    test_subjects: np.ndarray,
    val_fraction: float,
    rng: np.random.Generator,
    val_subjects: np.ndarray | None = None,
) -> Split:
    """Test = the given subjects; validation drawn from the remaining (training) subjects."""
    rest = np.setdiff1d(cohort.subjects, test_subjects)
    if val_subjects is None:
        n_val = round(val_fraction * rest.size)
        n_val = min(max(n_val, 1 if val_fraction > 0 else 0), rest.size - 1)
        val_subjects = rng.choice(rest, n_val, replace=False) if n_val > 0 else rest[:0]
    train_subjects = np.setdiff1d(rest, val_subjects)
    return Split(
        name=name,
        train=_indices(np.isin(cohort.subject, train_subjects)),
        val=_indices(np.isin(cohort.subject, val_subjects)),
        test=_indices(np.isin(cohort.subject, test_subjects)),
        disjoint_by=("subject",),
        held_out_subjects=tuple(int(s) for s in np.sort(test_subjects)),
        val_disjoint_by=("subject",),
    )


def study_split(cohort: Cohort) -> list[Split]:
    """The study's FACED split: subjects 0-79 train, 80-99 validation, 100-122 test."""
    wanted = np.arange(FACED_N_SUBJECTS)
    if not np.array_equal(cohort.subjects, wanted):
        raise SplitError(
            f"the study's split needs FACED subjects 0-{FACED_N_SUBJECTS - 1}; this cohort has "
            f"{cohort.subjects.size} subjects. Use `subject_holdout` (same proportions) or "
            "`subject_kfold` for other cohorts"
        )
    test = np.asarray(FACED_STUDY_SPLIT["test"])
    val = np.asarray(FACED_STUDY_SPLIT["val"])
    return [_subject_split(cohort, "study", test, 0.0, np.random.default_rng(0), val)]


def subject_holdout(
    cohort: Cohort, val_fraction: float = 20 / 123, test_fraction: float = 23 / 123
) -> list[Split]:
    """One split in the study's proportions: the last subjects (by id) test, the ones before
    them validation, as subjects 100-122 and 80-99 are in FACED."""
    subjects = cohort.subjects
    n_test = max(1, round(test_fraction * subjects.size))
    n_val = round(val_fraction * subjects.size)
    if n_test + n_val >= subjects.size:
        raise SplitError(f"{subjects.size} subjects are too few for these fractions")
    test, val = subjects[subjects.size - n_test :], subjects[-n_test - n_val : -n_test]
    return [_subject_split(cohort, "holdout", test, 0.0, np.random.default_rng(0), val)]


def _folds_of_subjects(
    cohort: Cohort, name: str, folds: Sequence[np.ndarray], val_fraction: float, seed: int
) -> list[Split]:
    rng = np.random.default_rng(seed)
    return [
        _subject_split(cohort, f"{name}{i + 1:02d}", fold, val_fraction, rng)
        for i, fold in enumerate(folds)
    ]


def faced_official_folds(cohort: Cohort, val_fraction: float = 0.0, seed: int = 0) -> list[Split]:
    """FACED's cross-subject 10-fold protocol: sorted subjects, 12 per fold for folds 1-9 and
    15 in fold 10. The protocol has no validation set; ``val_fraction`` adds one."""
    subjects = cohort.subjects
    if subjects.size != sum(FACED_FOLD_SIZES):
        raise SplitError(
            f"the official FACED folds need all {sum(FACED_FOLD_SIZES)} subjects; this cohort "
            f"has {subjects.size}. Use `subject_kfold` for smaller cohorts"
        )
    folds = np.split(subjects, np.cumsum(FACED_FOLD_SIZES)[:-1])
    return _folds_of_subjects(cohort, "faced-fold", folds, val_fraction, seed)


def subject_kfold(
    cohort: Cohort, k: int = 10, val_fraction: float = 0.1, seed: int = 0
) -> list[Split]:
    """k folds of shuffled subjects; each subject is tested exactly once."""
    subjects = cohort.subjects
    if not 2 <= k <= subjects.size:
        raise SplitError(f"k must be between 2 and the number of subjects ({subjects.size})")
    shuffled = np.random.default_rng(seed).permutation(subjects)
    folds = np.array_split(shuffled, k)
    return _folds_of_subjects(cohort, f"subject-{k}fold", folds, val_fraction, seed)


def leave_one_subject_out(cohort: Cohort, val_fraction: float = 0.0, seed: int = 0) -> list[Split]:
    """One fold per subject."""
    folds = [np.array([s]) for s in cohort.subjects]
    return _folds_of_subjects(cohort, "loso", folds, val_fraction, seed)


def _stimulus_folds(cohort: Cohort, per_class: int, seed: int) -> list[np.ndarray]:
    """Test stimuli per fold: ``per_class`` clips of every class in each fold.

    Folds are as many as the largest class needs; a smaller class starts again from its
    first clips, so every clip is held out at least once (most exactly once).
    """
    if per_class < 1:
        raise SplitError("per_class must be at least 1")
    rng = np.random.default_rng(seed)
    stimuli, first = np.unique(cohort.stimulus, return_index=True)
    by_class = [rng.permutation(stimuli[cohort.label[first] == c]) for c in np.unique(cohort.label)]
    if any(group.size <= per_class for group in by_class):
        raise SplitError(f"every class needs more than {per_class} stimuli to hold some out")
    n_folds = max(-(-group.size // per_class) for group in by_class)
    cycled = np.stack([np.resize(g, n_folds * per_class) for g in by_class])  # (class, slot)
    return [np.sort(block.ravel()) for block in np.split(cycled, n_folds, axis=1)]


def leave_stimuli_out(cohort: Cohort, per_class: int = 1, seed: int = 0) -> list[Split]:
    """Held-out clips (``per_class`` of every category per fold), all subjects in every part."""
    return [
        _stimulus_holdout(cohort, f"stimuli-out{i + 1:02d}", np.isin(cohort.stimulus, stimuli))
        for i, stimuli in enumerate(_stimulus_folds(cohort, per_class, seed))
    ]


def subjects_x_stimuli(
    cohort: Cohort, k: int = 5, per_class: int = 1, val_fraction: float = 0.1, seed: int = 0
) -> list[Split]:
    """Held-out subjects *and* held-out stimuli: train on training subjects x training stimuli,
    test on test subjects x test stimuli. Fold i pairs subject fold i with stimulus fold
    i (cycling over the stimulus folds); validation = validation subjects x training stimuli."""
    stimulus_folds = _stimulus_folds(cohort, per_class, seed)
    splits = []
    for i, by_subject in enumerate(subject_kfold(cohort, k, val_fraction, seed)):
        test_stimuli = stimulus_folds[i % len(stimulus_folds)]
        is_test_stimulus = np.isin(cohort.stimulus, test_stimuli)
        keep = np.flatnonzero(~is_test_stimulus)
        splits.append(
            Split(
                name=f"subjects-x-stimuli{i + 1:02d}",
                train=np.intersect1d(by_subject.train, keep),
                val=np.intersect1d(by_subject.val, keep),
                test=np.intersect1d(by_subject.test, np.flatnonzero(is_test_stimulus)),
                disjoint_by=("subject", "stimulus"),
                held_out_subjects=by_subject.held_out_subjects,
                held_out_stimuli=tuple(int(s) for s in test_stimuli),
            )
        )
    return splits


def _seedv_blocks(cohort: Cohort, protocol: str) -> np.ndarray:
    """Block (0, 1, 2) of every sample: trials 1-5, 6-10, 11-15 of its session."""
    _require_owner(cohort, protocol)
    return seedv_session_protocol(cohort.stimulus)


def _require_owner(cohort: Cohort, protocol: str) -> None:
    """Refuse a protocol of one dataset (:attr:`Dataset.protocols`) on another's cohort."""
    owner = protocol_dataset(protocol)
    if owner is not None and cohort.meta.dataset != owner.name:
        raise SplitError(
            f"{protocol!r} is a {owner.label} protocol; this cohort is {cohort.meta.dataset}"
        )


def seedv_session_folds(cohort: Cohort) -> list[Split]:
    """SEED-V's standard 3-fold protocol: trials 1-5, 6-10 and 11-15 of every session.

    Every block holds all five emotions. The folds hold *trials* out, not subjects: each
    subject is in train and test, so results say nothing about unseen people.
    """
    block = _seedv_blocks(cohort, "seedv-sessions")
    return [
        _stimulus_holdout(cohort, f"seedv-block{fold + 1}", block == fold)
        for fold in np.unique(block)
    ]


def seedv_trial_split(cohort: Cohort) -> list[Split]:
    """CBraMod's SEED-V split: trials 1-5 of every session train, 6-10 validation, 11-15 test.

    Every subject is in every part: the held-out unit is the trial (film clip), which never
    crosses any two parts; results say nothing about unseen people (the study's claims need a
    subject-disjoint protocol such as ``holdout``).
    """
    block = _seedv_blocks(cohort, "seedv-trials")
    return [
        Split(
            name="seedv-trials",
            train=_indices(block == 0),
            val=_indices(block == 1),
            test=_indices(block == 2),
            disjoint_by=("stimulus",),
            held_out_stimuli=tuple(int(s) for s in np.unique(cohort.stimulus[block == 2])),
            val_disjoint_by=("stimulus",),
        )
    ]


#: Name -> splitter, for the command line and configs.
SPLITTERS: dict[str, Splitter] = {
    "study": study_split,
    "holdout": subject_holdout,
    "faced-official": faced_official_folds,
    "subject-kfold": subject_kfold,
    "loso": leave_one_subject_out,
    "stimuli-out": leave_stimuli_out,
    "subjects-x-stimuli": subjects_x_stimuli,
    "seedv-sessions": seedv_session_folds,
    "seedv-trials": seedv_trial_split,
}


def split_fold(cohort: Cohort, protocol: str, fold: int = 0, **options: Any) -> Split:
    """Fold ``fold`` of the protocol ``protocol`` (a name in :data:`SPLITTERS`) on ``cohort``;
    an unknown name or a missing fold is an error naming the choices."""
    if protocol not in SPLITTERS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {list(SPLITTERS)}")
    splits = SPLITTERS[protocol](cohort, **options)
    if not 0 <= fold < len(splits):
        raise ValueError(f"protocol {protocol!r} has {len(splits)} folds, not fold {fold}")
    return splits[fold]


def _stimulus_holdout(cohort: Cohort, name: str, is_test: np.ndarray) -> Split:
    """Train on every sample whose stimulus is not held out; no validation part."""
    return Split(
        name=name,
        train=_indices(~is_test),
        val=np.empty(0, np.intp),
        test=_indices(is_test),
        disjoint_by=("stimulus",),
        held_out_stimuli=tuple(int(s) for s in np.unique(cohort.stimulus[is_test])),
    )


def registered_protocol(name: str) -> str:
    """``name`` when it is a registered split (a settings validator: ``protocol = ...``)."""
    if name not in SPLITTERS:
        raise ValueError(f"unknown protocol {name!r} (allowed: {', '.join(sorted(SPLITTERS))})")
    return name
