"""Rank statistics for zero-shot scores, a random-direction null and bootstrap intervals.

Every statistic works on one score vector ``(n,)`` or on many at once ``(n, m)`` (one column per
candidate direction or resample), so a null of 1,000 directions is one matrix product and one
ranking, not 1,000 Python calls.

- AUROC is the Mann-Whitney form ``(R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`` with mid-ranks
  for ties, equal to :func:`sklearn.metrics.roc_auc_score`.
- The random-direction null projects the states on unit directions drawn uniformly on the sphere
  (normalised Gaussian vectors). Its values are *signed*: the axis's sign was fixed on the stories
  before any evaluation text was seen, so it is compared with signed random directions (whose
  AUROC is symmetric about 0.5), never with ``max(AUROC, 1 - AUROC)``.
- The empirical p-value is ``(1 + #{null >= observed}) / (1 + N)`` (Phipson & Smyth 2010), never 0.
- Bootstrap intervals resample texts with replacement (within each class for AUROC, so both
  classes keep their sizes) and take the 2.5th and 97.5th percentiles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import rankdata

from vaxis.core.reported import permutation_p

Metric = Literal["auroc", "spearman"]
NULL_QUANTILES = (1, 5, 50, 95, 99)
_BLOCK = 250  # resamples ranked at once: bounds memory to (n, 250) floats


def auroc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUROC of ``scores`` (n,) or (n, m) for binary ``labels`` (n,): higher means positive."""
    positive = np.asarray(labels).astype(bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both positive and negative labels")
    ranks = rankdata(np.asarray(scores, dtype=float), axis=0)
    return (ranks[positive].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def spearman(scores: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Spearman correlation of each column of ``scores`` with ``target`` (same shape, or (n,)).

    NaN where a column (or the target) is constant.
    """
    rs = rankdata(np.asarray(scores, dtype=float), axis=0)
    rt = rankdata(np.asarray(target, dtype=float), axis=0)
    if rt.ndim < rs.ndim:
        rt = rt[:, None]
    rs -= rs.mean(axis=0)
    rt -= rt.mean(axis=0)
    den = np.sqrt((rs**2).sum(axis=0) * (rt**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rs * rt).sum(axis=0) / den, np.nan)


def score(scores: np.ndarray, target: np.ndarray, metric: Metric) -> np.ndarray:
    """``auroc`` (binary target) or ``spearman`` (continuous target) by name."""
    if metric == "auroc":
        return auroc(scores, target)
    if metric == "spearman":
        return spearman(scores, target)
    raise ValueError(f"unknown metric {metric!r}; choose 'auroc' or 'spearman'")


def random_directions(width: int, n: int, seed: int = 0) -> np.ndarray:
    """(width, n) unit columns drawn uniformly on the sphere (seeded; the first k columns do
    not depend on n)."""
    if n < 1:
        raise ValueError(f"need at least one random direction, got {n}")
    gauss = np.random.default_rng(seed).standard_normal((n, width)).T
    return gauss / np.linalg.norm(gauss, axis=0)


@dataclass(frozen=True)
class NullSummary:
    """Distribution of a metric over random unit directions, and where the axis falls in it."""

    n: int
    mean: float
    sd: float
    quantiles: dict[str, float]  # "p1", "p5", "p50", "p95", "p99"
    observed: float
    p_value: float  # (1 + #{null >= observed}) / (1 + n)

    @property
    def p95(self) -> float:
        return self.quantiles["p95"]

    @property
    def p99(self) -> float:
        return self.quantiles["p99"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def direction_null(
    states: np.ndarray,
    target: np.ndarray,
    metric: Metric,
    observed: float,
    directions: np.ndarray,
) -> NullSummary:
    """Score (n, d) ``states`` projected on each (d, N) unit ``directions`` column."""
    values = score(np.asarray(states, dtype=float) @ directions, target, metric)
    values = values[np.isfinite(values)]
    quantiles = np.percentile(values, NULL_QUANTILES)
    return NullSummary(
        n=len(values),
        mean=float(values.mean()),
        sd=float(values.std(ddof=1)),
        quantiles={f"p{q}": float(v) for q, v in zip(NULL_QUANTILES, quantiles, strict=True)},
        observed=float(observed),
        p_value=permutation_p(observed, values),
    )


def _resamples(target: np.ndarray, metric: Metric, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) row indices: stratified by label for AUROC, plain otherwise."""
    rng = np.random.default_rng(seed)
    n = len(target)
    if metric != "auroc":
        return rng.integers(0, n, size=(n_boot, n))
    parts = [np.flatnonzero(target == value) for value in (1, 0)]
    return np.hstack([g[rng.integers(0, len(g), size=(n_boot, len(g)))] for g in parts])


def bootstrap(
    scores: np.ndarray, target: np.ndarray, metric: Metric, n_boot: int = 1000, seed: int = 0
) -> np.ndarray:
    """(n_boot,) values of ``metric`` on texts resampled with replacement (see module doc)."""
    scores, target = np.asarray(scores, dtype=float), np.asarray(target)
    index = _resamples(target, metric, n_boot, seed)
    out = np.empty(n_boot)
    for start in range(0, n_boot, _BLOCK):
        rows = index[start : start + _BLOCK].T  # (n, block)
        # stratified AUROC resamples share one label layout (positives first)
        labels = target[rows[:, 0]] if metric == "auroc" else target[rows]
        out[start : start + _BLOCK] = score(scores[rows], labels, metric)
    return out


def bootstrap_ci(
    scores: np.ndarray,
    target: np.ndarray,
    metric: Metric,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric`` (NaN resamples, e.g. constant, skipped)."""
    values = bootstrap(scores, target, metric, n_boot, seed)
    if np.isnan(values).all():  # e.g. constant scores: no interval
        return float("nan"), float("nan")
    tail = 50 * (1 - level)
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)
