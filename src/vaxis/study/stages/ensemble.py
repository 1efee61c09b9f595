"""Stage ``ensemble``: the study's residual-diversity ensemble and its cascade, CPU-sized.

Members (axial transformers) are sweep jobs run on the ``[compute]`` executor; selections use
the validation subjects only; arms are compared over the test subjects (vaxis.ensemble.run).
The study's published figures stand beside ours, labelled "published, not run here".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from vaxis.core.reported import cell
from vaxis.study.config import StudyConfig
from vaxis.study.registry import Figure, StageResult, StudyContext, Table, stage
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path

if TYPE_CHECKING:
    from vaxis.ensemble.recipe import EnsembleConfig
    from vaxis.ensemble.report import Arm, EnsembleReport

ARM_COLUMNS = ["arm", "status", "pooled BA", "mean BA over test subjects", "95% CI", "members"]
PAIR_COLUMNS = ["comparison", "n", "delta BA", "95% CI", "p (Holm)", "verdict"]


def _interval(low: float, high: float) -> tuple[float, float] | None:
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None


def _arms(
    arms: list[Arm], title: str, report: EnsembleReport, published: bool
) -> tuple[dict[str, Figure], Table]:
    """One row and one figure (mean over test subjects, bootstrap CI) per arm; with
    ``published`` the study's figures follow, labelled as not run here."""
    from vaxis.ensemble.recipe import PUBLISHED, PUBLISHED_STATUS

    figures, rows = {}, []
    n = len(report.test_subjects)
    for arm in arms:
        mean, low, high = arm.interval()
        interval = _interval(low, high)
        rows.append(
            [
                arm.name,
                "run here",
                f"{arm.pooled:.4f}",
                f"{mean:.4f}",
                "-" if interval is None else f"[{low:.4f}, {high:.4f}]",
                str(len(arm.members)),
            ]
        )
        if interval is not None:
            figures[f"{title}: {arm.name}"] = Figure(
                value=mean,
                protocol=f"balanced accuracy per test subject ({report.protocol}), mean; 95% "
                f"percentile bootstrap over test subjects; {arm.rule or 'single member'}",
                n=n,
                ci=interval,
                ci_level=0.95,
                synthetic=report.synthetic,
            )
    if published:
        for name, value in PUBLISHED.get(report.dataset, {}).items():
            rows.append([name, PUBLISHED_STATUS, f"{value:.4f}", "-", "-", "-"])
    note = f"{n} test subjects; members chosen on {len(report.val_subjects)} validation subjects."
    if published:
        note += f" Published rows: the study's test subjects, {PUBLISHED_STATUS}."
    return figures, Table(title=title, columns=ARM_COLUMNS, rows=rows, note=note)


def _pairs(
    pairs: list[dict[str, Any]], title: str, synthetic: bool
) -> tuple[dict[str, Figure], Table]:
    """One row and one figure (paired delta over test subjects, BCa CI, Holm p) per pair."""
    figures, rows = {}, []
    for pair in pairs:
        name = f"{pair['a']} - {pair['b']}"
        interval = _interval(float(pair["ci_low"]), float(pair["ci_high"]))
        rows.append(
            [
                name,
                str(pair["n_subjects"]),
                cell(pair["mean_delta"], "+.4f"),
                "-" if interval is None else f"[{interval[0]:+.4f}, {interval[1]:+.4f}]",
                f"{pair['p_holm']:.3g}",
                str(pair["verdict"]),
            ]
        )
        figures[f"{title}: {name}"] = Figure(
            value=float(pair["mean_delta"]),
            protocol=f"{pair['interval']}; p: {pair['protocol']}",
            n=int(pair["n_subjects"]),
            ci=interval,
            ci_level=0.95 if interval else None,
            p=float(pair["p_holm"]),
            synthetic=synthetic,
        )
    return figures, Table(title=title, columns=PAIR_COLUMNS, rows=rows)


def ensemble_config(config: StudyConfig, context: StudyContext) -> EnsembleConfig:
    """The library config of the study's ``[stages.ensemble]`` (the stage and its plan use it)."""
    from vaxis.ensemble.recipe import EnsembleConfig

    settings = config.stages.ensemble
    hyper: dict[str, Any] = {"heads": settings.heads}
    if settings.channel_tokens is not None:
        hyper["channel_tokens"] = settings.channel_tokens
    return EnsembleConfig(
        cohort=cohort_path(config, context),
        positions=str(axis_dir(context)),
        **settings.model_dump(exclude={"enabled", "heads", "channel_tokens"}),
        hyper=hyper,
        **config.compute.executor_fields(),
        out=context.folder("ensemble"),
    )


@stage(
    "ensemble",
    "Residual-diversity ensemble and cascade",
    requires=("data", "axis"),
    uses=("stages.ensemble",),
    enabled=lambda config: config.stages.ensemble.enabled,
)
def ensemble(config: StudyConfig, context: StudyContext) -> StageResult:
    """Train the pool and the cascade (resumable), select on validation, compare on test."""
    from vaxis.ensemble.run import run_ensemble

    folder = context.folder("ensemble")
    report = run_ensemble(ensemble_config(config, context), progress=context.progress)
    arm_figures, arms = _arms(list(report.arms.values()), "ensembles", report, published=True)
    step_figures, steps = _arms(report.cascade, "cascade", report, published=False)
    pair_figures, pairs = _pairs(report.comparisons, "paired comparisons", report.synthetic)
    cascade_figures, cascade_pairs = _pairs(report.cascade_steps, "cascade steps", report.synthetic)
    plots = [
        context.plot("ensemble: the cascade, 95% CI over test subjects", folder / "cascade.png"),
        context.plot(
            "ensemble: leave-one-out contribution against residual alignment",
            folder / "loo_alignment.png",
        ),
    ]
    loo = report.loo_vs_alignment
    return StageResult(
        figures=arm_figures | pair_figures | step_figures | cascade_figures,
        tables=[arms, pairs, steps, cascade_pairs] if report.cascade else [arms, pairs],
        plots=[p for p in plots if (context.out / p.png).exists()],
        notes=[
            f"{len(report.members)} pool members, protocol {report.protocol}; sweep: "
            f"{report.sweep}; r(loo, residual alignment) = {cell(loo.get('r'), '+.2f')} "
            "(the study: 0.74, published, not run here)"
        ],
    )
