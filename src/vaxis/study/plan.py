"""What a study will cost, before any training: ``vaxis study CONFIG --plan`` (``plan.json``).

The plan lists every training job of the zoo, align and ensemble stages, built by the stages'
own job builders (``plan_jobs`` next to each stage's code), so a job's ``id`` is the sweep key
the stage will run. Per job: decoder, regime, intervention (align; ``baseline`` for the
baseline), seed, epochs, training samples, FLOP, a peak-memory estimate and estimated seconds
on this machine and on a GPU; per stage and in total: the sums. The cost of one job is
:func:`vaxis.sweep.cost.job_row` (shared with each stage's own ``plan``).

* FLOP (:func:`vaxis.decoders.flops.count_flops`, on a meta-device model): per training sample
  a forward and backward pass, per validation sample one forward pass each epoch (checkpoint
  selection), then one forward pass over test (the selected epoch's validation pass is
  reused; a smoke run scores the first unit of each stimulus). Two-stage training procedures
  (PEFT, pretraining, cross-dataset) count two full trainings (an upper bound: PEFT's second
  stage updates adapters only; cross-dataset's first stage runs on the other dataset, counted
  at this cohort's size); full-data scaling trains on training and validation subjects.
* Memory: weights, gradients and two AdamW moments (4 x 4 bytes a parameter), the tensors
  autograd keeps for backward in one batch (counted on a meta-device model; with
  ``[compute] checkpoint_activations``, the blocks' inputs and one block's internals), and the
  cohort's training tensors resident on the device. A lower bound: backward's temporaries are
  not counted (one CBraMod-style step at batch 128 on the CPU: 11.4 GiB of RSS measured
  against 9.1 GiB estimated; checkpointed, 3.5 GiB against 1.2 GiB).
* Time on this machine: FLOP / the FLOP/s achieved by a few timed training steps of a small
  axial model (:func:`vaxis.sweep.cost.calibrate`, a few seconds). On a GPU: FLOP / (peak x
  utilisation), the peak given (``--gpu-tflops``; default an H100/H200 SXM's dense bf16 989
  TFLOP/s) and the utilisation assumed (30%); both are written into the plan.

The plan needs the cohort (its subjects and sample counts, and its content for the jobs'
keys): it runs the ``data`` stage (cached; the real run reuses it). Align's keys also hash the
V-axis positions: until the ``axis`` stage has run they are ``null`` and the stage says so.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaxis.study.config import StudyConfig
from vaxis.study.registry import STAGES, StudyContext
from vaxis.sweep.cost import DEFAULT_GPU_TFLOPS, CohortParts, PlannedJob, Rates, plan_rows

if TYPE_CHECKING:
    from vaxis.sweep import Job

SCHEMA_RESOURCE = "resources/study/plan.schema.json"
PLAN_NAME = "plan.json"
FORMAT = "vaxis-study-plan"
TRAINING_STAGES = ("zoo", "align", "ensemble")


def schema() -> dict[str, Any]:
    """The JSON schema of ``plan.json``."""
    loaded: dict[str, Any] = json.loads(
        (resources.files("vaxis") / SCHEMA_RESOURCE).read_text(encoding="utf-8")
    )
    return loaded


def stage_jobs(
    name: str, config: StudyConfig, context: StudyContext, cohort: CohortParts, axis_done: bool
) -> tuple[dict[str, Job], str | None]:
    """Label -> job of a training stage, from the stage's own builder; and why its keys are
    not final yet (None: they are)."""
    from vaxis.axis.positions import resolve_positions
    from vaxis.study.stages.axis import axis_dir
    from vaxis.study.stages.data import cohort_path

    path, dataset = cohort_path(config, context), cohort.meta.dataset
    spec = str(axis_dir(context)) if axis_done else "classes"
    pending = None if axis_done else "the keys hash the V-axis positions: run stage axis first"
    if name == "zoo":
        from vaxis.decoders.units import default_task
        from vaxis.study.stages.zoo import plan_jobs

        return plan_jobs(config, path, default_task(dataset)), None
    if name == "align":
        from vaxis.align.stage import plan_jobs as align_jobs
        from vaxis.study.stages.align import align_config

        settings = align_config(config, context).model_copy(update={"positions": spec})
        positions = resolve_positions(spec, path, dataset)
        jobs = align_jobs(settings, dataset, positions)
        return {f"{arm}/seed{seed}": job for (arm, seed), job in jobs.items()}, pending
    from vaxis.ensemble.stage import every_member
    from vaxis.ensemble.stage import plan_jobs as ensemble_jobs
    from vaxis.study.stages.ensemble import ensemble_config

    ensemble = ensemble_config(config, context)
    record = resolve_positions(spec, path, dataset).model_dump(mode="json")
    pool, cascade, path_b = ensemble_jobs(ensemble, dataset, record)
    return every_member(pool, cascade, path_b), pending if path_b else None


def make_plan(
    config: StudyConfig,
    names: list[str] | None = None,
    gpu_tflops: float = DEFAULT_GPU_TFLOPS,
    calibration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The plan of ``names`` (default: every enabled stage) of the study ``config``."""
    from vaxis.data.cohort import Cohort
    from vaxis.study import registry
    from vaxis.study.run import finished_stages, run_study
    from vaxis.study.stages.data import cohort_path

    context = StudyContext(out=Path(config.out), progress=False)
    run_study(config, ["data"], progress=False)
    cohort = CohortParts(Cohort.load(cohort_path(config, context)))
    rates = Rates.measured(gpu_tflops, calibration)
    axis_done = "axis" in finished_stages(config)
    stages: list[dict[str, Any]] = []
    protocols: dict[str, dict[str, Any]] = {}
    for name in registry.plan(names, config):
        row: dict[str, Any] = {"name": name, "title": STAGES[name].title, "keys_pending": None}
        jobs: list[PlannedJob] = []
        if name in TRAINING_STAGES:
            built, pending = stage_jobs(name, config, context, cohort, axis_done)
            checkpointing = config.compute.checkpoint_activations
            jobs = plan_rows(built, name, cohort, rates, pending is not None, checkpointing)
            for job in built.values():
                protocols.setdefault(job.params["split"], job.params)
            row["keys_pending"] = pending
        row |= {
            "n_jobs": len(jobs),
            "flops": sum(j["flops"] for j in jobs),
            "cpu_seconds": sum(j["cpu_seconds"] for j in jobs),
            "gpu_seconds": sum(j["gpu_seconds"] for j in jobs),
            "peak_memory_bytes": max((j["peak_memory_bytes"] for j in jobs), default=0),
            "jobs": jobs,
        }
        stages.append(row)
    return {
        "format": FORMAT,
        "synthetic": bool(cohort.meta.synthetic),
        "smoke": config.smoke,
        "dataset": cohort.meta.dataset,
        "protocol": _protocol(cohort, protocols),
        "stages": stages,
        "estimate": {
            "cpu_seconds": sum(s["cpu_seconds"] for s in stages),
            "gpu_seconds": sum(s["gpu_seconds"] for s in stages),
            "flops": sum(s["flops"] for s in stages),
            "cpu_flops_per_second": rates.cpu,
            "gpu_peak_flops_per_second": rates.gpu_peak,
            "gpu_utilisation": rates.gpu_utilisation,
            "calibration": rates.calibration,
            "covers": "training jobs only; stages that train nothing take minutes",
        },
    }


