r"""How a trained decoder's penultimate geometry lines up with the V-axis.

The study's rediscovery measures: docs/REFERENCE.md sec. 1.5.

Every measure starts from held-out penultimate features averaged per (subject, stimulus)
(:class:`StimulusTable`). A stimulus mean is the mean over subjects of each subject's mean
(equal subject weights, as in the brain read-out); a class mean is the mean of its stimuli's
means. A bootstrap over subjects only re-weights subjects, so the measures accept a batch of
means (any leading axes) and return one value per batch entry.

- **Class-PC1 alignment**: PC1 of the mean-centred K x D class-mean matrix; the class means'
  scores along it; ``|Pearson r|`` with the V-axis class positions over the K classes (the
  absolute value because a principal component has no sign). n = K.
- **Within-class residual alignment**: residual features ``R_s = m_s - mean{m_t : c(t) = c(s)}``
  and V-axis residuals ``r_s = p_s - mean{p_t : c(t) = c(s)}``. A linear read-out from ``R`` to
  ``r`` (PLS-1 by default, or ridge; :mod:`vaxis.brain.linear`, standardised features) is
  fitted on the *validation* subjects' means only; the *test* subjects' residual features are
  passed through it and the result is correlated (signed r: the direction's sign was chosen on
  validation data) with ``r`` over stimuli. Two protocols (:class:`ResidualReadout`):

  * ``crossed=False`` (the study's): one fit on every stimulus of the validation subjects,
    scored on the same stimuli in the test subjects (held-out subjects, not stimuli). When the
    features carry stimulus identity shared across subjects, the test residuals resemble the
    validation ones and r > 0 is expected *without any valence* (it is then ``r^T K r``-like
    for a positive kernel K). Its permutation null carries the same bias, so its p-value stays
    valid; its raw value does not mean "aligned".
  * ``crossed=True``: the fit that predicts stimulus s never sees s: class means are recomputed
    without s (features and positions) for the training residuals, and s is predicted from the
    test subjects' residual of s against its class-mates. Held-out subjects *and* stimuli.

  FACED has 3-4 clips per class: its 28 residuals carry 28 - 9 = 19 degrees of freedom.
- **Stimulus probe**: ridge (or PLS-1) from stimulus means to positions, fitted on training
  stimuli and scored on held-out ones (leave-one-stimulus-out unless groups are given).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator

from vaxis.brain.linear import (
    DEFAULT_ALPHAS,
    Model,
    dual_coefficients,
    fold_basis,
    single_threaded_blas,
    standardise,
)
from vaxis.brain.protocols import leave_groups_out, pearson
from vaxis.errors import DataFormatError


@dataclass(frozen=True, eq=False)
class StimulusTable:
    """Mean features of every (subject, stimulus) cell, and each stimulus's class."""

    per_subject: np.ndarray  # (N, S, D), NaN where a subject lacks a stimulus
    subjects: np.ndarray  # (N,) ids
    stimuli: np.ndarray  # (S,) ids, sorted
    classes: np.ndarray  # (S,) category of each stimulus

    @classmethod
    def from_samples(
        cls, features: np.ndarray, subject: np.ndarray, stimulus: np.ndarray, label: np.ndarray
    ) -> StimulusTable:
        """Average ``features`` (n, D) over the samples of each (subject, stimulus)."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or not len(features) == len(subject) == len(stimulus) == len(label):
            raise ValueError("features (n, D) need one subject, stimulus and label per row")
        subjects, s_index = np.unique(subject, return_inverse=True)
        stimuli, t_index = np.unique(stimulus, return_inverse=True)
        classes = np.zeros(stimuli.size, dtype=np.int64)
        classes[t_index] = label
        if (classes[t_index] != label).any():
            raise DataFormatError(None, "a stimulus carries two category labels")
        cell = s_index * stimuli.size + t_index
        sums = np.zeros((subjects.size * stimuli.size, features.shape[1]))
        np.add.at(sums, cell, features)
        counts = np.bincount(cell, minlength=sums.shape[0]).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts[:, None]
        means[counts == 0] = np.nan
        per_subject = means.reshape(subjects.size, stimuli.size, -1)
        return cls(per_subject, subjects, stimuli, classes)

    def means(self, weights: np.ndarray | None = None) -> np.ndarray:
        """(S, D) mean over subjects; (B, S, D) for subject weights (B, N), e.g. bootstrap
        counts. A stimulus no weighted subject saw is NaN."""
        valid = ~np.isnan(self.per_subject[..., 0])
        values = np.where(valid[..., None], self.per_subject, 0.0)
        w = np.ones(self.subjects.size) if weights is None else np.asarray(weights, float)
        totals = np.tensordot(w, values, axes=(-1, 0))
        present = np.tensordot(w, valid.astype(float), axes=(-1, 0))
        with np.errstate(invalid="ignore", divide="ignore"):
            return totals / present[..., None]

    def select(self, stimuli: np.ndarray) -> StimulusTable:
        """The table restricted to ``stimuli`` (ids, in that order)."""
        index = np.searchsorted(self.stimuli, stimuli)
        if (index >= self.stimuli.size).any() or (self.stimuli[index] != stimuli).any():
            raise ValueError("select: some stimuli are not in the table")
        return StimulusTable(
            self.per_subject[:, index], self.subjects, self.stimuli[index], self.classes[index]
        )


# ------------------------------------------------------------------------- class PC1
def class_means(means: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class ids (K,) and class means (..., K, D): the mean of each class's stimulus means."""
    ids, codes = np.unique(classes, return_inverse=True)
    onehot = codes[None, :] == np.arange(ids.size)[:, None]
    return ids, (onehot / onehot.sum(axis=1, keepdims=True)) @ means


def pc1_scores(class_mean: np.ndarray) -> np.ndarray:
    """(..., K) positions of the rows along PC1 of the mean-centred (..., K, D) matrix
    (NaN for a matrix with missing values, e.g. a bootstrap draw that lost a stimulus)."""
    centred = class_mean - class_mean.mean(axis=-2, keepdims=True)
    finite = np.isfinite(centred).all(axis=(-2, -1))
    scores = np.full(centred.shape[:-1], np.nan)
    with single_threaded_blas():
        u, s, _ = np.linalg.svd(centred[finite], full_matrices=False)
    scores[finite] = u[..., 0] * s[..., :1]
    return scores


def class_pc1_alignment(
    means: np.ndarray, classes: np.ndarray, class_positions: np.ndarray
) -> np.ndarray:
    """|r| between PC1 scores of the class means and the V-axis class positions.

    ``means`` (..., S, D) stimulus means, ``classes`` (S,) their classes, ``class_positions``
    indexed by class id. Returns an array of the leading shape (a 0-d array for one table).
    """
    ids, centroids = class_means(means, classes)
    if ids.size < 3:
        raise ValueError(f"class-PC1 alignment needs at least 3 classes, got {ids.size}")
    scores = pc1_scores(centroids)
    target = np.asarray(class_positions, dtype=float)[ids]
    return np.abs(pearson(scores, np.broadcast_to(target, scores.shape), axis=-1))


# ----------------------------------------------------------------------- residuals
def class_average(classes: np.ndarray) -> np.ndarray:
    """(S, S) operator whose row s averages the stimuli of s's class."""
    same = np.asarray(classes)[:, None] == np.asarray(classes)[None, :]
    return same / same.sum(axis=1, keepdims=True)


