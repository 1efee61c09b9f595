"""Stage ``align``: V-axis interventions against a plain baseline, with paired statistics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.core.reported import cell
from vaxis.study.config import StudyConfig
from vaxis.study.registry import Figure, StageResult, StudyContext, Table, stage
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path

if TYPE_CHECKING:
    from vaxis.align.run import AlignConfig
    from vaxis.core.effects import ComparisonTable


def _table(table: ComparisonTable, label: str, synthetic: bool) -> tuple[dict[str, Figure], Table]:
    """Figures (delta balanced accuracy, CI, corrected p of the primary test) and a table."""
    figures, rows = {}, []
    correction = f"p_{table.correction}"
    for row in table.rows:
        p = getattr(row, correction)[table.primary]
        figures[f"delta balanced accuracy {row.name} ({table.unit})"] = Figure(
            value=row.mean_delta,
            protocol=f"{label}: {table.protocol}; CI: {table.interval}; p: {table.primary}, "
            f"{table.correction}-corrected over {len(table.rows)} arms",
            n=row.n,
            ci=(row.ci_low, row.ci_high),
            ci_level=0.95,
            p=p,
            synthetic=synthetic,
        )
        rows.append(
            [
                row.name,
                str(row.n),
                cell(row.mean_delta),
                f"[{cell(row.ci_low)}, {cell(row.ci_high)}]",
                f"{p:.3g}",
                cell(row.d_z, "+.2f"),
                row.verdict,
            ]
        )
    columns = [
        "intervention",
        "n",
        "delta BA",
        "95% CI",
        f"p ({table.correction})",
        "d_z",
        "verdict",
    ]
    return figures, Table(title=label, columns=columns, rows=rows, note=table.counts_line())


def _epoch_probe(config: StudyConfig) -> str:
    """Part of align's cache check: per-epoch probes are recorded while saturation is on (and
    nothing changes while it is off)."""
    return "epoch_probe" if config.stages.saturation.enabled else ""


def align_config(config: StudyConfig, context: StudyContext) -> AlignConfig:
    """The library config of the study's ``[stages.align]`` (the stage and its plan use it)."""
    from vaxis.align.run import AlignConfig

    settings = config.stages.align
    return AlignConfig(
        cohort=cohort_path(config, context),
        positions=str(axis_dir(context)),
        decoder=settings.decoder,
        hyper=settings.hyper,
        epochs=settings.epochs,
        seeds=settings.seeds,
        interventions=settings.interventions,
        protocol=settings.protocol,
        correction=settings.correction,
        precision=settings.precision,
        tf32=settings.tf32,
        smoke=settings.smoke,
        **config.compute.executor_fields(),
        epoch_probe=config.stages.saturation.enabled,
        source_cohort=None if settings.source_cohort is None else Path(settings.source_cohort),
        out=context.folder("align"),
    )


@stage(
    "align",
    "Alignment interventions",
    requires=("data", "axis"),
    uses=("stages.align",),
    fingerprint=_epoch_probe,
)
def align(config: StudyConfig, context: StudyContext) -> StageResult:
    """Train the baseline and each intervention over the seeds; compare per subject and seed."""
    from vaxis.align.run import STUDY_TEST, SUBJECT_TEST, run_align

    folder = context.folder("align")
    report = run_align(align_config(config, context), progress=context.progress)
    by_subject, subject_table = _table(report.by_subject, SUBJECT_TEST, report.synthetic)
    by_seed, seed_table = _table(report.by_seed, STUDY_TEST, report.synthetic)
    return StageResult(
        figures=by_subject | by_seed,
        tables=[subject_table, seed_table],
        plots=[
            context.plot(
                "interventions: forest plot, paired over test subjects",
                folder / "forest_subjects.png",
            ),
            context.plot(
                "interventions: forest plot, the study's paired t over seeds",
                folder / "forest_seeds.png",
            ),
        ],
        notes=[
            f"positions: {report.positions_source}; protocol {report.protocol}; "
            f"{len(report.test_subjects)} test subjects, seeds {list(report.seeds)}"
        ],
    )
