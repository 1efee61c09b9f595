"""A stage report in the terminal: what every command prints after ``run(config)``.

The same parts (:class:`vaxis.core.stage.StageReport`) go into the study's results.json and
report.html, so a command and the study never disagree about a stage's results.
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from vaxis.console import SYNTHETIC_BANNER, console
from vaxis.core.reported import Figure, Table
from vaxis.core.stage import StageReport


def rich_table(table: Table) -> RichTable:
    """One report table as a rich table (its note as the caption)."""
    shown = RichTable(title=escape(table.title), caption=escape(table.note) or None)
    for column in table.columns:
        shown.add_column(escape(column))
    for row in table.rows:
        shown.add_row(*(escape(cell) for cell in row))
    return shown


def figure_line(name: str, figure: Figure) -> str:
    """``name: value (n, CI, p) - protocol`` on one line."""
    value = (
        "n/a" if figure.value is None or not math.isfinite(figure.value) else f"{figure.value:+.3f}"
    )
    parts = [f"n={figure.n}"]
    if figure.ci is not None:
        level = 100 * (figure.ci_level or 0.95)
        parts.append(f"{level:g}% CI [{figure.ci[0]:+.3f}, {figure.ci[1]:+.3f}]")
    if figure.p is not None:
        parts.append(f"p={figure.p:.3g}")
    return f"{name}: {value} ({', '.join(parts)}) - {figure.protocol}"


def print_report(report: StageReport, out: Console | None = None, figures: bool = False) -> None:
    """Tables, then (with ``figures``) every figure on a line, then notes and plot files;
    the synthetic banner first when the data were generated."""
    out = out or console
    if report.synthetic:
        out.print(SYNTHETIC_BANNER)
    for table in report.tables():
        out.print(rich_table(table))
    if figures:
        for name, figure in report.figures().items():
            out.print(escape(figure_line(name, figure)))
    for note in report.notes():
        out.print(escape(note))
    for plot in report.plots():
        out.print(f"plot: {escape(plot.png)}")
