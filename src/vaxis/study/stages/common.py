"""Helpers the stages share: a library ``Stat`` as a study figure, a table of stats."""

from __future__ import annotations

import math

from vaxis.brain.report import Stat
from vaxis.study.registry import Figure, Table


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
