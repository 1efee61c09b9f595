"""Optional post-processing of feature cohorts, as in the official FACED DE pipeline.

Every (channel, band) cell is one feature. Three steps, each returning a new cohort and
appending a record to ``meta.provenance["postprocessing"]``:

* :func:`subject_zscore` - z-score each subject's features over that subject's own samples
  (uses no labels and nothing from other subjects).
* :class:`RunningNormalizer` - the official running normalisation: each subject's samples in
  presentation order are normalised by a mean/variance that starts at statistics learned from
  the *training subjects only* and drifts towards the subject's own running statistics with
  weight ``1 - decay**k`` at the k-th sample.
* :func:`lds_smooth` - the official "LDS smoothing": a scalar Kalman filter per feature along
  the windows of each (subject, stimulus), initialised at that sequence's mean. It is a forward
  filter (not a Rauch-Tung-Striebel smoother), but the initial state uses the whole sequence,
  so it is not causal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vaxis.data.cohort import Cohort
from vaxis.errors import DataFormatError


def subject_zscore(cohort: Cohort, eps: float = 1e-8) -> Cohort:
    """Per subject and feature: ``(x - mean) / sqrt(var + eps)`` over the subject's samples."""
    x = _features(cohort, "subject z-score")
    out = np.empty_like(x)
    for subject in cohort.subjects:
        rows = cohort.subject == subject
        out[rows] = (x[rows] - x[rows].mean(axis=0)) / np.sqrt(x[rows].var(axis=0) + eps)
    return _with_features(cohort, out, {"step": "subject_zscore", "eps": eps})


class RunningNormalizer:
    """Running normalisation in presentation order (FACED official code, decay 0.990).

    ``fit`` learns the initial statistics from the training cohort it is given, and only from
    it: ``mean_`` is the average over training subjects of each subject's feature mean, and
    ``var_`` the average of each subject's feature variance (``ddof=0``). ``transform`` then
    walks each subject's samples in presentation order; at the k-th sample (k = 0, 1, ...)
    it uses ``m_k = w mean_ + (1 - w) rm_k`` and ``v_k = w var_ + (1 - w) rv_k`` with
    ``w = decay**k``, where ``rm_k``/``rv_k`` are the mean/variance of the subject's samples
    0..k, and outputs ``(x_k - m_k) / sqrt(v_k + eps)``.

    Parameters
    ----------
    decay : float
        Per-sample decay of the weight on the training statistics.
    eps : float
        Added to the variance before the square root.
    """

    def __init__(self, decay: float = 0.990, eps: float = 1e-5) -> None:
        self.decay = decay
        self.eps = eps

    def fit(self, train: Cohort) -> RunningNormalizer:
        """Learn ``mean_`` and ``var_`` from ``train`` (pass only the training subjects)."""
        x = _features(train, "running normalisation (fit)")
        subjects = train.subjects
        if subjects.size == 0:
            raise ValueError("cannot fit a running normaliser on an empty cohort")
        means = np.stack([x[train.subject == s].mean(axis=0) for s in subjects])
        variances = np.stack([x[train.subject == s].var(axis=0) for s in subjects])
        self.mean_ = means.mean(axis=0)
        self.var_ = variances.mean(axis=0)
        self.subjects_ = subjects
        return self

    def transform(
        self, cohort: Cohort, presentation: Mapping[int, Sequence[int]] | None = None
    ) -> Cohort:
        """Normalise every subject of ``cohort``.

        ``presentation`` maps a subject to its stimuli in the order they were shown (FACED:
        the ``vid`` field of ``After_remarks.mat``); without it (or for a subject not in it)
        samples are taken in stimulus-index order. Windows of a stimulus are taken in order.
        """
        if not hasattr(self, "mean_"):
            raise ValueError("RunningNormalizer is not fitted; call fit(train_cohort) first")
        x = _features(cohort, "running normalisation")
        if x.shape[1] != self.mean_.size:
            raise ValueError(f"fitted on {self.mean_.size} features, cohort has {x.shape[1]}")
        out = np.empty_like(x)
        for subject in cohort.subjects:
            rows = np.flatnonzero(cohort.subject == subject)
            order = rows[_presentation_order(cohort, rows, presentation, int(subject))]
            out[order] = self._normalise_sequence(x[order])
        record = {
            "step": "running_norm",
            "decay": self.decay,
            "eps": self.eps,
            "fit_subjects": [int(s) for s in self.subjects_],
            "presentation_order": "given" if presentation is not None else "stimulus index",
        }
        return _with_features(cohort, out, record)

    def _normalise_sequence(self, x: np.ndarray) -> np.ndarray:
        count = np.arange(1, len(x) + 1)[:, None]
        running_mean = np.cumsum(x, axis=0) / count
        running_var = np.maximum(np.cumsum(x**2, axis=0) / count - running_mean**2, 0.0)
        weight = (self.decay ** np.arange(len(x)))[:, None]
        mean = weight * self.mean_ + (1 - weight) * running_mean
        var = weight * self.var_ + (1 - weight) * running_var
        return (x - mean) / np.sqrt(var + self.eps)


