"""Benchmark the sweep engine: jobs/hour on local workers and the engine's overhead per job.

A SYNTHETIC FACED-sized cohort (123 subjects, 28 clips, 30 one-second DE windows each, the
study's split) is written to a temporary file; N small training jobs (one per seed) are run

* bare: ``run_experiment`` in a loop on the in-memory cohort (no engine at all);
* serial: ``run_sweep`` with :class:`SerialExecutor` (keys, claims, atomic records, cohort
  load from the file);
* local: ``run_sweep`` with :class:`LocalExecutor` of 1 and of ``--workers`` processes
  (spawned, one thread each; x1 minus serial is the cost of worker start-up and transfer);
* ray: a local Ray instance of ``--workers`` CPUs, when Ray is installed (its start-up counts).

Bare and serial use one torch thread, like a worker, so that the difference is the engine's
cost. Prints seconds per job, overhead per job, jobs/hour of each; exits with status 1 if the
three do not give identical test metrics for every job.

    python bench/bench_sweep.py [--jobs N] [--workers W] [--decoder linear] [--epochs E]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from vaxis.data.splits import study_split
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.experiment import InputConfig, run_experiment
from vaxis.decoders.train import TrainConfig
from vaxis.sweep import (
    Executor,
    LocalExecutor,
    ResultStore,
    SerialExecutor,
    grid,
    make_executor,
    run_sweep,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--decoder", default="linear")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        cohort = synthesize_features(SynthConfig(n_subjects=123, seed=0))[0]
        path = cohort.save(tmp / "faced-synthetic.h5")
        train = {"decoder": args.decoder, "epochs": args.epochs, "warmup_epochs": 0}
        base = {"cohort": str(path), "split": "study", "train": train}
        jobs = grid("train", base, **{"train.seed": list(range(args.jobs))})
        print(
            f"SYNTHETIC FACED-sized cohort: {cohort.n_samples} samples; {args.jobs} jobs of "
            f"{args.decoder}, {args.epochs} epochs"
        )

        split = study_split(cohort)[0]
        start = time.perf_counter()
        bare = [
            run_experiment(
                cohort,
                split,
                TrainConfig(**{**train, "seed": seed}),
                tmp / f"bare{seed}",
                InputConfig(),
            ).test_balanced_accuracy
            for seed in range(args.jobs)
        ]
        times = {"bare": time.perf_counter() - start}
        tests: dict[str, list[Any]] = {"bare": bare}
        executors: dict[str, Executor] = {
            "serial": SerialExecutor(),
            "local x1": LocalExecutor(1),
            f"local x{args.workers}": LocalExecutor(args.workers),
        }
        if importlib.util.find_spec("ray") is not None:  # the optional extra vaxis[ray]
            executors[f"ray x{args.workers}"] = make_executor("ray", args.workers)
        for name, executor in executors.items():
            store = ResultStore(tmp / name.replace(" ", ""))
            summary = run_sweep(jobs, store, executor, progress=False)
            if not summary.complete:
                print(f"{name}: {len(summary.failed)} jobs failed", file=sys.stderr)
                return 1
            times[name] = summary.seconds
            records = [store.get(job.key()) for job in jobs]
            tests[name] = [r["result"]["test"]["balanced_accuracy"] for r in records if r]

    print(f"{'run':<12}{'s/job':>10}{'jobs/hour':>12}{'overhead s/job':>16}")
    for name, seconds in times.items():
        per_job = seconds / args.jobs
        overhead = (seconds - times["bare"]) / args.jobs
        print(f"{name:<12}{per_job:>10.3f}{3600 / per_job:>12.0f}{overhead:>16.3f}")
    agree = all(values == bare for values in tests.values())
    print("test balanced accuracy identical across runs:", agree, [round(b, 4) for b in bare])
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
