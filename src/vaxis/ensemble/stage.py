"""`vaxis ensemble` as a library call: train the members, combine, select, compare, report.

1. Every member (pool: seeds x epoch counts at the recipe's depth and regime; cascade: every
   seed at the first epoch count for each earlier step; Path B: V-axis-trained members) is a
   sweep job in ``out/sweep`` (resumable, content-keyed; nothing is trained twice).
2. Selections use the *validation* subjects' predictions only (:mod:`.selection`): best single,
   same-size seed ensemble, residual-diverse selection (and its diversity weighting); the
   uniform ensemble of the whole pool is the study's.
3. Every arm is scored on the test subjects; pairs of arms are compared over test subjects
   (:mod:`.report`); members' leave-one-out contribution is correlated with their residual
   alignment (:mod:`.loo`); the cascade shows each step's gain.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from vaxis.data.cohort import Cohort
from vaxis.data.sources import as_cohort_file
from vaxis.data.splits import split_fold
from vaxis.decoders.units import default_task
from vaxis.ensemble.combine import average_probs, balanced_accuracy, per_subject_balanced_accuracy
from vaxis.ensemble.diversity import (
    Method,
    class_residuals,
    member_residual_alignment,
    pairwise_diversity,
)
from vaxis.ensemble.loo import correlate, loo_contributions
from vaxis.ensemble.members import Part, load_part, stack_probs
from vaxis.ensemble.recipe import EnsembleConfig, member_name
from vaxis.ensemble.report import REPORT_NAME, Arm, EnsembleReport, paired_family
from vaxis.ensemble.selection import Selection, select_members
from vaxis.sweep import Job, ResultStore, make_executor, make_job, run_sweep
from vaxis.sweep.compute import Compute, placed
from vaxis.sweep.cost import CohortParts, PlannedJob, Rates, plan_rows
from vaxis.sweep.jobs import split_params

if TYPE_CHECKING:
    from vaxis.core.positions import StimulusPositions

Parts = dict[str, tuple[Part, Part]]  # member name -> (validation, test)
#: member name -> job of the pool, of each cascade step (step -> members), of Path B
Members = tuple[dict[str, Job], dict[str, dict[str, Job]], dict[str, Job]]


def plan(config: EnsembleConfig, rates: Rates | None = None) -> list[PlannedJob]:
    """Every member :func:`run` trains for ``config`` (pool, cascade, Path B; a member
    shared by two is listed once), and its cost; trains nothing. ``rates``: FLOP/s here and on
    a GPU (default: a short calibration of this machine)."""
    config, cohort, _, jobs = _prepare(config)
    return plan_rows(
        every_member(*jobs), "ensemble", CohortParts(cohort), rates or Rates.measured(),
        checkpointing=config.checkpoint_activations,
    )  # fmt: skip


def _prepare(config: EnsembleConfig) -> tuple[EnsembleConfig, Cohort, StimulusPositions, Members]:
    """The config on a checked cohort file (NaN policy applied once; an official folder read
    once into ``out/data``: the jobs load the cohort by path), the cohort, its positions and
    the jobs (what the run and its plan share)."""
    from vaxis.axis.positions import resolve_positions

    given = config.cohort  # a synthetic cohort's truth lies beside the file the user named
    cohort_file, cohort = as_cohort_file(config.cohort, config.out / "data", config.nan_policy)
    config = config.model_copy(update={"cohort": cohort_file})
    _check_split(cohort, config)
    positions = resolve_positions(config.positions, given, cohort.meta.dataset)
    jobs = plan_jobs(config, cohort.meta.dataset, positions.model_dump(mode="json"))
    return config, cohort, positions, jobs


def run(
    config: EnsembleConfig, compute: Compute | None = None, progress: bool = False
) -> EnsembleReport:
    """Train what is missing in ``config.out/sweep``, then analyse and write ``ensemble.json``;
    ``compute``: where the members train (None: the config's executor and device fields)."""
    config, cohort, positions, (pool, cascade, path_b) = _prepare(placed(config, compute))
    every = every_member(pool, cascade, path_b)
    store = ResultStore(config.out / "sweep")
    executor = make_executor(
        config.executor, config.workers, config.ray_address, **config.executor_options()
    )
    summary = run_sweep(list(every.values()), store, executor, progress=progress)
    if problem := summary.unfinished():
        raise RuntimeError(f"ensemble members: {problem}")
    parts = {name: _parts(store, job) for name, job in every.items()}
    first_val, first_test = parts[next(iter(pool))]
    subjects = np.unique(first_test.subject)
    aligned = positions.aligned(np.unique(first_val.stimulus))
    arms, comparisons, members, diversity, loo = _analyse(config, pool, parts, subjects, aligned)
    steps = _cascade(config, cascade, parts, subjects, arms["uniform ensemble"])
    b_report = _path_b(config, pool, path_b, parts, subjects, arms["uniform ensemble"])
    record = store.get(next(iter(pool.values())).key())
    result = record["result"] if record else {}
    report = EnsembleReport(
        synthetic=bool(cohort.meta.synthetic),
        dataset=cohort.meta.dataset,
        protocol=str(result.get("protocol", config.protocol)),
        test_subjects=tuple(int(s) for s in subjects),
        val_subjects=tuple(int(s) for s in np.unique(first_val.subject)),
        arms=arms,
        comparisons=comparisons,
        cascade=steps[0],
        cascade_steps=steps[1],
        members=members,
        diversity=diversity,
        loo_vs_alignment=loo,
        path_b=b_report,
        config=config.model_dump(mode="json"),
        sweep={
            "total": summary.total,
            "already_done": summary.already_done,
            "trained": summary.succeeded,
        },
    )
    config.out.mkdir(parents=True, exist_ok=True)
    from vaxis.ensemble.plots import write_plots

    report.files = [config.out / REPORT_NAME, *write_plots(report, config.out)]
    (config.out / REPORT_NAME).write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    return report


def _check_split(cohort: Cohort, config: EnsembleConfig) -> None:
    """Fail before training without validation subjects or with fewer than 2 test subjects."""
    split = split_fold(cohort, config.protocol, config.fold)
    if "subject" not in split.disjoint_by or split.held_out_stimuli:
        raise ValueError(
            f"protocol {config.protocol!r} holds out stimuli: residual alignment compares the "
            "same stimuli in validation and test subjects; use a subject-disjoint protocol"
        )
    n_test = np.unique(cohort.subject[split.test]).size
    if n_test < 2 or split.val.size == 0:
        raise ValueError(
            f"protocol {config.protocol!r} gives {n_test} test subject(s) and "
            f"{np.unique(cohort.subject[split.val]).size} validation subjects in {config.cohort}: "
            "selection needs validation subjects and pairing needs at least 2 test subjects"
        )


def plan_jobs(config: EnsembleConfig, dataset: str, positions: dict[str, Any]) -> Members:
    """Member name -> sweep job of the pool (recipe order: epoch counts, then seeds), of each
    cascade step and of Path B, on a cohort of ``dataset`` (``positions``: a StimulusPositions
    record, read by Path B only). The one job builder: the run and ``vaxis study --plan`` use it;
    a member shared by the cascade and the pool has one key."""
    from vaxis.decoders.experiment import REGIMES

    task = config.task
    if task == "auto":
        task = default_task(dataset)
    base = split_params(config.cohort, config.protocol, config.fold, task)

    if config.path_b:
        import vaxis.align.jobs  # noqa: F401  (registers the ``align`` job kind)

    def train(depth: int, regime: str, epochs: int, seed: int) -> Job:
        params = {**base, "regime": regime, "train": config.train_params(depth, epochs, seed)}
        return make_job("train", params)

    pool = {
        member_name(config.depth, config.regime, e, s): train(config.depth, config.regime, e, s)
        for e in config.epochs
        for s in config.seeds
    }
    e0 = config.epochs[0]
    cascade = {
        step.name: {
            member_name(step.depth, step.regime, e0, s): train(step.depth, step.regime, e0, s)
            for s in config.seeds
        }
        for step in (config.steps() if config.cascade else [])
    }
    regime = {
        k: v.model_dump(mode="json") if hasattr(v, "model_dump") else v
        for k, v in REGIMES[config.regime].items()
    }
    path_b = {
        f"V:{arm}-s{s}": make_job(
            "align",
            {
                **base,
                "positions": positions,
                "arm": arm,
                "train": {**config.train_params(config.depth, e0, s), **regime},
            },
        )
        for arm in config.path_b
        for s in config.seeds
    }
    return pool, cascade, path_b


def every_member(
    pool: dict[str, Job], cascade: dict[str, dict[str, Job]], path_b: dict[str, Job]
) -> dict[str, Job]:
    """Member name -> job of all three, one entry per name (a cascade member that is also in
    the pool has the same name and key)."""
    return {**pool, **{n: j for step in cascade.values() for n, j in step.items()}, **path_b}


def _parts(store: ResultStore, job: Job) -> tuple[Part, Part]:
    work = store.work_dir(job.key())
    return load_part(work, "val"), load_part(work, "test")


def _arm(
    name: str,
    parts: list[Part],
    subjects: np.ndarray,
    selection: Selection | None,
    names: list[str],
) -> Arm:
    """Score the (weighted) average of ``parts`` on the test subjects."""
    weights = np.asarray(selection.weights) if selection else None
    pred = average_probs(stack_probs(parts), weights).argmax(axis=1)
    y, subject = parts[0].y, parts[0].subject
    return Arm(
        name=name,
        per_subject=per_subject_balanced_accuracy(y, pred, subject, subjects),
        pooled=balanced_accuracy(y, pred),
        members=tuple(names),
        weights=tuple(selection.weights) if selection else (1 / len(names),) * len(names),
        rule=selection.rule if selection else "uniform softmax average",
    )


def _analyse(
    config: EnsembleConfig,
    pool: dict[str, Job],
    parts: Parts,
    subjects: np.ndarray,
    positions: np.ndarray,
) -> tuple[
    dict[str, Arm],
    list[dict[str, object]],
    list[dict[str, object]],
    dict[str, Any],
    dict[str, Any],
]:
    names = list(pool)
    val = [parts[n][0] for n in names]
    test = [parts[n][1] for n in names]
    chosen, diversity, val_scores = select_members(
        stack_probs(val),
        [p.features for p in val],
        val[0].y,
        config.k,
        config.diversity,
        config.rank,
    )
    arms = {"uniform ensemble": _arm("uniform ensemble", test, subjects, None, names)}
    for sel in chosen.values():
        picked = [names[i] for i in sel.members]
        arms[sel.name] = _arm(sel.name, [test[i] for i in sel.members], subjects, sel, picked)
    u = arms["uniform ensemble"]
    b, s, dv, w = (arms[chosen[r].name] for r in ("best single", "seed", "diverse", "weighted"))
    pairs = [(u, b), (dv, u), (dv, s), (dv, b), (w, dv)]
    alignment = np.array(
        [
            member_residual_alignment(v.table(), t.table(), positions)
            for v, t in zip(val, test, strict=True)
        ]
    )
    loo = loo_contributions(stack_probs(test), test[0].y)
    members: list[dict[str, object]] = [
        {
            "name": n,
            "val_balanced_accuracy": float(val_scores[i]),
            "test_balanced_accuracy": float(balanced_accuracy(test[i].y, test[i].probs.argmax(1))),
            "residual_alignment": None if np.isnan(alignment[i]) else float(alignment[i]),
            "loo_contribution": float(loo[i]),
        }
        for i, n in enumerate(names)
    ]
    corr: dict[str, Any] = correlate(loo, alignment).to_dict()
    corr["published"] = {"r": 0.74, "status": "published, not run here"}
    corr["note"] = (
        "residual alignment: the study's protocol (direction fitted on validation subjects, "
        "r on test subjects); loo: uniform ensemble balanced accuracy on test minus without it"
    )
    other: Method = "angles" if config.diversity == "cka" else "cka"
    residuals = [class_residuals(p.features, p.y) for p in val]
    div = {
        "method": config.diversity,
        "rank": config.rank,
        "members": names,
        "matrix": diversity.round(6).tolist(),
        f"matrix_{other}": pairwise_diversity(residuals, other, config.rank).round(6).tolist(),
        "data": "validation subjects' within-class residual features",
    }
    return arms, paired_family(pairs, config.alpha), members, div, corr


def _cascade(
    config: EnsembleConfig,
    cascade: dict[str, dict[str, Job]],
    parts: Parts,
    subjects: np.ndarray,
    ensemble: Arm,
) -> tuple[list[Arm], list[dict[str, object]]]:
    """Each step's per-subject balanced accuracy averaged over its seeds, then the ensemble;
    consecutive steps compared over test subjects (Holm across the steps)."""
    if not cascade:
        return [], []
    steps = []
    for name, jobs in cascade.items():
        scores = [_arm(m, [parts[m][1]], subjects, None, [m]) for m in jobs]
        steps.append(
            Arm(
                name=name,
                per_subject=np.mean([a.per_subject for a in scores], axis=0),
                pooled=float(np.mean([a.pooled for a in scores])),
                members=tuple(jobs),
                rule=f"single members, mean over {len(jobs)} seeds",
            )
        )
    steps.append(ensemble)
    return steps, paired_family(list(zip(steps[1:], steps[:-1], strict=True)), config.alpha)


def _path_b(
    config: EnsembleConfig,
    pool: dict[str, Job],
    path_b: dict[str, Job],
    parts: Parts,
    subjects: np.ndarray,
    ensemble: Arm,
) -> dict[str, Any] | None:
    """The uniform ensemble with V-axis-trained members added, against the plain one."""
    if not path_b:
        return None
    names = [*pool, *path_b]
    arm = _arm("ensemble + V-axis members", [parts[n][1] for n in names], subjects, None, names)
    return {
        "arms": list(config.path_b),
        "ensemble": arm.summary(),
        "comparison": paired_family([(arm, ensemble)], config.alpha),
        "published": "the study: adding V-axis-trained members hurts (published, not run here)",
    }
