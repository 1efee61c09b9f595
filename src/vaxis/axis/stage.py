"""The V-axis as one stage: build it, validate it zero-shot, and return the stage report (what
the study's ``axis`` stage keeps).

The stage folder holds the axis folder (``axis/``, :func:`vaxis.axis.build.build_axis`) and
its validation (``validation/``, :func:`vaxis.axis.validate.validate_axis`); every plot is
written as PNG and SVG.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaxis.axis import plots
from vaxis.axis.axis import VAxis
from vaxis.axis.build import CLASS_PLOT, LAYER_PLOT, AxisBuildConfig, build_axis
from vaxis.axis.lm import keep_loaded
from vaxis.axis.settings import ValidationSettings
from vaxis.axis.validate import (
    CURVES_PLOT,
    VALIDATION_FILE,
    ValidationReport,
    curve_panels,
    protocol,
    validate_axis,
)
from vaxis.core.reported import Figure, Plot, Table, cell
from vaxis.core.stage import parts_json

if TYPE_CHECKING:
    from vaxis.sweep.compute import Compute
    from vaxis.sweep.cost import PlannedJob

AXIS_DIR, VALIDATION_DIR = "axis", "validation"
ZERO_SHOT_COLUMNS = [
    "corpus",
    "metric",
    "n",
    "axis",
    "95% CI",
    "null p95 / p99",
    "p",
    "lexicon",
    "probe (CV ceiling)",
    "probe after ablation",
]


class AxisStageConfig(ValidationSettings, AxisBuildConfig):
    """A V-axis build, its zero-shot validation, and the stage folder they are written to."""

    #: the stage folder: the axis in ``out/axis``, its validation in ``out/validation``
    out: Path

    @property
    def axis_dir(self) -> Path:
        return self.out / AXIS_DIR

    @property
    def validation_dir(self) -> Path:
        return self.out / VALIDATION_DIR


def zero_shot_figures(report: ValidationReport) -> dict[str, Figure]:
    """``zero-shot <metric> <corpus>`` at the axis layer, with n, 95% CI and null p."""
    words = protocol(report.settings["n_null"], report.settings["n_boot"])
    figures = {}
    for corpus in report.corpora:
        for r in (r for r in corpus.results if r.axis_layer):
            figures[f"zero-shot {r.metric} {corpus.name}"] = Figure(
                value=r.value if r.value == r.value else None,
                protocol=f"zero-shot {r.metric} at the axis layer {r.layer} (chosen from the "
                f"stories) on {corpus.name}; {words[r.metric]}; CI: {words['ci95']}; null: "
                f"{words['null']}",
                n=r.n,
                ci=r.ci95,
                ci_level=0.95,
                p=r.p_value,
                synthetic=False,
            )
    return figures


def zero_shot_table(report: ValidationReport) -> Table:
    """One row per corpus and metric at the axis layer, beside the lexicon and the probe."""
    rows = []
    for corpus in report.corpora:
        for r in (r for r in corpus.results if r.axis_layer):
            ablated = corpus.ablation if r.metric == "auroc" else None
            rows.append(
                [
                    corpus.name,
                    r.metric,
                    str(r.n),
                    cell(r.value, ".3f"),
                    f"{cell(r.ci95[0], '.3f')}-{cell(r.ci95[1], '.3f')}",
                    f"{cell(r.null.p95, '.3f')} / {cell(r.null.p99, '.3f')}",
                    f"{r.p_value:.4f}",
                    cell(corpus.baseline(r.metric, "VADER"), ".3f"),
                    cell(corpus.baseline(r.metric, "probe"), ".3f"),
                    cell(ablated.probe_after if ablated else None, ".3f"),
                ]
            )
    return Table(
        title=f"zero-shot validation at the axis layer {report.axis['layer']} (chosen from the "
        "stories)",
        columns=ZERO_SHOT_COLUMNS,
        rows=rows,
        note=f"weights: {report.model_note}",
    )


def corpus_notes(report: ValidationReport) -> list[str]:
    """What the validation says about single corpora (a skipped baseline or metric)."""
    return [f"{corpus.name}: {note}" for corpus in report.corpora for note in corpus.notes]


def class_table(axis: VAxis) -> Table:
    """The classes from low to high on the axis, and the diagnosis's verdict."""
    positions = axis.class_positions_[axis.layer_]
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    rows = [[axis.class_names_[i], f"{positions[i]:+.3f}"] for i in order]
    diagnosis = axis.diagnosis_
    verdict = "orders the classes by valence" if diagnosis.ok else "NOT a valence ordering"
    return Table(
        title=f"class positions on the V-axis ({axis.method_}, layer {axis.layer_})",
        columns=["class", "position"],
        rows=rows,
        note=f"diagnosis: held-out Spearman {diagnosis.spearman:.2f}, {verdict}",
    )


