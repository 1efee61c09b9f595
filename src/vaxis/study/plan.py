"""What a study will cost, before any training: ``vaxis study CONFIG --plan`` (``plan.json``).

The plan lists every training job of the zoo, align and ensemble stages, built by the stages'
own job builders (``plan_jobs`` next to each stage's code), so a job's ``id`` is the sweep key
the stage will run. Per job: decoder, regime, intervention (align; ``baseline`` for the
baseline), seed, epochs, training samples, FLOP, a peak-memory estimate and estimated seconds
on this machine and on a GPU; per stage and in total: the sums.

* FLOP (:func:`vaxis.decoders.flops.count_flops`, on a meta-device model): per training sample
  a forward and backward pass, per validation sample one forward pass each epoch (checkpoint
  selection), then one forward pass over validation and test. Two-stage training procedures
  (PEFT, pretraining, cross-dataset) count two full trainings (an upper bound: PEFT's second
  stage updates adapters only; cross-dataset's first stage runs on the other dataset, counted
  at this cohort's size); full-data scaling trains on training and validation subjects.
* Memory: weights, gradients and two AdamW moments (4 x 4 bytes a parameter), the tensors
  autograd keeps for backward in one batch (counted on a meta-device model; with
  ``[compute] checkpoint_activations``, the blocks' inputs and one block's internals), and the
  cohort's training tensors resident on the device. An estimate: backward's temporaries are
  not counted (CBraMod-style at batch 128 measured 11.7 GB against 9.4 GB estimated).
* Time on this machine: FLOP / the FLOP/s achieved by a few timed training steps of a small
  axial model (:func:`calibrate`, a few seconds). On a GPU: FLOP / (peak x utilisation), the
  peak given (``--gpu-tflops``; default an H100/H200 SXM's dense bf16 989 TFLOP/s) and the
  utilisation assumed (30%); both are written into the plan.

The plan needs the cohort (its subjects and sample counts, and its content for the jobs'
keys): it runs the ``data`` stage (cached; the real run reuses it). Align's keys also hash the
V-axis positions: until the ``axis`` stage has run they are ``null`` and the stage says so.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vaxis.study.config import StudyConfig
from vaxis.study.registry import STAGES, StudyContext

if TYPE_CHECKING:
    from vaxis.data.cohort import Cohort
    from vaxis.sweep import Job

SCHEMA_RESOURCE = "resources/study/plan.schema.json"
PLAN_NAME = "plan.json"
FORMAT = "vaxis-study-plan"
#: dense bf16 peak of an H100 / H200 SXM (NVIDIA's data sheets), TFLOP/s
DEFAULT_GPU_TFLOPS = 989.0
#: the fraction of the GPU's peak the estimate assumes (issue 13's target for concurrent jobs)
GPU_UTILISATION = 0.3
TRAINING_STAGES = ("zoo", "align", "ensemble")
#: align arms that train twice (two stages of a training procedure)
TWO_STAGE = ("peft-", "pretrain-", "cross-dataset")
FULL_DATA = "full-data-scaling"


def schema() -> dict[str, Any]:
    """The JSON schema of ``plan.json``."""
    loaded: dict[str, Any] = json.loads(
        (resources.files("vaxis") / SCHEMA_RESOURCE).read_text(encoding="utf-8")
    )
    return loaded


@dataclass(frozen=True)
class Rates:
    """FLOP/s used for the time estimates."""

    cpu: float
    gpu_peak: float
    gpu_utilisation: float = GPU_UTILISATION
    calibration: dict[str, Any] | None = None

    @property
    def gpu(self) -> float:
        return self.gpu_peak * self.gpu_utilisation


def calibrate(seconds: float = 3.0, max_steps: int = 30) -> dict[str, Any]:
    """Achieved training FLOP/s on this machine: timed AdamW steps of a small axial model
    (depth 2, width 64, batch 128 of 10-s FACED segments) after one untimed step."""
    import torch

    from vaxis.decoders import build_decoder
    from vaxis.decoders.flops import count_flops

    shape = (128, 10, 32, 5)
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(shape, generator=generator), torch.randint(0, 9, (shape[0],))
    torch.manual_seed(0)
    model = build_decoder("axial", 32, 5, 9, depth=2, width=64, heads=4)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    per_step = count_flops(model, shape, backward=True)

    def step() -> None:
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()

    step()
    start, steps = time.perf_counter(), 0
    while steps < max_steps and (steps < 2 or time.perf_counter() - start < seconds):
        step()
        steps += 1
    elapsed = time.perf_counter() - start
    return {
        "model": "axial depth 2 width 64 heads 4, batch 128 x (10, 32, 5), AdamW",
        "steps": steps,
        "seconds": round(elapsed, 3),
        "flops_per_step": per_step,
        "flops_per_second": per_step * steps / elapsed,
        "torch_threads": torch.get_num_threads(),
    }


@cache
def decoder_cost(
    decoder: str,
    hyper: str,
    sample: tuple[int, ...],
    classes: int,
    batch: int,
    checkpointing: bool = False,
) -> tuple[float, float, int]:
    """(training FLOP a sample, forward FLOP a sample, peak bytes of one step without data).

    The step's bytes: weights, gradients and two AdamW moments (4 x 4 bytes a parameter) and
    what autograd keeps for backward in one batch (counted on a meta-device model); with
    activation checkpointing, the blocks' inputs and one block's internals at a time.
    """

    from vaxis.decoders import SKLEARN_DECODERS, build_decoder
    from vaxis.decoders.flops import count_flops

    if decoder in SKLEARN_DECODERS:
        return 0.0, 0.0, 0
    channels, bands = sample[-2], sample[-1]
    model = build_decoder(decoder, channels, bands, classes, **json.loads(hyper))
    shape = (batch, *sample)
    step, forward = count_flops(model, shape, backward=True), count_flops(model, shape)
    meta = model.to("meta").train()
    kept = _kept_for_backward(meta, shape)
    if checkpointing:
        blocks = sum(len(_blocks(m)) for m in meta.modules())
        meta.checkpoint_activations()
        outside = _kept_for_backward(meta, shape)
        kept = outside + (kept - outside) // max(blocks, 1)
    parameters = sum(p.numel() for p in meta.parameters())
    return step / batch, forward / batch, 16 * parameters + kept


def _blocks(module: Any) -> list[Any]:
    """The blocks of ``module``'s ``layers`` list (what checkpointing recomputes), if any."""
    import torch

    layers = getattr(module, "layers", None)
    return list(layers) if isinstance(layers, torch.nn.ModuleList) else []


