"""Stage ``zoo``: train a decoder zoo (sweep ``train`` jobs), then probe it for the V-axis.

The probe is the study's rediscovery: class-PC1 alignment and within-class residual alignment
of every checkpoint with the V-axis, against random-direction and shuffled-label nulls, and
their correlation with balanced accuracy across checkpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from vaxis.core.reported import cell, figure_of
from vaxis.study.config import StudyConfig
from vaxis.study.registry import Figure, StageResult, StudyContext, StudyError, Table, stage
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path

if TYPE_CHECKING:
    from vaxis.probe.report import ProbeReport
    from vaxis.sweep import Job

PROBE_DIR, SWEEP_DIR = "probe", "sweep"


def plan_jobs(config: StudyConfig, cohort: Path, task: str) -> dict[str, Job]:
    """Label (decoder/regime[/variant]/seed) -> sweep job; the shuffled-label null is labelled
    so. Without recipe variants a job's params are those of the zoo's settings alone."""
    from vaxis.decoders import SKLEARN_DECODERS
    from vaxis.decoders.chance import DEFAULT_REFITS
    from vaxis.sweep import make_job
    from vaxis.sweep.jobs import split_params

    settings = config.stages.zoo
    base = split_params(cohort, settings.protocol, 0, task)
    jobs = {}
    for decoder in settings.decoders:
        for regime in ("plain",) if decoder in SKLEARN_DECODERS else settings.regimes:
            for variant in settings.variants or (None,):
                for seed in settings.seeds:
                    train: dict[str, object] = {"decoder": decoder, "epochs": settings.epochs}
                    label = f"{decoder}/{regime}"
                    if variant is not None and decoder not in SKLEARN_DECODERS:
                        train |= {"epochs": variant.epochs or settings.epochs}
                        train |= {"lr": variant.lr} if variant.lr is not None else {}
                        train |= {"hyper": variant.hyper} if variant.hyper else {}
                        label += f"/{variant.name}"
                    train["seed"] = seed
                    train |= settings.numeric_params()
                    chance = {"refits": DEFAULT_REFITS}  # the test of _accuracy_figures
                    params = {**base, "regime": regime, "train": train, "chance": chance}
                    jobs[f"{label}/seed{seed}"] = make_job("train", params)
    torch_decoders = [d for d in settings.decoders if d not in SKLEARN_DECODERS]
    if settings.shuffled_null and torch_decoders:
        train = {
            "decoder": torch_decoders[0],
            "epochs": settings.epochs,
            "seed": settings.seeds[0],
            "shuffle_labels": True,
            **settings.numeric_params(),
        }
        label = f"{torch_decoders[0]}/shuffled-labels/seed{settings.seeds[0]}"
        jobs[label] = make_job("train", {**base, "train": train})
    return jobs


def _accuracy_figures(
    results: dict[str, dict[str, Any]], chance: float, synthetic: bool
) -> tuple[dict[str, Figure], Table]:
    """Per decoder and regime: test balanced accuracy per subject (mean over seeds), with a
    t interval over test subjects and the test against chance at the unit of the claim
    (:mod:`vaxis.decoders.chance`; seeds combined), never a t over subjects against 1/K."""
    from vaxis.decoders.chance import ChanceTest, combine

    groups: dict[str, list[dict[str, Any]]] = {}
    for label, result in results.items():
        if "shuffled" not in label:
            groups.setdefault(label.rsplit("/", 1)[0], []).append(result)
    figures, rows = {}, []
    for name, runs in groups.items():
        per_seed = [run["test"]["per_subject_balanced_accuracy"] for run in runs]
        subjects = sorted(per_seed[0])
        values = np.array([np.mean([seed[s] for seed in per_seed]) for s in subjects])
        mean, n = float(values.mean()), values.size
        tested = None
        if all("chance" in run for run in runs):
            tested = combine([ChanceTest.from_dict(run["chance"]) for run in runs])
        p = None if tested is None else tested.p
        ci = None
        if n > 1 and np.ptp(values) > 0:
            low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=stats.sem(values))
            ci = (float(low), float(high))
        test = "not recorded (run older than the test)" if tested is None else tested.describe()
        units = "-" if tested is None else f"{tested.n_test_units} {tested.unit}s"
        rows.append(
            [
                name,
                str(len(runs)),
                str(n),
                units,
                f"{mean:.3f}",
                "-" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]",
                "-" if p is None else f"{p:.3g}",
                "-" if tested is None else tested.kind,
            ]
        )
        if ci is None and p is None:
            continue  # no interval and no test: shown, not a figure
        figures[f"test balanced accuracy {name}"] = Figure(
            value=mean,
            protocol=f"balanced accuracy per held-out test subject, mean over {len(runs)} "
            f"seed(s); t 95% CI over {n} test subjects (conditional on the test clips); "
            f"{test}; nominal chance 1/K = {chance:.3f} (not the null)",
            n=n,
            ci=ci,
            ci_level=None if ci is None else 0.95,
            p=p,
            synthetic=synthetic,
        )
    columns = [
        "decoder/regime",
        "seeds",
        "test subjects",
        "test units",
        "balanced accuracy",
        "95% CI",
        "p (> chance, per unit)",
        "chance test",
    ]
    note = (
        "p: permutation test at the unit labels are assigned to (clips; categories for a "
        "coarser target), never a t over subjects against 1/K. refit: decoder refitted on "
        "permuted clip labels; predictions: held-out clips relabelled, the trained model kept; "
        "none: test clips were seen in training and the decoder is not refitted."
    )
    return figures, Table(
        title="decoder zoo: test balanced accuracy", columns=columns, rows=rows, note=note
    )


def _rediscovery(report: ProbeReport, names: dict[str, str]) -> tuple[dict[str, Figure], Table]:
    """The rediscovery table (one row per checkpoint) and the probe's reportable figures."""
    from vaxis.probe.nulls import MEASURES

    figures = {
        f"probe {s.name}": f
        for s in report.across.values()
        if (f := figure_of(s, report.synthetic)) is not None
    }
    rows = []
    for probe in report.checkpoints:
        label = names.get(probe.name.split("/")[-1], probe.name)
        row = [label, f"{probe.balanced_accuracy:.3f}"]
        for key, (measure, _) in MEASURES.items():
            stat = probe.stats.get(key)
            p = [t.p_value for t in probe.nulls.get(key, [])]
            row.append(
                "-" if stat is None else cell(stat.value) + (f" (p {p[0]:.3g})" if p else "")
            )
            if stat is not None and (f := figure_of(stat, report.synthetic)) is not None:
                figures[f"probe {measure} {label}"] = f
        rows.append(row)
    columns = ["checkpoint", "balanced accuracy", *(label for label, _ in MEASURES.values())]
    note = (
        "p: against the first null of each measure (all nulls: probe/probe.json). The study's "
        "figures (published, not run here): class-PC1 alignment 0.60-0.77 over 36 "
        "checkpoints; r(balanced accuracy, class-PC1) 0.885, r(.., residual) 0.738."
    )
    return figures, Table(
        title="rediscovery: the V-axis inside trained decoders",
        columns=columns,
        rows=rows,
        note=note,
    )


