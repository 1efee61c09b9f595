"""Leave-one-out contribution of each member, and how it tracks residual alignment.

A member's contribution is the ensemble's balanced accuracy minus that of the ensemble
without it (positive: the member helps). The study reports r = 0.74 between members'
contribution and their within-class residual alignment; :func:`correlate` gives Pearson r with
a bootstrap interval over members and a permutation p-value (n = the number of members, small:
read the interval, not the point).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from vaxis.ensemble.combine import ensemble_score


def loo_contributions(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(M,) uniform ensemble score minus the score without each member."""
    m = len(probs)
    if m < 2:
        raise ValueError("leave-one-out needs at least two members")
    full = ensemble_score(probs, y, list(range(m)))
    return np.array(
        [full - ensemble_score(probs, y, [j for j in range(m) if j != i]) for i in range(m)]
    )


@dataclass(frozen=True)
class Correlation:
    """Pearson r over members with its bootstrap interval and permutation p-value."""

    r: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    protocol: str

    def to_dict(self) -> dict[str, object]:
        return {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in asdict(self).items()
        }


def _pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """r of each row pair (..., n); NaN where a row is constant."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((xc**2).sum(axis=-1) * (yc**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(axis=-1) / den, np.nan)


def correlate(
    x: np.ndarray, y: np.ndarray, n_boot: int = 5000, n_perm: int = 5000, seed: int = 0
) -> Correlation:
    """Pearson r of ``x`` and ``y`` (members with NaN dropped), percentile bootstrap 95% CI
    over members and a two-sided permutation p-value, (1 + b) / (1 + N)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = int(x.size)
    protocol = f"Pearson r over {n} members; bootstrap over members, permutation p"
    if n < 3:
        return Correlation(math.nan, math.nan, math.nan, math.nan, n, protocol)
    r = float(_pearson(x, y))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_boot, n))
    boot = _pearson(x[draws], y[draws])
    low, high = np.nanquantile(boot, [0.025, 0.975]) if np.isfinite(boot).any() else (math.nan,) * 2
    perms = np.argsort(rng.random((n_perm, n)), axis=1)
    null = np.abs(_pearson(np.broadcast_to(x, (n_perm, n)), y[perms]))
    p = (
        (1 + int(np.count_nonzero(null >= abs(r) - 1e-12))) / (1 + n_perm)
        if math.isfinite(r)
        else math.nan
    )
    return Correlation(r, float(low), float(high), float(p), n, protocol)
