"""Cross-model agreement as one stage: `vaxis axis compare` and the study's ``models`` stage
run :func:`run` and print or keep its :class:`CompareReport`.

Each model gets its own V-axis (one build config, its ``model`` replaced:
:func:`vaxis.axis.compare.compare_models`); agreement is the Pearson r of two models' class
positions, and each model is correlated with a reference valence and put in the study's tier,
each with its permutation p over class labels (:mod:`vaxis.axis.agreement`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from vaxis.axis.build import AxisBuildConfig
from vaxis.axis.compare import (
    CONSISTENCY_FILE,
    HEATMAP_PLOT,
    TIERS_TEXT,
    ConsistencyReport,
    Positions,
    compare_models,
    mean_off_diagonal,
)
from vaxis.core.reported import Figure, Plot, Table, cell, figure_of
from vaxis.core.stage import parts_json

if TYPE_CHECKING:
    from vaxis.sweep.compute import Compute
    from vaxis.sweep.cost import PlannedJob

HEATMAP_TITLE = "agreement of class positions between models"


class CompareConfig(AxisBuildConfig):
    """One build config for every model, the models, the reference and the null."""

    #: two or more models, each as ``model`` accepts (``model`` itself is replaced by each)
    models: tuple[str, ...] = Field(min_length=2)
    #: a CSV ``class,valence``; None: the stories' a-priori class valence
    reference: str | None = None
    #: held-out class positions (each class placed by an axis fitted without it) or in-sample
    positions: Positions = "held_out"
    #: permutation draws where the test is not exact (more than 9 classes, the mean agreement)
    n_null: int = Field(default=1000, ge=1)
    seed: int = 0
    #: where ``consistency.json``, ``agreement.png`` and each model's axis (``axes/``) go
    out: Path


@dataclass
class CompareReport:
    """Agreement between the models' class positions and each against the reference (a
    StageReport)."""

    consistency: ConsistencyReport
    out: Path
    #: what the builds warned (e.g. a failed diagnosis)
    warnings: list[str]
    #: the texts are real; no EEG is read
    synthetic: bool = False

    def figures(self) -> dict[str, Figure]:
        """Each pair's agreement, their mean and each model against the reference, with p."""
        stats = self.consistency.stats
        return {s.name: f for s in stats if (f := figure_of(s, synthetic=False)) is not None}

    def tables(self) -> list[Table]:
        report, figures = self.consistency, self.figures()
        labels = [e.label for e in report.models]
        matrix = Table(
            title=f"agreement: Pearson r of {report.positions.replace('_', '-')} class "
            "positions between models",
            columns=["model", *labels],
            rows=[
                [label, *(cell(v, ".3f") for v in row)]
                for label, row in zip(labels, report.pearson, strict=True)
            ],
            note="each pair's p-value is among the figures (agreement r A vs B)",
        )
        rows = []
        for e in report.models:
            figure = figures.get(f"reference r {e.label}")
            rows.append(
                [
                    e.label,
                    f"{e.method}, layer {e.layer}",
                    "ok" if e.diagnosis_ok else "failed",
                    cell(e.reference_pearson, ".3f"),
                    "-" if figure is None or figure.p is None else f"{figure.p:.3g}",
                    e.tier,
                    e.model_note,
                ]
            )
        tiers = Table(
            title=f"each model against the {report.reference_source}",
            columns=["model", "axis", "diagnosis", "r", "p", "tier", "model note"],
            rows=rows,
            note=TIERS_TEXT,
        )
        return [matrix, tiers]

    def plots(self) -> list[Plot]:
        png = (self.out / HEATMAP_PLOT).resolve()
        svg = png.with_suffix(".svg")
        return [Plot(title=HEATMAP_TITLE, png=str(png), svg=str(svg) if svg.exists() else None)]

    def notes(self) -> list[str]:
        """The builds' warnings, the figures left out (undefined) and the mean agreement."""
        report = self.consistency
        notes = list(self.warnings)
        m = len(report.models)
        dropped = m * (m - 1) // 2 + 1 + m - len(self.figures())
        if dropped:
            notes.append(f"{dropped} undefined figure(s) (flat class positions) not reported")
        notes.append(
            f"mean off-diagonal Pearson {mean_off_diagonal(report.pearson):.3f}, Spearman "
            f"{mean_off_diagonal(report.spearman):.3f} "
            f"({report.positions.replace('_', '-')} positions)"
        )
        return notes

    def to_json(self) -> dict[str, Any]:
        """The report's parts and ``consistency.json``'s path."""
        return {**parts_json(self), "consistency": str(self.out / CONSISTENCY_FILE)}


def plan(config: CompareConfig) -> list[PlannedJob]:
    """No training jobs: each axis is fitted on hidden states, in one process."""
    return []


def run(
    config: CompareConfig,
    compute: Compute | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> CompareReport:
    """Build one axis per model (one at a time), correlate their class positions, write
    ``consistency.json`` and ``agreement.png``; the builds' warnings become notes.
    ``compute`` is not used: this stage trains nothing (one signature for every stage)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        consistency = compare_models(
            config.models,
            config.build_part(),
            config.out,
            reference=config.reference,
            positions=config.positions,
            progress=progress,
            overwrite=overwrite,
            n_null=config.n_null,
            seed=config.seed,
        )
    return CompareReport(consistency, config.out, [str(w.message) for w in caught])