@dataclass
class AxisReport:
    """The built axis, its zero-shot validation, and what the build warned (a StageReport)."""

    axis: VAxis
    validation: ValidationReport
    axis_dir: Path
    validation_dir: Path
    #: the build's warnings (e.g. a failed diagnosis)
    warnings: list[str]
    #: the texts are real; no EEG is read
    synthetic: bool = False

    def figures(self) -> dict[str, Figure]:
        return zero_shot_figures(self.validation)

    def tables(self) -> list[Table]:
        return [zero_shot_table(self.validation), class_table(self.axis)]

    def plots(self) -> list[Plot]:
        files = (
            ("V-axis: held-out class ordering per layer", self.axis_dir / LAYER_PLOT),
            ("V-axis: class positions at the chosen layer", self.axis_dir / CLASS_PLOT),
            (
                "zero-shot validation per layer (against random directions)",
                self.validation_dir / CURVES_PLOT,
            ),
        )
        return [
            Plot(title=title, png=str(png.resolve()), svg=str(png.with_suffix(".svg").resolve()))
            for title, png in files
        ]

    def notes(self) -> list[str]:
        return [*self.warnings, *corpus_notes(self.validation)]

    def provenance(self) -> dict[str, Any]:
        """The model's identity and the axis's settings (results.json's ``model`` and ``axis``)."""
        report = self.validation
        return {"model": {**report.model, "note": report.model_note}, "axis": report.axis}

    def to_json(self) -> dict[str, Any]:
        """The report's parts, the provenance and the folders written."""
        return {
            **parts_json(self),
            **self.provenance(),
            "axis_dir": str(self.axis_dir),
            "validation": str(self.validation_dir / VALIDATION_FILE),
        }


def plan(config: AxisStageConfig) -> list[PlannedJob]:
    """No training jobs: the axis is fitted on hidden states, in one process."""
    return []


def run(
    config: AxisStageConfig, compute: Compute | None = None, progress: bool = True
) -> AxisReport:
    """Build the axis (replacing an earlier one in the folder), validate it on the configured
    corpora against a random-direction null, and draw every plot as PNG and SVG.
    ``compute`` is not used: this stage trains nothing (one signature for every stage)."""
    folder, validation = config.axis_dir, config.validation_dir
    with keep_loaded():  # the model is read once, for the stories and the rated texts
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            axis = build_axis(config.build_part(), folder, progress=progress, overwrite=True)
        report = validate_axis(
            folder,
            config.validation_data,
            max_items=config.max_items or None,
            n_null=config.n_null,
            n_boot=config.n_boot,
            seed=config.seed,
            out_dir=validation,
            progress=progress,
        )
    note = report.model_note
    plots.class_positions(axis, (folder / CLASS_PLOT).with_suffix(".svg"), note)
    plots.layer_scores(axis, (folder / LAYER_PLOT).with_suffix(".svg"), note)
    plots.layer_curves(curve_panels(report), (validation / CURVES_PLOT).with_suffix(".svg"), note)
    return AxisReport(
        axis=axis,
        validation=report,
        axis_dir=folder,
        validation_dir=validation,
        warnings=[str(w.message) for w in caught],
    )
