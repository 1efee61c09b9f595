"""A reported number that carries its protocol: what was held out, n, CI or p, and its null.

Every figure vaxis prints or saves is a :class:`Stat`, so an in-sample number can never appear
without the word "in-sample" beside it, and an honest one never without its p-value or CI.
Generic on purpose: later stages (alignment, saturation) report with the same record.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class NullSummary:
    """A null distribution in three numbers: what it is, how many draws, mean and 95th pct."""

    kind: str
    n: int
    mean: float
    q95: float

    @classmethod
    def of(cls, kind: str, values: np.ndarray) -> NullSummary:
        """Summary of ``values`` (NaN mean and quantile when there are none)."""
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            return cls(kind, 0, math.nan, math.nan)
        return cls(kind, int(values.size), float(np.mean(values)), float(np.quantile(values, 0.95)))


@dataclass(frozen=True)
class Stat:
    """One figure: value, the protocol that produced it, its n, and CI / p / null if any."""

    name: str
    value: float
    protocol: str
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    p_value: float | None = None
    null: NullSummary | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None: JSON has no NaN)."""
        return _finite(asdict(self))

    def describe(self) -> str:
        """One line: value, n, CI, p, null mean."""
        parts = [f"{self.value:+.3f}" if math.isfinite(self.value) else "n/a", f"n={self.n}"]
        if self.ci_low is not None and self.ci_high is not None:
            parts.append(
                f"{100 * (self.ci_level or 0.95):g}% CI [{self.ci_low:+.2f}, {self.ci_high:+.2f}]"
            )
        if self.p_value is not None:
            parts.append(f"p={self.p_value:.3g}")
        if self.null is not None:
            parts.append(f"null mean {self.null.mean:+.2f} (q95 {self.null.q95:+.2f})")
        return ", ".join(parts)


def permutation_p(observed: float, null: np.ndarray) -> float:
    """One-sided p = (1 + #{null >= observed}) / (1 + n): never 0, exact under exchangeability."""
    null = np.asarray(null, dtype=float)
    return float((1 + np.count_nonzero(null >= observed)) / (1 + null.size))


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_ready(value: Any) -> Any:
    """Arrays to lists, NaN to None, recursively (for ``json.dumps(..., allow_nan=False)``)."""
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.generic):
        return _finite(value.item())
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, Stat):
        return value.to_dict()
    return _finite(value)