@stage(
    "zoo",
    "Decoder zoo and rediscovery (probing)",
    requires=("data", "axis"),
    uses=("stages.zoo",),
)
def zoo(config: StudyConfig, context: StudyContext) -> StageResult:
    """Train the zoo through a resumable sweep, then probe every checkpoint."""
    from vaxis.axis.positions import resolve_positions
    from vaxis.data.cohort import load_meta
    from vaxis.data.datasets import DATASETS
    from vaxis.decoders.units import default_task
    from vaxis.probe.nulls import ProbeConfig
    from vaxis.probe.report import probe_runs, write_report
    from vaxis.sweep import ResultStore, run_sweep

    settings, path, folder = config.stages.zoo, cohort_path(config, context), context.folder("zoo")
    meta = load_meta(path)
    task = default_task(meta.dataset)
    jobs = plan_jobs(config, path, task)
    store = ResultStore(folder / SWEEP_DIR)
    executor = config.compute.make()
    summary = run_sweep(list(jobs.values()), store, executor, progress=context.progress)
    if problem := summary.unfinished():
        raise StudyError(f"zoo: {problem}")
    results = {label: store.get(job.key())["result"] for label, job in jobs.items()}  # type: ignore[index]
    chance = 1 / len(DATASETS[meta.dataset].classes)
    figures, accuracy = _accuracy_figures(results, chance, bool(meta.synthetic))
    positions = resolve_positions(str(axis_dir(context)), path, meta.dataset)
    probe_config = ProbeConfig(n_null=settings.probe_nulls, n_bootstrap=settings.probe_bootstrap)
    planned = [store.work_dir(job.key()) for job in jobs.values()]  # never older runs
    report = probe_runs(store.root / "work", positions, probe_config, only=planned)
    write_report(report, folder / PROBE_DIR)
    names = {job.key(): label for label, job in jobs.items()}
    probe_figures, rediscovery = _rediscovery(report, names)
    plots = [
        context.plot(
            "rediscovery: alignment per checkpoint",
            folder / PROBE_DIR / "alignment_per_checkpoint.png",
        ),
        context.plot(
            "rediscovery: alignment against balanced accuracy",
            folder / PROBE_DIR / "alignment_vs_accuracy.png",
        ),
    ]
    return StageResult(
        figures=figures | probe_figures,
        tables=[accuracy, rediscovery],
        plots=[p for p in plots if (context.out / p.png).exists()],
        notes=report.notes,
    )