def within_class_residuals(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``values`` (..., S, D) minus their class's mean over stimuli (axis -2)."""
    return values - class_average(classes) @ values


def has_within_class_variation(positions: np.ndarray, classes: np.ndarray) -> bool:
    """False for class-constant positions (a class fallback): no residual to align with."""
    residual = within_class_residuals(np.asarray(positions, float)[:, None], classes)
    return bool(np.abs(residual).max() > 1e-12 * (1 + np.abs(positions).max()))


def _residual_folds(classes: np.ndarray, crossed: bool) -> tuple[np.ndarray, ...]:
    """Linear operators on the (S, ...) stimulus axis: training residual rows (F, n, S),
    test residual rows (F, m, S) and the stimuli they predict (F, m)."""
    n_stimuli = classes.size
    if not crossed:
        residual = np.eye(n_stimuli) - class_average(classes)
        return residual[None], residual[None], np.arange(n_stimuli)[None]
    trains, tests, held = [], [], []
    for s in range(n_stimuli):
        others = np.delete(np.arange(n_stimuli), s)
        mates = others[classes[others] == classes[s]]
        if mates.size == 0:
            continue  # alone in its class: no residual without itself
        train = np.zeros((others.size, n_stimuli))
        train[:, others] = np.eye(others.size) - class_average(classes[others])
        test = np.zeros((1, n_stimuli))
        test[0, s], test[0, mates] = 1.0, -1.0 / mates.size
        trains.append(train)
        tests.append(test)
        held.append([s])
    if not held:
        raise ValueError("crossed residuals need classes with at least two stimuli")
    return np.stack(trains), np.stack(tests), np.array(held)


def linear_weights(
    x_train: np.ndarray, y_train: np.ndarray, model: Model, alphas: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Primal weights (F, D, P) and intercepts (F, 1, P) of F read-outs fitted at once.

    Same fit as :func:`vaxis.brain.linear.fit_predict` (standardised features, alpha chosen on
    the training rows), returned as weights so that any number of test rows can be scored.
    """
    mean, scale = standardise(x_train)
    standardised = (x_train - mean) / scale
    with single_threaded_blas():
        basis = fold_basis(x_train, x_train[:, :1])
        coef, ybar, _ = dual_coefficients(basis, y_train, model, alphas)
        weights = (standardised.transpose(0, 2, 1) @ coef) / scale.transpose(0, 2, 1)
    return weights, ybar - mean @ weights


class ResidualReadout(BaseEstimator):
    """Within-class residual direction learned on validation means, applied to test means.

    Parameters
    ----------
    model : ``"pls"`` (one PLS component: the covariance direction) or ``"ridge"``.
    crossed : hold the predicted stimulus out of the fit too (see the module docstring).
    alphas : ridge penalties (chosen by leave-one-out error on the training rows).

    Attributes
    ----------
    coef_ (F, D, P), intercept_ (F, 1, P): one read-out per fold (F = 1 when not crossed,
    else one per predictable stimulus) and per target column; test_ops_ (F, m, S);
    predicted_ (F, m) stimuli each fold predicts; classes_ (S,).
    """

    def __init__(
        self,
        model: Model = "pls",
        crossed: bool = False,
        alphas: tuple[float, ...] = DEFAULT_ALPHAS,
    ) -> None:
        self.model = model
        self.crossed = crossed
        self.alphas = alphas

    def fit(self, means: np.ndarray, positions: np.ndarray, classes: np.ndarray) -> ResidualReadout:
        """``means`` (S, D) validation stimulus means; ``positions`` (S,) or (S, P) targets."""
        self.classes_ = np.asarray(classes)
        train_ops, self.test_ops_, self.predicted_ = _residual_folds(self.classes_, self.crossed)
        x = train_ops @ np.asarray(means, float)
        y = train_ops @ _columns(positions)
        self.coef_, self.intercept_ = linear_weights(x, y, self.model, tuple(self.alphas))
        return self

    def predict(self, means: np.ndarray) -> np.ndarray:
        """(..., S, P) predicted residual positions of test means (..., S, D); NaN for stimuli
        no fold predicts."""
        residual = np.einsum("fms,...sd->...fmd", self.test_ops_, means)
        with single_threaded_blas():
            pred = residual @ self.coef_ + self.intercept_  # (..., F, m, P)
        out = np.full((*means.shape[:-2], self.classes_.size, pred.shape[-1]), np.nan)
        flat = (*pred.shape[:-3], self.predicted_.size, pred.shape[-1])
        out[..., self.predicted_.ravel(), :] = pred.reshape(flat)
        return out

    def score(self, means: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """(..., P) signed r between predictions and V-axis residuals over predicted stimuli."""
        target = within_class_residuals(_columns(positions), self.classes_)
        keep = np.unique(self.predicted_)
        pred = self.predict(means)[..., keep, :]
        return pearson(pred, np.broadcast_to(target[keep], pred.shape), axis=-2)


def residual_alignment(
    val_means: np.ndarray,
    test_means: np.ndarray,
    positions: np.ndarray,
    classes: np.ndarray,
    model: Model = "pls",
    crossed: bool = False,
) -> float:
    """Residual alignment of one checkpoint: direction from ``val_means``, r on ``test_means``
    (both (S, D) over the same stimuli, in the order of ``positions`` and ``classes``)."""
    readout = ResidualReadout(model, crossed).fit(val_means, positions, classes)
    return float(readout.score(test_means, positions)[0])


# ---------------------------------------------------------------------- stimulus probe
def stimulus_probe(
    means: np.ndarray,
    positions: np.ndarray,
    groups: np.ndarray | None = None,
    model: Model = "ridge",
    alphas: tuple[float, ...] = DEFAULT_ALPHAS,
) -> tuple[np.ndarray, np.ndarray]:
    """r (P,) and held-out predictions (S, P) of a linear probe from stimulus means (S, D).

    Each group of stimuli (default: each stimulus, i.e. leave-one-stimulus-out) is predicted by
    a fit on the other groups only; ``positions`` (S,) or (S, P) targets.
    """
    groups = np.arange(len(means)) if groups is None else np.asarray(groups)
    protocol = leave_groups_out(np.asarray(means, float), groups, "probe", "")
    targets = _columns(positions)
    pred = protocol.predict(targets, model, alphas)[0]
    return pearson(pred, targets, axis=0), pred


def _columns(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y[:, None] if y.ndim == 1 else y