def _kept_for_backward(model: Any, shape: tuple[int, ...]) -> int:
    """Bytes autograd saves for backward in one forward pass of ``model`` (meta device)."""
    import torch

    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(torch.empty(shape, device="meta"))
    return total


def scored(parts: dict[str, Any], part: str, train: dict[str, Any]) -> int:
    """The units of ``part`` a job scores (a smoke run: the first few of each stimulus)."""
    limit = train.get("max_eval_units_per_stimulus")
    per_segment: list[int] = parts[f"{part}_per_segment"]
    return int(parts[f"n_{part}"] if limit is None else sum(per_segment[: int(limit)]))


class CohortParts:
    """Sample counts of the cohort's parts under each (protocol, task), computed once."""

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort
        self.meta = cohort.meta
        self._parts: dict[tuple[str, int, str], dict[str, Any]] = {}

    def parts(self, protocol: str, fold: int, task: str) -> dict[str, Any]:
        """Subjects and sample counts of train / val / test, and one sample's shape."""
        key = (protocol, fold, task)
        if key not in self._parts:
            from vaxis.data.splits import split_fold
            from vaxis.decoders.units import make_units

            split = split_fold(self.cohort, protocol, fold)
            units = make_units(self.cohort, task)  # type: ignore[arg-type]
            found: dict[str, Any] = {"sample": tuple(units.x.shape[1:]), "classes": units.n_classes}
            for part in ("train", "val", "test"):
                subjects = np.unique(self.cohort.subject[getattr(split, part)])
                found[f"{part}_subjects"] = [int(s) for s in subjects]
                inside = np.isin(units.subject, subjects)
                found[f"n_{part}"] = int(inside.sum())
                #: units per position within a stimulus (a smoke run scores the first few)
                found[f"{part}_per_segment"] = np.bincount(units.segment[inside]).tolist()
            self._parts[key] = found
        return self._parts[key]


