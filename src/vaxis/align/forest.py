"""Forest plot of a comparison table: one row per intervention, mean delta with its interval.

Marker and colour show the verdict (better / no difference / worse after correction); the
title names the primary test, the pairing unit and n; the caption sets our counts beside the
study's published 0 / 9 / 16. Built without pyplot (no global state, no display needed).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from vaxis.core.effects import VERDICTS, ComparisonTable

STYLE = {  # verdict -> (marker, colour)
    "better": ("^", "#1f618d"),
    "no difference": ("o", "#7f8c8d"),
    "worse": ("v", "#b03a2e"),
}


def plot_forest(table: ComparisonTable, title: str = "") -> Figure:
    """Mean delta (intervention - baseline) with interval per row; top row = first intervention."""
    rows = table.rows
    fig = Figure(figsize=(7.5, 0.32 * len(rows) + 2.0))
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    for row, pos in zip(rows, y, strict=True):
        marker, colour = STYLE[row.verdict]
        ax.plot([row.ci_low, row.ci_high], [pos, pos], color=colour, lw=1.5)
        ax.plot(row.mean_delta, pos, marker=marker, color=colour, ms=7, ls="")
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_yticks(y, [row.name for row in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("mean delta (intervention - baseline)")
    heading = f"{title}\n" if title else ""
    ax.set_title(
        f"{heading}{table.protocol}; {table.correction} at alpha {table.alpha:g}", fontsize=9
    )
    legend = [
        Line2D([], [], marker=STYLE[v][0], color=STYLE[v][1], ls="", label=f"{v} ({count})")
        for v, count in zip(VERDICTS, table.counts(), strict=True)
    ]
    ax.legend(handles=legend, fontsize=7, loc="best")
    caption = f"Bars: {table.interval}.\n{table.counts_line()}"
    fig.text(0.01, 0.005, caption, fontsize=6.5, color="#555555", wrap=True)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig
