"""Benchmark concurrent training jobs on one GPU: aggregate throughput and % of the bf16 peak.

The job is the study's ensemble member (bench/bench_engine.py's ``--paper`` recipe: depth-6,
width-128 axial transformer, augmentation + distillation, batch 128) on a SYNTHETIC
FACED-sized training set generated here. For 1, 2, 4 and 8 concurrent jobs on the one GPU
(separate processes, as ``[compute] devices = ["cuda:0"]``, ``jobs_per_device = K`` runs them),
in fp32, TF32 and bf16: each job trains ``--steps`` batches of its own seeded subset after an
untimed warm-up; the jobs start together (a barrier), and the aggregate rate is all their
samples over the time from the first start to the last end. Prints samples/s, model GFLOP/s
(:func:`vaxis.decoders.flops.axial_flops`) and the % of the fp32, TF32 and bf16 matmul peaks
measured in the same run (8192^3 products); then the GPU time of one 150-epoch member and of
the study's 10-member ensemble (5 seeds x {100, 150} epochs) at the best aggregate rate.

Agreement: with one job, TF32 and bf16 runs (same seed, same batches) must reach a mean
training loss within ``PRECISION_TOLERANCE`` (relative) of fp32's; exit status 1 otherwise.
Without CUDA it prints why and exits 0.

    python bench/bench_gpu.py [--steps 100] [--quick] [--jobs 1,2,4,8]
                              [--settings fp32,tf32,bf16] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import queue
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench_axial import matmul_gflops
from bench_engine import (
    MEMBER_EPOCHS,
    PRECISION_TOLERANCE,
    faced_sized_train,
    first_batches,
    member_config,
)
from vaxis.decoders.accel import tf32
from vaxis.decoders.axial import AxialTransformer
from vaxis.decoders.flops import axial_flops
from vaxis.decoders.train import fit
from vaxis.decoders.units import Units

#: TrainConfig changes of each setting
SETTINGS: dict[str, dict[str, Any]] = {
    "fp32": {},
    "tf32": {"tf32": True},
    "bf16": {"precision": "bf16"},
}
#: the study's ensemble: 5 seeds x {100, 150} epochs
ENSEMBLE_EPOCHS = 5 * (100 + 150)


def job(
    rank: int, settings: list[str], steps: int, train: Units, device: str, barrier: Any, out: Any
) -> None:
    """One concurrent job (a spawned process): per setting, warm up, wait for the others,
    train ``steps`` batches, report (setting, samples, start, end, mean loss)."""
    from vaxis.sweep.executors import pin_threads, place

    pin_threads(1)
    place(device)
    for name in settings:
        changes = {"precision": "fp32", **SETTINGS[name]}
        config = member_config(changes.pop("precision"), device, seed=rank, **changes)
        fit(config, first_batches(train, 2, config.batch_size, seed=100 + rank))  # warm-up
        subset = first_batches(train, steps, config.batch_size, seed=rank)
        barrier.wait(timeout=600)
        start = time.perf_counter()
        result = fit(config, subset)
        end = time.perf_counter()
        out.put((name, result.n_trained, start, end, result.history[0].train_loss))


def concurrent(
    k: int, settings: list[str], steps: int, train: Units, device: str = "cuda:0"
) -> dict[str, dict[str, Any]]:
    """Run ``k`` jobs at once on ``device``; per setting, aggregate samples/s and the jobs'
    mean losses."""
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(k), context.Queue()
    jobs = [
        context.Process(target=job, args=(rank, settings, steps, train, device, barrier, out))
        for rank in range(k)
    ]
    for process in jobs:
        process.start()
    reports: list[tuple[str, int, float, float, float]] = []
    while len(reports) < k * len(settings):
        try:
            reports.append(out.get(timeout=5))
        except queue.Empty:
            dead = [p.exitcode for p in jobs if p.exitcode not in (None, 0)]
            if dead:
                for process in jobs:
                    process.kill()
                raise RuntimeError(
                    f"{len(dead)} of {k} job processes failed (exit {dead})"
                ) from None
    for process in jobs:
        process.join()
    results = {}
    for name in settings:
        mine = [r for r in reports if r[0] == name]
        wall = max(r[3] for r in mine) - min(r[2] for r in mine)
        results[name] = {
            "samples_per_second": sum(r[1] for r in mine) / wall,
            "losses": sorted(r[4] for r in mine),
            "wall_seconds": wall,
        }
    return results


def peaks() -> dict[str, float]:
    """GFLOP/s of an 8192^3 matmul in fp32, TF32 and bf16 (best of 5 each)."""
    cuda = torch.device("cuda:0")
    with tf32(True, cuda):
        tf = max(matmul_gflops(cuda, torch.float32, 8192) for _ in range(5))
    return {
        "fp32": max(matmul_gflops(cuda, torch.float32, 8192) for _ in range(5)),
        "tf32": tf,
        "bf16": max(matmul_gflops(cuda, torch.bfloat16, 8192) for _ in range(5)),
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed batches per job")
    parser.add_argument("--quick", action="store_true", help="20 steps per job")
    parser.add_argument("--jobs", default="1,2,4,8", help="concurrent jobs to try")
    parser.add_argument("--settings", default="fp32,tf32,bf16")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def main() -> int:
    args = parse()
    if not torch.cuda.is_available():
        print(f"no CUDA device here (torch {torch.__version__}): GPU benchmark skipped")
        return 0
    steps = 20 if args.quick else args.steps
    settings = args.settings.split(",")
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        print(f"unknown settings {unknown}; choose from {', '.join(SETTINGS)}")
        return 2
    peak = peaks()
    train = faced_sized_train()
    model = AxialTransformer(train.n_channels, train.n_bands, train.n_classes, depth=6, width=128)
    flop_per_sample = axial_flops(model, 128, training=True) / 128
    name = torch.cuda.get_device_name(0)
    print(
        f"{name}, torch {torch.__version__}; SYNTHETIC FACED-sized training set ({len(train)} "
        f"segments); {steps} timed steps per job; matmul peak GFLOP/s: "
        + ", ".join(f"{k} {v:.0f}" for k, v in peak.items())
    )
    print("jobs setting   samples/s   GFLOP/s  %own-peak  %bf16-peak  wall s")
    rows = []
    for k in (int(j) for j in args.jobs.split(",")):
        for setting, result in concurrent(k, settings, steps, train).items():
            gflops = result["samples_per_second"] * flop_per_sample / 1e9
            row = {"jobs": k, "setting": setting, "gflops": gflops, **result}
            rows.append(row)
            print(
                f"{k:4d} {setting:8s} {result['samples_per_second']:10.0f} {gflops:9.0f} "
                f"{100 * gflops / peak[setting]:9.1f} {100 * gflops / peak['bf16']:10.1f} "
                f"{result['wall_seconds']:7.1f}"
            )
    best = max(rows, key=lambda r: r["samples_per_second"])
    member = len(train) * MEMBER_EPOCHS / best["samples_per_second"]
    ensemble = len(train) * ENSEMBLE_EPOCHS / best["samples_per_second"]
    print(
        f"best: {best['jobs']} jobs in {best['setting']}, {best['samples_per_second']:.0f} "
        f"samples/s ({100 * best['gflops'] / peak['bf16']:.1f}% of the bf16 peak): one "
        f"{MEMBER_EPOCHS}-epoch member {member / 60:.1f} GPU-min, the 10-member ensemble "
        f"{ensemble / 3600:.2f} GPU-h"
    )
    status = agreement(rows)
    if args.json:
        payload = {"device": name, "torch": torch.__version__, "peak_gflops": peak}
        payload |= {"steps": steps, "rows": rows, "agreement_ok": status == 0}
        args.json.write_text(json.dumps(payload, indent=1))
    return status


def agreement(rows: list[dict[str, Any]]) -> int:
    """0 when, with one job, every setting's mean loss is within tolerance of fp32's."""
    single = {r["setting"]: r["losses"][0] for r in rows if r["jobs"] == 1}
    if "fp32" not in single:
        print("agreement not checked: no single-job fp32 run")
        return 0
    failed = False
    for setting, loss in single.items():
        if setting == "fp32":
            continue
        gap = abs(loss - single["fp32"]) / single["fp32"]
        ok = gap <= PRECISION_TOLERANCE
        failed |= not ok
        print(
            f"{setting} vs fp32, one job: mean training loss {loss:.4f} vs {single['fp32']:.4f} "
            f"({100 * gap:.2f}%, tolerance {100 * PRECISION_TOLERANCE:.0f}%): "
            f"{'ok' if ok else 'FAIL'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
