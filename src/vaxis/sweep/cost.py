"""What a training job costs, before it runs: FLOP, peak memory, seconds here and on a GPU.

Every stage that trains builds its jobs (``plan_jobs`` next to its code) and costs them here
(:func:`job_row`), so ``plan(config)`` of a stage and the study's ``--plan`` agree. The cost
model (:class:`Workload`, docs in :mod:`vaxis.study.plan`): per training sample a forward and
backward pass, per validation sample one forward pass each epoch, then one forward pass over
the test part (the selected epoch's validation pass is reused); two-stage procedures count two
trainings. ``bench/bench_plan.py`` prices the same workload with measured seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

if TYPE_CHECKING:
    from vaxis.data.cohort import Cohort
    from vaxis.sweep.jobs import Job

#: dense bf16 peak of an H100 / H200 SXM (NVIDIA's data sheets), TFLOP/s
DEFAULT_GPU_TFLOPS = 989.0
#: the fraction of the GPU's peak the estimate assumes (issue 13's target for concurrent jobs)
GPU_UTILISATION = 0.3
#: align arms that train twice (two stages of a training procedure)
TWO_STAGE = ("peft-", "pretrain-", "cross-dataset")
FULL_DATA = "full-data-scaling"


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

    @classmethod
    def measured(
        cls, gpu_tflops: float = DEFAULT_GPU_TFLOPS, calibration: dict[str, Any] | None = None
    ) -> Rates:
        """This machine's rate from :func:`calibrate` (or a given calibration) and a GPU's."""
        calibration = calibration or calibrate()
        return cls(
            float(calibration["flops_per_second"]), gpu_tflops * 1e12, GPU_UTILISATION, calibration
        )


class PlannedJob(TypedDict):
    """One training job of a plan, and its cost (a row of ``plan.json``)."""

    id: str | None  # the sweep key (None while it waits on the V-axis positions)
    label: str
    stage: str
    decoder: str
    regime: str
    intervention: str | None
    seed: int
    epochs: int
    batch_size: int
    n_train: int
    flops: int
    peak_memory_bytes: int
    cpu_seconds: float
    gpu_seconds: float


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
    import torch

    from vaxis.decoders import SKLEARN_DECODERS, build_decoder
    from vaxis.decoders.flops import count_flops

    if decoder in SKLEARN_DECODERS:
        return 0.0, 0.0, 0
    channels, bands = sample[-2], sample[-1]
    model = build_decoder(decoder, channels, bands, classes, **json.loads(hyper))
    shape = (batch, *sample)
    step, forward = count_flops(model, shape, backward=True), count_flops(model, shape)
    meta = model.to("meta").train()
    x = torch.empty(shape, device="meta")
    kept = saved_for_backward(meta, x)
    if checkpointing:
        blocks = sum(len(_blocks(m)) for m in meta.modules())
        meta.checkpoint_activations()
        outside = saved_for_backward(meta, x)
        kept = outside + (kept - outside) // max(blocks, 1)
    parameters = sum(p.numel() for p in meta.parameters())
    return step / batch, forward / batch, 16 * parameters + kept


def _blocks(module: Any) -> list[Any]:
    """The blocks of ``module``'s ``layers`` list (what checkpointing recomputes), if any."""
    import torch

    layers = getattr(module, "layers", None)
    return list(layers) if isinstance(layers, torch.nn.ModuleList) else []


def saved_for_backward(model: Any, x: Any) -> int:
    """Bytes autograd saves for backward in one forward pass of ``model`` on ``x`` (a tensor;
    on the meta device nothing is computed): the activation memory of a training step, which
    activation checkpointing cuts to the blocks' inputs and one block at a time."""
    import torch

    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(x)
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
            units = make_units(self.cohort, task)
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


