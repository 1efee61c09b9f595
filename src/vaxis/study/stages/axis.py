"""Stage ``axis``: build the V-axis of the language model and validate it zero-shot."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.study.config import StudyConfig
from vaxis.study.registry import Figure, StageResult, StudyContext, Table, stage
from vaxis.study.stages.data import dataset_of

if TYPE_CHECKING:
    from vaxis.axis.axis import VAxis
    from vaxis.axis.build import AxisBuildConfig
    from vaxis.axis.validate import ValidationReport

AXIS_DIR, VALIDATION_DIR = "axis", "validation"
#: the config the axis depends on (not ``model.compare``: listing models rebuilds nothing)
AXIS_USES = ("model.name", "model.gguf_file", "model.cache_dir", "stages.axis")


def axis_dir(context: StudyContext) -> Path:
    """The axis folder the stage writes (other stages read positions from it)."""
    return context.folder("axis") / AXIS_DIR


def build_config(config: StudyConfig) -> AxisBuildConfig:
    """The library's build config of the study's ``[model]`` and ``[stages.axis]``."""
    from vaxis.axis.build import AxisBuildConfig

    settings = config.stages.axis
    return AxisBuildConfig.model_validate(
        {
            "model": config.model.name,
            "dataset": dataset_of(config),
            "gguf_file": config.model.gguf_file,
            "cache_dir": config.model.cache_dir,
            "stories": settings.stories,
            "method": settings.method,
            "layer": settings.layer,
            "recipe": settings.recipe,
        }
    )


def _build(config: StudyConfig, out: Path, progress: bool) -> tuple[VAxis, list[str]]:
    """Build the axis; warnings (e.g. a failed diagnosis) are returned as notes."""
    from vaxis.axis.build import build_axis

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        axis = build_axis(build_config(config), out, progress=progress, overwrite=True)
    return axis, [str(w.message) for w in caught]


def _svg_copies(axis: VAxis, report: ValidationReport, folder: Path, validation: Path) -> None:
    """SVG versions of the build's and validation's PNG plots (same drawing code)."""
    from vaxis.axis import plots
    from vaxis.axis.build import CLASS_PLOT, LAYER_PLOT
    from vaxis.axis.validate import CURVES_PLOT, curve_panels

    note = report.model_note
    plots.class_positions(axis, (folder / CLASS_PLOT).with_suffix(".svg"), note)
    plots.layer_scores(axis, (folder / LAYER_PLOT).with_suffix(".svg"), note)
    plots.layer_curves(curve_panels(report), (validation / CURVES_PLOT).with_suffix(".svg"), note)


def _figures(report: ValidationReport) -> tuple[dict[str, Figure], Table]:
    from vaxis.axis.validate import protocol

    settings = report.settings
    words = protocol(settings["n_null"], settings["n_boot"])
    figures, rows = {}, []
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
            rows.append(
                [
                    corpus.name,
                    r.metric,
                    str(r.n),
                    f"{r.value:.3f}",
                    f"{r.ci95[0]:.3f}-{r.ci95[1]:.3f}",
                    f"{r.null.p95:.3f} / {r.null.p99:.3f}",
                    f"{r.p_value:.4f}",
                    _fmt(corpus.baseline(r.metric, "VADER")),
                    _fmt(corpus.baseline(r.metric, "probe")),
                ]
            )
    table = Table(
        title=f"zero-shot validation at the axis layer {report.axis['layer']}",
        columns=[
            "corpus",
            "metric",
            "n",
            "axis",
            "95% CI",
            "null p95 / p99",
            "p",
            "lexicon",
            "probe (CV ceiling)",
        ],
        rows=rows,
        note=report.model_note,
    )
    return figures, table


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _class_table(axis: VAxis) -> Table:
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


@stage(
    "axis",
    "V-axis and zero-shot validation",
    uses=AXIS_USES,
    fingerprint=dataset_of,  # the class set of the stories follows the EEG dataset
)
def axis(config: StudyConfig, context: StudyContext) -> StageResult:
    """Build the V-axis (per layer) and validate it on human-rated text against a null."""
    from vaxis.axis.build import CLASS_PLOT, LAYER_PLOT
    from vaxis.axis.validate import CURVES_PLOT, validate_axis

    folder, validation = axis_dir(context), context.folder("axis") / VALIDATION_DIR
    built, notes = _build(config, folder, context.progress)
    settings = config.stages.axis
    report = validate_axis(
        folder,
        settings.validation_data,
        max_items=settings.max_items or None,
        n_null=settings.n_null,
        n_boot=settings.n_boot,
        seed=settings.seed,
        out_dir=validation,
        progress=context.progress,
    )
    _svg_copies(built, report, folder, validation)
    figures, table = _figures(report)
    plots = [
        context.plot("V-axis: held-out class ordering per layer", folder / LAYER_PLOT),
        context.plot("V-axis: class positions at the chosen layer", folder / CLASS_PLOT),
        context.plot(
            "zero-shot validation per layer (against random directions)", validation / CURVES_PLOT
        ),
    ]
    return StageResult(
        figures=figures,
        tables=[table, _class_table(built)],
        plots=plots,
        notes=notes,
        provenance={"model": {**report.model, "note": report.model_note}, "axis": report.axis},
    )
