"""Evaluation protocols for the stimulus read-out: which stimuli and subjects each fit sees.

A :class:`Protocol` is a set of folds. Each fold fits the read-out on some stimuli (rows of a
stimuli x features matrix, optionally averaged over training subjects only) and predicts
others. Predictions land in a (replicates, stimuli) grid that every protocol fills exactly
once per replicate; the protocol's figure is Pearson r between predicted and true positions
over the stimuli, averaged over replicates (subject folds). Folds are grouped into blocks of
equal shape so that one batched call fits a whole block for every permutation at once.

Protocols (the stimulus matrix ``x`` is the cohort mean unless said otherwise):

- ``in_sample``: fit on all stimuli, score the same stimuli (optimistic: 160 features and 28
  points make a near-perfect in-sample fit almost certain; reported only beside honest ones);
- ``leave_groups_out``: each group of stimuli (one stimulus, or one category) is predicted by a
  fit on the other groups;
- ``subjects_out``: subjects split into k folds; the read-out is fitted on the training
  subjects' cohort mean and predicts the held-out subjects' mean. ``crossed=False`` holds out
  subjects only (every stimulus is seen in training, so stimulus identity shared by all
  subjects can carry the fit: optimistic about stimuli); ``crossed=True`` also holds out the
  predicted stimulus (one fit per subject fold and stimulus): held-out subjects *and* stimuli.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from vaxis.brain.linear import FoldBasis, Model, fit_predict, fold_basis


@dataclass(frozen=True, eq=False)
class Block:
    """Folds of one shape: training / test stimulus indices and the replicate of each fold."""

    basis: FoldBasis
    train: np.ndarray  # (F, n) stimulus indices
    test: np.ndarray  # (F, m) stimulus indices
    replicate: np.ndarray  # (F,)


@dataclass(frozen=True, eq=False)
class Protocol:
    """Folds that together predict every stimulus once per replicate."""

    key: str
    description: str
    blocks: tuple[Block, ...]
    n_replicates: int
    n_stimuli: int

    def predict(self, y: np.ndarray, model: Model, alphas: tuple[float, ...]) -> np.ndarray:
        """Predictions (replicates, stimuli, P) for targets ``y`` (stimuli,) or (stimuli, P)."""
        targets = _columns(y)
        out = np.full((self.n_replicates, self.n_stimuli, targets.shape[1]), np.nan)
        for block in self.blocks:
            pred = fit_predict(block.basis, targets[block.train], model, alphas)
            out[block.replicate[:, None], block.test] = pred
        if np.isnan(out).any():
            raise RuntimeError(f"protocol {self.key} leaves some stimuli unpredicted")
        return out

    def score(self, y: np.ndarray, model: Model, alphas: tuple[float, ...]) -> np.ndarray:
        """(P,) Pearson r of predicted vs true positions, mean over replicates."""
        targets = _columns(y)
        return score_predictions(self.predict(targets, model, alphas), targets)


def score_predictions(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(P,) mean over replicates of r(pred[r, :, p], y[:, p]); pred (R, n, P), y (n, P)."""
    return pearson(pred, _columns(y)[None], axis=1).mean(axis=0)


def pearson(a: np.ndarray, b: np.ndarray, axis: int = 0) -> np.ndarray:
    """Pearson r along ``axis`` (broadcasting); NaN where either side is constant."""
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    denominator = np.sqrt((a**2).sum(axis=axis) * (b**2).sum(axis=axis))
    numerator = (a * b).sum(axis=axis)
    safe = denominator > 1e-300
    return np.divide(numerator, denominator, out=np.full(np.shape(numerator), np.nan), where=safe)


def _columns(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y[:, None] if y.ndim == 1 else y


class _Fold(NamedTuple):
    x_train: np.ndarray  # (n, p)
    x_test: np.ndarray  # (m, p)
    train: np.ndarray  # (n,) stimulus indices
    test: np.ndarray  # (m,) stimulus indices
    replicate: int


def _blocks(folds: list[_Fold]) -> tuple[Block, ...]:
    """Stack folds of equal shape into blocks and compute each block's basis once."""
    shapes: dict[tuple[int, int], list[_Fold]] = defaultdict(list)
    for fold in folds:
        shapes[(fold.train.size, fold.test.size)].append(fold)
    return tuple(
        Block(
            basis=fold_basis(
                np.stack([f.x_train for f in same]), np.stack([f.x_test for f in same])
            ),
            train=np.stack([f.train for f in same]),
            test=np.stack([f.test for f in same]),
            replicate=np.array([f.replicate for f in same]),
        )
        for same in shapes.values()
    )


def in_sample(x: np.ndarray) -> Protocol:
    everything = np.arange(x.shape[0])
    blocks = _blocks([_Fold(x, x, everything, everything, 0)])
    return Protocol(
        "in_sample",
        "in-sample: fitted and scored on the same stimuli (optimistic)",
        blocks,
        1,
        x.shape[0],
    )


def leave_groups_out(x: np.ndarray, groups: np.ndarray, key: str, description: str) -> Protocol:
    """Each group of stimuli predicted by a fit on the others (x: stimuli x features)."""
    groups = np.asarray(groups)
    if np.unique(groups).size < 2:
        raise ValueError(f"{key}: needs at least two groups of stimuli")
    index = np.arange(x.shape[0])
    held_out = [index[groups == g] for g in np.unique(groups)]
    train = [index[groups != groups[h[0]]] for h in held_out]
    return Protocol(
        key,
        description,
        _blocks([_Fold(x[t], x[h], t, h, 0) for t, h in zip(train, held_out, strict=True)]),
        1,
        x.shape[0],
    )


def subjects_out(per_subject: np.ndarray, subject_fold: np.ndarray, crossed: bool) -> Protocol:
    """Fit on training subjects' mean, predict held-out subjects' mean (see module docstring).

    ``per_subject`` (subjects, stimuli, features), NaN where a subject lacks a stimulus;
    ``subject_fold`` (subjects,) fold of each subject.
    """
    n_stimuli = per_subject.shape[1]
    index = np.arange(n_stimuli)
    folds: list[_Fold] = []
    for k, fold in enumerate(np.unique(subject_fold)):
        fit_mean = subject_mean(per_subject[subject_fold != fold])
        held_mean = subject_mean(per_subject[subject_fold == fold])
        if not crossed:
            folds.append(_Fold(fit_mean, held_mean, index, index, k))
            continue
        for stimulus in index:
            others, held = index[index != stimulus], index[[stimulus]]
            folds.append(_Fold(fit_mean[others], held_mean[held], others, held, k))
    if crossed:
        key, description = (
            "subjects_stimuli_out",
            "leave-subjects-and-stimulus-out: fit on training subjects' means of the other "
            "stimuli, predict held-out subjects' mean of the held-out stimulus",
        )
    else:
        key, description = (
            "subjects_out",
            "leave-subjects-out: fit on training subjects' means, predict held-out subjects' "
            "means of the same stimuli (stimuli seen in training: optimistic about stimuli)",
        )
    n_folds = int(np.unique(subject_fold).size)
    return Protocol(key, description, _blocks(folds), n_folds, n_stimuli)


def subject_mean(per_subject: np.ndarray) -> np.ndarray:
    """Mean over subjects (axis 0) ignoring missing (NaN) subject-stimulus cells."""
    valid = ~np.isnan(per_subject)
    count = valid.sum(axis=0)
    if (count == 0).any():
        raise ValueError("a stimulus has no data in one group of subjects; use fewer folds")
    return np.where(valid, per_subject, 0.0).sum(axis=0) / count