@dataclass(frozen=True)
class Workload:
    """What one job computes, counted from its params before it runs (the cost model)."""

    #: trainings: two for a two-stage procedure, else one
    phases: int
    #: epochs each training runs (a smoke run: fewer than it names)
    epochs: int
    #: optimiser steps an epoch (a smoke run: a few)
    steps: int
    #: training samples (full-data scaling: validation's too)
    n_train: int
    #: training samples passed forward and backward an epoch
    per_epoch: int
    #: validation and test samples scored (a smoke run: the first few of each stimulus)
    n_val: int
    n_test: int

    @classmethod
    def of(cls, params: Mapping[str, Any], parts: dict[str, Any]) -> Workload:
        """The workload of a job with ``params`` on the cohort's ``parts``
        (:meth:`CohortParts.parts` of its split)."""
        train, arm = params["train"], params.get("arm")
        n_train, n_val = parts["n_train"], scored(parts, "val", train)
        if arm == FULL_DATA:
            n_train, n_val = n_train + parts["n_val"], 0
        epochs = int(train.get("epochs", 100))
        batch, max_steps = int(train.get("batch_size", 128)), train.get("max_steps_per_epoch")
        steps = -(-n_train // batch)
        per_epoch = n_train if max_steps is None else min(n_train, int(max_steps) * batch)
        return cls(
            phases=2 if arm is not None and arm.startswith(TWO_STAGE) else 1,
            epochs=min(epochs, int(train.get("max_epochs") or epochs)),
            steps=steps if max_steps is None else min(steps, int(max_steps)),
            n_train=n_train,
            per_epoch=per_epoch,
            n_val=n_val,
            n_test=scored(parts, "test", train),
        )

    def cost(
        self, per_step: float = 0.0, per_train_sample: float = 0.0, per_eval_sample: float = 0.0
    ) -> float:
        """The job's cost (FLOP, seconds) from the cost of one optimiser step, of one training
        sample and of one evaluated sample: each epoch of each training its steps, its
        training samples and one validation pass; then one pass over the test part (the
        selected epoch's validation pass is reused, except after a two-stage procedure: it
        scores validation again)."""
        epoch = (
            self.steps * per_step + self.per_epoch * per_train_sample + self.n_val * per_eval_sample
        )
        final = self.n_test + (self.n_val if self.phases == 2 else 0)
        return self.phases * (self.epochs * epoch) + final * per_eval_sample


def job_row(
    job: Job,
    stage: str,
    label: str,
    cohort: CohortParts,
    rates: Rates,
    pending: bool,
    checkpointing: bool = False,
) -> PlannedJob:
    """One job's row: what it trains, on how many samples, and its cost."""
    params, train = job.params, job.params["train"]
    parts = cohort.parts(params["split"], int(params["fold"]), params["inputs"]["task"])
    batch = int(train.get("batch_size", 128))
    hyper = json.dumps(train.get("hyper") or {}, sort_keys=True)
    per_train, per_eval, step_bytes = decoder_cost(
        train["decoder"], hyper, parts["sample"], parts["classes"], batch, checkpointing
    )
    work = Workload.of(params, parts)
    flops = work.cost(per_train_sample=per_train, per_eval_sample=per_eval)
    sample_bytes = 4 * int(np.prod(parts["sample"]))
    regime = "shuffled" if train.get("shuffle_labels") else params.get("regime", "plain")
    return {
        "id": None if pending else job.key(),
        "label": label,
        "stage": stage,
        "decoder": train["decoder"],
        "regime": regime,
        "intervention": params.get("arm"),
        "seed": int(train.get("seed", 0)),
        "epochs": int(train.get("epochs", 100)),
        "batch_size": batch,
        "n_train": work.n_train,
        "flops": int(flops),
        "peak_memory_bytes": int(
            step_bytes + sample_bytes * (work.n_train + work.n_val + work.n_test)
        ),
        "cpu_seconds": flops / rates.cpu,
        "gpu_seconds": flops / rates.gpu,
    }


def plan_rows(
    jobs: Mapping[str, Job],
    stage: str,
    cohort: CohortParts,
    rates: Rates,
    pending: bool = False,
    checkpointing: bool = False,
) -> list[PlannedJob]:
    """The rows of a stage's jobs (label -> job), each job once (shared members are listed
    under their first label); ``pending``: the keys still wait on the V-axis positions."""
    unique = {job.key(): (label, job) for label, job in jobs.items()}
    return [
        job_row(job, stage, label, cohort, rates, pending, checkpointing)
        for label, job in unique.values()
    ]
