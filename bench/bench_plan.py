"""The paper plan's CPU estimate against measured rates, and the smoke run's time (issue 13.4).

First it times the paper plan as ``--plan`` makes it in a new folder (the data stage, which
generates the cohort once, and the plan with its own calibration; the target: under 2
minutes).

On a FACED-sized SYNTHETIC cohort (123 subjects x 28 clips x 30 s) this builds two plans of
the paper preset, the real one and the smoke one (``vaxis study --preset paper [--smoke]
--plan``), both on one throughput calibration. For each distinct model of the plans (decoder
and hyper-parameters) it then measures on this machine, in this process, one thread (as a
worker of the local executor runs a job):

* seconds of one training step (AdamW, batch of the job, after one untimed step), and
* seconds per evaluated sample (``forward_all``, batch 1024),

in CPU time (the machine is shared, so wall time would count other people's work) and wall
time. Every job's time is then composed from these rates by the plan's own cost model (epochs
x steps, one validation pass an epoch, a final pass over test (and validation after a
two-stage arm, which runs twice); a smoke run scores the first unit of each stimulus), and
compared with the plan's FLOP-based estimate: per model (step and sample) and in total, for
the real plan (the issue's target: within a factor of 2) and the smoke plan (the target: the
smoke run <= 2 h on 2 cores, i.e. its total over 2 workers). Training jobs only:
stages that train nothing (axis, probes, saturation, the ensemble's selection) and each job's
overhead (loading, checkpoints, the chance test) come on top; no whole job is timed here.

    PYTHONPATH=src OMP_NUM_THREADS=1 python bench/bench_plan.py [--out DIR] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from vaxis.data.cohort import Cohort
from vaxis.decoders import build_decoder
from vaxis.decoders.train import forward_all
from vaxis.study.plan import make_plan, stage_jobs
from vaxis.study.presets import paper, with_smoke
from vaxis.study.registry import StudyContext
from vaxis.study.run import run_study
from vaxis.study.stages.data import cohort_path
from vaxis.sweep.cost import CohortParts, Workload, calibrate


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def measure(
    decoder: str,
    hyper: dict[str, Any],
    sample: tuple[int, ...],
    classes: int,
    batch: int,
    steps: int,
) -> dict[str, float]:
    """CPU and wall seconds of one training step and of one evaluated sample."""
    torch.manual_seed(0)
    model = build_decoder(decoder, sample[-2], sample[-1], classes, **hyper)
    x, y = torch.randn(batch, *sample), torch.randint(0, classes, (batch,))
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimiser.step()

    model.train()
    step()
    cpu, wall = _clock()
    for _ in range(steps):
        step()
    cpu_step, wall_step = [(b - a) / steps for a, b in zip((cpu, wall), _clock(), strict=True)]
    n_eval = 1024
    xe = torch.randn(n_eval, *sample)
    forward_all(model, xe[:8])
    cpu, wall = _clock()
    forward_all(model, xe, 1024)
    cpu_eval, wall_eval = [(b - a) / n_eval for a, b in zip((cpu, wall), _clock(), strict=True)]
    return {
        "cpu_step": cpu_step,
        "wall_step": wall_step,
        "cpu_eval": cpu_eval,
        "wall_eval": wall_eval,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/vaxis-bench-plan/paper")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per model")
    args = parser.parse_args()
    torch.set_num_threads(1)

    real = paper().model_copy(update={"out": args.out})
    smoke = with_smoke(real)
    started = time.perf_counter()
    first = make_plan(real)  # what `--plan` does: the data stage and its own calibration
    print(
        f"the paper plan: {time.perf_counter() - started:.0f} s (data stage and calibration "
        f"included; {sum(s['n_jobs'] for s in first['stages'])} jobs); target under 2 minutes"
    )
    run_study(smoke, ["data"], progress=False)
    cpu, wall = _clock()
    calibration = calibrate()
    cpu_share = (time.process_time() - cpu) / (time.perf_counter() - wall)  # < 1: contended
    plans = {
        name: make_plan(c, calibration=calibration)
        for name, c in (("real", real), ("smoke", smoke))
    }
    context = StudyContext(out=Path(smoke.out), progress=False)
    cohort = CohortParts(Cohort.load(cohort_path(smoke, context)))
    rates: dict[str, dict[str, float]] = {}
    print(
        f"calibration: {calibration['flops_per_second'] / 1e9:.1f} GFLOP/s wall "
        f"({calibration['model']}); it got {cpu_share:.0%} of a core (the rest: other work)"
    )
    totals: dict[str, dict[str, float]] = {}
    for name, config in (("real", real), ("smoke", smoke)):
        totals[name] = {"plan": 0.0, "cpu": 0.0, "wall": 0.0, "jobs": 0}
        for stage in plans[name]["stages"]:
            if not stage["jobs"]:
                continue
            jobs, _ = stage_jobs(stage["name"], config, context, cohort, False)
            for entry in stage["jobs"]:
                params = jobs[entry["label"]].params
                train, parts = (
                    params["train"],
                    cohort.parts(params["split"], int(params["fold"]), params["inputs"]["task"]),
                )
                signature = json.dumps(
                    [train["decoder"], train.get("hyper") or {}, entry["batch_size"]],
                    sort_keys=True,
                )
                if signature not in rates:
                    rates[signature] = measure(
                        train["decoder"],
                        train.get("hyper") or {},
                        parts["sample"],
                        parts["classes"],
                        entry["batch_size"],
                        args.steps,
                    )
                    print(
                        f"measured {signature}: "
                        + ", ".join(f"{k} {v:.4g} s" for k, v in rates[signature].items())
                    )
                totals[name]["plan"] += entry["cpu_seconds"]
                work, rate = Workload.of(params, parts), rates[signature]
                for clock in ("cpu", "wall"):  # the plan's cost model, at the measured rates
                    totals[name][clock] += work.cost(
                        per_step=rate[f"{clock}_step"], per_eval_sample=rate[f"{clock}_eval"]
                    )
                totals[name]["jobs"] += 1
    for name, total in totals.items():
        ratio = total["cpu"] / (total["plan"] * cpu_share)  # the plan's rate in CPU time
        print(
            f"{name} plan: {total['jobs']:.0f} jobs; plan estimate "
            f"{total['plan'] / 3600:.2f} h on one core; composed from measured rates: "
            f"{total['cpu'] / 3600:.2f} CPU-h "
            f"({total['wall'] / 3600:.2f} h wall on this shared machine); measured/estimate "
            f"(CPU time, the calibration's share of a core taken out) "
            f"{ratio:.2f}; over 2 workers: {total['cpu'] / 7200:.2f} h"
        )


if __name__ == "__main__":
    main()