def _protocol(cohort: CohortParts, protocols: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The split the training stages use (each protocol's subjects when they differ)."""
    described = {}
    for name, params in protocols.items():
        parts = cohort.parts(name, int(params["fold"]), params["inputs"]["task"])
        described[name] = {"name": name, "fold": int(params["fold"])} | {
            f"{p}_subjects": parts[f"{p}_subjects"] for p in ("train", "val", "test")
        }
    if not described:
        return {"name": None, "train_subjects": [], "val_subjects": [], "test_subjects": []}
    first = next(iter(described.values()))
    return first | ({"others": list(described.values())[1:]} if len(described) > 1 else {})


def this_machine_seconds(plan: dict[str, Any]) -> float:
    """The estimate that applies here: the GPU's with CUDA, else this CPU's."""
    import torch

    key = "gpu_seconds" if torch.cuda.is_available() else "cpu_seconds"
    return float(plan["estimate"][key])


def too_costly(plan: dict[str, Any], max_hours: float) -> str | None:
    """Why the plan may not start under a ``max_hours`` budget (None: it fits)."""
    seconds = this_machine_seconds(plan)
    if seconds <= max_hours * 3600:
        return None
    key = "gpu_seconds" if seconds == plan["estimate"]["gpu_seconds"] else "cpu_seconds"
    costly = sorted(plan["stages"], key=lambda s: -s[key])[:3]
    named = ", ".join(f"{s['name']} {s[key] / 3600:.1f} h ({s['n_jobs']} jobs)" for s in costly)
    return (
        f"the plan needs about {seconds / 3600:.1f} h here, more than --max-hours {max_hours:g}; "
        f"costliest stages: {named}. Shrink them (epochs, seeds, sizes) or raise --max-hours"
    )


def write_plan(plan: dict[str, Any], out: str | Path) -> Path:
    """``OUT/plan.json``."""
    path = Path(out) / PLAN_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan, indent=1) + "\n", encoding="utf-8")
    return path
