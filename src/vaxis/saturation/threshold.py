r"""Where does an auxiliary V-axis loss stop helping? (The saturation threshold.)

The study's regularity: docs/REFERENCE.md sec. 1.7.

Input: one pair per (checkpoint, intervention): ``x`` the baseline checkpoint's balanced
accuracy, ``delta`` the change in balanced accuracy from adding the intervention's loss.
Model: ordinary least squares ``delta = a + b x``; the **threshold** is the crossing
``x0 = -a / b``, where the fitted change turns from positive to negative (b < 0).

Uncertainty: a bootstrap over *groups* (by default each pair its own group; pass the baseline
checkpoint as the group, so that the pairs sharing one baseline are resampled together). The
interval of the slope and of the crossing are percentile intervals of the resampled fits (the
crossing's over the draws with b != 0: draws with a nearly flat line put it far away, so a
weak relation gives a wide interval). A **transition** is reported only when the slope's
interval lies below 0 *and* the crossing lies inside the observed range of ``x``.

Caution (regression to the mean): when ``x`` is the baseline's score on the same subjects as
``delta`` (``delta = arm - x``), the noise of ``x`` enters ``delta`` with the opposite sign and
makes the slope negative with no effect at all. Use a baseline score measured on other
subjects (the validation subjects) for ``x``; :mod:`vaxis.saturation.stage` does so
by default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdEstimate:
    """The fitted line, its crossing of zero and their bootstrap intervals."""

    n: int  # pairs
    n_groups: int
    intercept: float
    slope: float
    slope_ci: tuple[float, float]
    crossing: float  # -intercept / slope (NaN for a flat line)
    crossing_ci: tuple[float, float]
    x_range: tuple[float, float]
    transition: bool
    confidence: float
    n_boot: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (NaN becomes None)."""

        def clean(value: object) -> object:
            if isinstance(value, tuple):
                return [clean(v) for v in value]
            return None if isinstance(value, float) and math.isnan(value) else value

        return {key: clean(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class Correlation:
    """Pearson r between two paired variables with a group-bootstrap interval."""

    r: float
    ci: tuple[float, float]
    n: int
    confidence: float

    def to_dict(self) -> dict[str, object]:
        return {"r": self.r, "ci": list(self.ci), "n": self.n, "confidence": self.confidence}


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """OLS intercept and slope (NaN slope when x is constant)."""
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (y - y.mean())) / sxx if sxx > 0 else math.nan
    return float(y.mean() - slope * x.mean()), slope


def _draws(groups: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    """Row indices of ``n_boot`` group-bootstrap resamples."""
    ids, codes = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(codes == g) for g in range(ids.size)]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, ids.size, size=(n_boot, ids.size))
    return [np.concatenate([members[g] for g in row]) for row in picks]


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def _pairs(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    groups = np.arange(x.size) if groups is None else np.asarray(groups)
    if x.ndim != 1 or x.shape != y.shape or groups.shape != x.shape:
        raise ValueError("x, y (and groups) must be 1-D arrays of the same length")
    if x.size < 3 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"need at least 3 finite pairs, got {x.size}")
    if np.unique(groups).size < 2:
        raise ValueError("the bootstrap needs at least 2 groups")
    return x, y, groups


def estimate_threshold(
    x: np.ndarray,
    delta: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ThresholdEstimate:
    """Fit ``delta = a + b x`` and locate its zero crossing (module docstring)."""
    x, y, groups = _pairs(x, delta, groups)
    intercept, slope = _line(x, y)
    slopes, crossings = [], []
    for rows in _draws(groups, n_boot, seed):
        a, b = _line(x[rows], y[rows])
        slopes.append(b)
        crossings.append(-a / b if b != 0 and math.isfinite(b) else math.nan)
    slope_ci = _interval(np.array(slopes), confidence)
    crossing = -intercept / slope if slope != 0 and math.isfinite(slope) else math.nan
    x_range = (float(x.min()), float(x.max()))
    transition = bool(slope_ci[1] < 0 and x_range[0] <= crossing <= x_range[1])
    return ThresholdEstimate(
        n=x.size,
        n_groups=int(np.unique(groups).size),
        intercept=intercept,
        slope=slope,
        slope_ci=slope_ci,
        crossing=float(crossing),
        crossing_ci=_interval(np.array(crossings), confidence),
        x_range=x_range,
        transition=transition,
        confidence=confidence,
        n_boot=n_boot,
    )


def correlation(
    a: np.ndarray,
    b: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Correlation:
    """Pearson r of ``a`` and ``b`` with a percentile group-bootstrap interval."""
    a, b, groups = _pairs(a, b, groups)

    def r(rows: np.ndarray) -> float:
        u, v = a[rows] - a[rows].mean(), b[rows] - b[rows].mean()
        norm = math.sqrt(float(u @ u) * float(v @ v))
        return min(1.0, max(-1.0, float(u @ v) / norm)) if norm > 0 else math.nan

    draws = np.array([r(rows) for rows in _draws(groups, n_boot, seed)])
    return Correlation(r(np.arange(a.size)), _interval(draws, confidence), a.size, confidence)