def lds_smooth(
    cohort: Cohort,
    v0: float = 0.01,
    a: float = 1.0,
    t: float = 1e-4,
    c: float = 1.0,
    sigma: float = 1.0,
) -> Cohort:
    """Kalman-filter each feature along the windows of every (subject, stimulus).

    State model ``z_i = a z_(i-1) + N(0, t)``, observation ``x_i = c z_i + N(0, sigma)``,
    prior ``z ~ N(u0, v0)`` with ``u0`` the sequence mean (official FACED/SEED settings). The
    gain depends only on the position in the sequence, so all sequences are filtered together.
    """
    x = _features(cohort, "LDS smoothing")
    record = {"step": "lds_smooth", "v0": v0, "a": a, "t": t, "c": c, "sigma": sigma}
    if not len(x):
        return _with_features(cohort, x, record)
    # rows sorted by (subject, stimulus, window); `first` marks each sequence's first row
    order = np.lexsort((cohort.window, cohort.stimulus, cohort.subject))
    key = np.stack([cohort.subject[order], cohort.stimulus[order]], axis=1)
    first = np.ones(len(order), dtype=bool)
    first[1:] = (key[1:] != key[:-1]).any(axis=1)
    sequence = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    position = np.arange(len(order)) - starts[sequence]
    xs = x[order]
    prior_mean = np.add.reduceat(xs, starts, axis=0) / np.diff(np.append(starts, len(xs)))[:, None]
    smoothed = np.empty_like(xs)
    prior_var = v0
    for i in range(int(position.max()) + 1):
        rows = np.flatnonzero(position == i)
        previous = prior_mean[sequence[rows]] if i == 0 else a * smoothed[rows - 1]
        gain = prior_var * c / (c * prior_var * c + sigma)
        smoothed[rows] = previous + gain * (xs[rows] - c * previous)
        prior_var = a * (1 - gain * c) * prior_var * a + t
    out = np.empty_like(x)
    out[order] = smoothed
    return _with_features(cohort, out, record)


# ---------------------------------------------------------------------------- internals
def _features(cohort: Cohort, step: str) -> np.ndarray:
    """The cohort's data as float64 (samples, channels * bands); refuses raw or non-finite."""
    if cohort.meta.kind != "features":
        raise ValueError(f"{step} needs a feature cohort, got kind={cohort.meta.kind!r}")
    n_features = int(np.prod(cohort.data.shape[1:]))
    x = cohort.data.reshape(cohort.n_samples, n_features).astype(np.float64)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise DataFormatError(
            None,
            f"{step}: {bad} non-finite feature values (an all-zero channel gives DE = -inf)",
            "drop or repair the affected channels/samples before normalising",
        )
    return x


def _presentation_order(
    cohort: Cohort,
    rows: np.ndarray,
    presentation: Mapping[int, Sequence[int]] | None,
    subject: int,
) -> np.ndarray:
    """Positions that sort ``rows`` by (presentation rank of stimulus, window)."""
    stimuli = cohort.stimulus[rows]
    rank = stimuli
    if presentation is not None and subject in presentation:
        shown = list(presentation[subject])
        missing = sorted(set(stimuli.tolist()) - set(shown))
        if missing:
            raise ValueError(f"presentation order of subject {subject} lacks stimuli {missing}")
        lookup = {stimulus: i for i, stimulus in enumerate(shown)}
        rank = np.array([lookup[s] for s in stimuli.tolist()])
    return np.lexsort((cohort.window[rows], rank))


def _with_features(cohort: Cohort, flat: np.ndarray, record: dict[str, Any]) -> Cohort:
    provenance = dict(cohort.meta.provenance)
    provenance["postprocessing"] = [*provenance.get("postprocessing", []), record]
    data = flat.reshape(cohort.data.shape).astype(cohort.data.dtype)
    return cohort.with_data(data, provenance=provenance)
