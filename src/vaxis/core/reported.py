"""A reported number that carries its protocol: what was held out, n, CI or p, and its null.

Every figure vaxis prints or saves is a :class:`Stat` (the library's record, with its null)
or, in a report, a :class:`Figure` (the same number with the synthetic flag, which refuses to
exist without a CI or a p-value), so an in-sample number can never appear without the word
"in-sample" beside it, and an honest one never without its p-value or CI. :class:`Table` and
:class:`Plot` are the other parts of a report; :func:`json_ready` is the one JSON sanitiser.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class Figure(BaseModel):
    """One reported number: value, protocol, n, and a CI or a p-value (at least one)."""

    model_config = ConfigDict(frozen=True)

    value: float | None  # None: undefined (e.g. a constant score); JSON has no NaN
    protocol: str
    n: int = Field(ge=0)
    ci: tuple[float, float] | None = None
    ci_level: float | None = None
    p: float | None = None
    synthetic: bool
    note: str = ""

    @model_validator(mode="after")
    def _ci_or_p(self) -> Figure:
        if self.ci is None and self.p is None:
            raise ValueError("a reported figure needs a CI or a p-value")
        return self


class Table(BaseModel):
    """A table for the report (cells already formatted)."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


class Plot(BaseModel):
    """A figure file a stage wrote: the PNG (embedded in the report) and its SVG if any."""

    title: str
    png: str  # path relative to the study's out folder
    svg: str | None = None


def figure_of(stat: Stat, synthetic: bool) -> Figure | None:
    """``stat`` as a :class:`Figure`, or None when it has neither CI nor p (not reportable)."""
    ci = None if stat.ci_low is None or stat.ci_high is None else (stat.ci_low, stat.ci_high)
    if ci is None and stat.p_value is None:
        return None
    finite = math.isfinite(stat.value)
    return Figure(
        value=stat.value if finite else None,
        protocol=stat.protocol,
        n=stat.n,
        ci=ci,
        ci_level=stat.ci_level if ci else None,
        p=stat.p_value,
        synthetic=synthetic,
        note=stat.note,
    )


def cell(value: float | None, fmt: str = "+.3f") -> str:
    """A table cell: '-' for missing, 'n/a' for NaN."""
    if value is None:
        return "-"
    return format(value, fmt) if math.isfinite(value) else "n/a"


def stats_table(title: str, stats: list[Stat], note: str = "") -> Table:
    """One row per stat: value, n, CI, p, protocol."""
    rows = [
        [
            s.name,
            cell(s.value),
            str(s.n),
            "" if s.ci_low is None else f"[{cell(s.ci_low)}, {cell(s.ci_high)}]",
            "" if s.p_value is None else f"{s.p_value:.3g}",
            s.protocol,
        ]
        for s in stats
    ]
    return Table(
        title=title, columns=["figure", "value", "n", "CI", "p", "protocol"], rows=rows, note=note
    )
