"""What one `vaxis align` run found (:class:`AlignReport`): the figures, tables, plots and notes
that the command prints and the study keeps, and the ``align.json`` record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaxis.core.effects import ComparisonRow, ComparisonTable
from vaxis.core.reported import Figure, Plot, Table, cell
from vaxis.core.stage import parts_json
from vaxis.sweep.runner import SweepSummary

REPORT_NAME = "align.json"
STUDY_TEST = "the study's test (paired t over seeds), for comparability"
SUBJECT_TEST = (
    "runs x test subjects (crossed t over per-run, per-subject balanced accuracy; "
    "subject-paired tests beside it)"
)
#: the forest plots (file stem, title), one per table
PLOTS = (
    ("forest_subjects", "interventions: forest plot, paired over test subjects"),
    ("forest_seeds", "interventions: forest plot, the study's paired t over seeds"),
)
COLUMNS = ["intervention", "n", "delta BA", "95% CI", "p ({correction})", "d_z", "verdict"]


@dataclass
class AlignReport:
    """What one `vaxis align` run found, and where it wrote it."""

    by_subject: ComparisonTable
    by_seed: ComparisonTable
    #: arm -> the weight of its extra loss (None: the baseline has none)
    weights: dict[str, float | None]
    test_subjects: tuple[int, ...]
    seeds: tuple[int, ...]
    protocol: str
    positions_source: str
    synthetic: bool
    sweep: SweepSummary
    #: the folder it wrote align.json and the forest plots to
    out: Path
    files: tuple[Path, ...]
    #: (arm, seed) -> the sweep job key of its run: exactly the runs this report compares
    #: (the store may keep runs of earlier settings; readers such as saturation use this list)
    runs: dict[tuple[str, int], str]

    def figures(self) -> dict[str, Figure]:
        """Delta balanced accuracy of every arm against the baseline, per table (its CI and
        corrected p of the primary test)."""
        return _figures(self.by_subject, SUBJECT_TEST, self.synthetic) | _figures(
            self.by_seed, STUDY_TEST, self.synthetic
        )

    def tables(self) -> list[Table]:
        return [_table(self.by_subject, SUBJECT_TEST), _table(self.by_seed, STUDY_TEST)]

    def plots(self) -> list[Plot]:
        """Both forest plots (absolute paths; the SVG where written)."""
        plots = []
        for stem, title in PLOTS:
            png, svg = (self.out / stem).with_suffix(".png"), (self.out / stem).with_suffix(".svg")
            shown = str(svg.resolve()) if svg.exists() else None
            plots.append(Plot(title=title, png=str(png.resolve()), svg=shown))
        return plots

    def notes(self) -> list[str]:
        return [
            f"positions: {self.positions_source}; protocol {self.protocol}; "
            f"{len(self.test_subjects)} test subjects, seeds {list(self.seeds)}"
        ]

    def to_json(self) -> dict[str, Any]:
        """The ``align.json`` record and the report's parts."""
        return self.to_dict() | parts_json(self)

    def to_dict(self) -> dict[str, object]:
        """The ``align.json`` record (saturation reads its ``runs``)."""
        return {
            "synthetic": self.synthetic,
            "protocol": self.protocol,
            "positions_source": self.positions_source,
            "n_test_subjects": len(self.test_subjects),
            "test_subjects": list(self.test_subjects),
            "n_seeds": len(self.seeds),
            "seeds": list(self.seeds),
            "weights": self.weights,
            "by_subject": {"label": SUBJECT_TEST, **self.by_subject.to_dict()},
            "by_seed": {"label": STUDY_TEST, **self.by_seed.to_dict()},
            "runs": [{"arm": a, "seed": s, "key": k} for (a, s), k in self.runs.items()],
        }


def _p(table: ComparisonTable, row: ComparisonRow) -> float:
    """The row's corrected p of the table's primary test."""
    p: float = getattr(row, f"p_{table.correction}")[table.primary]
    return p


def _figures(table: ComparisonTable, label: str, synthetic: bool) -> dict[str, Figure]:
    return {
        f"delta balanced accuracy {row.name} ({table.unit})": Figure(
            value=row.mean_delta,
            protocol=f"{label}: {table.protocol}; CI: {table.interval}; p: {table.primary}, "
            f"{table.correction}-corrected over {len(table.rows)} arms",
            n=row.n,
            ci=(row.ci_low, row.ci_high),
            ci_level=0.95,
            p=_p(table, row),
            synthetic=synthetic,
        )
        for row in table.rows
    }


def _table(table: ComparisonTable, label: str) -> Table:
    rows = [
        [
            row.name,
            str(row.n),
            cell(row.mean_delta),
            f"[{cell(row.ci_low)}, {cell(row.ci_high)}]",
            f"{_p(table, row):.3g}",
            cell(row.d_z, "+.2f"),
            row.verdict,
        ]
        for row in table.rows
    ]
    columns = [c.format(correction=table.correction) for c in COLUMNS]
    return Table(title=label, columns=columns, rows=rows, note=table.counts_line())