def _job(
    job: Job,
    stage: str,
    label: str,
    cohort: CohortParts,
    rates: Rates,
    pending: bool,
    checkpointing: bool = False,
) -> dict[str, Any]:
    """One job's row: what it trains, on how many samples, and its cost."""
    params, train = job.params, job.params["train"]
    parts = cohort.parts(params["split"], int(params["fold"]), params["inputs"]["task"])
    batch = int(train.get("batch_size", 128))
    hyper = json.dumps(train.get("hyper") or {}, sort_keys=True)
    per_train, per_eval, step_bytes = decoder_cost(
        train["decoder"], hyper, parts["sample"], parts["classes"], batch, checkpointing
    )
    arm = params.get("arm")
    n_train, n_val, n_test = (
        parts["n_train"],
        scored(parts, "val", train),
        scored(parts, "test", train),
    )
    if arm == FULL_DATA:
        n_train, n_val = n_train + parts["n_val"], 0
    phases = 2 if arm is not None and arm.startswith(TWO_STAGE) else 1
    epochs = int(train.get("epochs", 100))
    run_epochs = min(epochs, int(train.get("max_epochs") or epochs))  # a smoke run: fewer
    steps = train.get("max_steps_per_epoch")
    per_epoch = n_train if steps is None else min(n_train, int(steps) * batch)
    flops = phases * (run_epochs * (per_epoch * per_train + n_val * per_eval))
    # the final pass scores the test part; the selected epoch's validation pass is reused,
    # except after a multi-stage procedure (it scores validation again)
    flops += (n_test + (n_val if phases == 2 else 0)) * per_eval
    sample_bytes = 4 * int(np.prod(parts["sample"]))
    regime = "shuffled" if train.get("shuffle_labels") else params.get("regime", "plain")
    return {
        "id": None if pending else job.key(),
        "label": label,
        "stage": stage,
        "decoder": train["decoder"],
        "regime": regime,
        "intervention": arm,
        "seed": int(train.get("seed", 0)),
        "epochs": epochs,
        "batch_size": batch,
        "n_train": n_train,
        "flops": int(flops),
        "peak_memory_bytes": int(step_bytes + sample_bytes * (n_train + n_val + n_test)),
        "cpu_seconds": flops / rates.cpu,
        "gpu_seconds": flops / rates.gpu,
    }


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
        from vaxis.align.run import plan_jobs as align_jobs
        from vaxis.study.stages.align import align_config

        settings = align_config(config, context).model_copy(update={"positions": spec})
        positions = resolve_positions(spec, path, dataset)
        jobs = align_jobs(settings, dataset, positions)
        return {f"{arm}/seed{seed}": job for (arm, seed), job in jobs.items()}, pending
    from vaxis.ensemble.run import plan_jobs as ensemble_jobs
    from vaxis.study.stages.ensemble import ensemble_config

    ensemble = ensemble_config(config, context)
    record = resolve_positions(spec, path, dataset).model_dump(mode="json")
    pool, cascade, path_b = ensemble_jobs(ensemble, dataset, record)
    every = {**pool, **{n: j for step in cascade.values() for n, j in step.items()}, **path_b}
    return every, pending if path_b else None


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
    calibration = calibration or calibrate()
    rates = Rates(float(calibration["flops_per_second"]), gpu_tflops * 1e12, GPU_UTILISATION)
    axis_done = "axis" in finished_stages(config)
    stages: list[dict[str, Any]] = []
    protocols: dict[str, dict[str, Any]] = {}
    for name in registry.plan(names, config):
        row: dict[str, Any] = {"name": name, "title": STAGES[name].title, "keys_pending": None}
        jobs: list[dict[str, Any]] = []
        if name in TRAINING_STAGES:
            built, pending = stage_jobs(name, config, context, cohort, axis_done)
            unique = {job.key(): (label, job) for label, job in built.items()}  # shared members
            for label, job in unique.values():
                jobs.append(
                    _job(
                        job,
                        name,
                        label,
                        cohort,
                        rates,
                        pending is not None,
                        config.compute.checkpoint_activations,
                    )
                )
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
            "calibration": calibration,
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
