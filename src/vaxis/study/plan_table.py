"""The plan (:mod:`vaxis.study.plan`) as rich tables: protocol, every job per stage, totals."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 360 else f"{seconds:.0f} s"


def _subjects(ids: list[int]) -> str:
    """``0-79`` for a run of consecutive ids, else the list."""
    if ids and ids == list(range(ids[0], ids[-1] + 1)) and len(ids) > 2:
        return f"{ids[0]}-{ids[-1]} ({len(ids)})"
    return f"{', '.join(map(str, ids))} ({len(ids)})"


def print_plan(plan: dict[str, Any], console: Console) -> None:
    """Print ``plan``: its protocol, one table per training stage, the totals."""
    protocol, estimate = plan["protocol"], plan["estimate"]
    synthetic = " [bold yellow](SYNTHETIC cohort)[/]" if plan["synthetic"] else ""
    console.print(f"[bold]protocol[/] {protocol['name']} on {plan['dataset']}{synthetic}")
    for part in ("train", "val", "test"):
        console.print(f"  {part}: subjects {_subjects(protocol[f'{part}_subjects'])}")
    totals = Table(title="plan: training jobs per stage")
    for column in ("stage", "jobs", "PFLOP", "peak memory", "here", "GPU"):
        totals.add_column(column, justify="left" if column == "stage" else "right")
    for stage in plan["stages"]:
        if stage["jobs"]:
            _jobs(stage, console)
        totals.add_row(
            stage["name"],
            str(stage["n_jobs"]),
            f"{stage['flops'] / 1e15:.3g}",
            f"{stage['peak_memory_bytes'] / 2**30:.2f} GiB",
            _hours(stage["cpu_seconds"]),
            _hours(stage["gpu_seconds"]),
        )
    totals.add_row(
        "total",
        str(sum(s["n_jobs"] for s in plan["stages"])),
        f"{estimate['flops'] / 1e15:.3g}",
        "",
        _hours(estimate["cpu_seconds"]),
        _hours(estimate["gpu_seconds"]),
    )
    console.print(totals)
    console.print(
        f"here: {estimate['cpu_flops_per_second'] / 1e9:.1f} GFLOP/s achieved by the "
        f"calibration ({estimate['calibration']['model']}); GPU: "
        f"{estimate['gpu_peak_flops_per_second'] / 1e12:g} TFLOP/s peak x "
        f"{estimate['gpu_utilisation']:.0%} assumed utilisation; {estimate['covers']}"
    )
    for note in plan.get("notes", []):
        console.print(f"  note: {note}")


def _jobs(stage: dict[str, Any], console: Console) -> None:
    table = Table(title=f"{stage['name']}: {stage['n_jobs']} jobs", title_justify="left")
    columns = ("job", "decoder", "regime", "intervention", "seed", "epochs", "train n",
               "TFLOP", "memory", "here", "GPU")  # fmt: skip
    for column in columns:
        table.add_column(column, overflow="fold")
    for job in stage["jobs"]:
        table.add_row(
            (job["id"] or "pending")[:12],
            job["decoder"],
            job["regime"],
            job["intervention"] or "-",
            str(job["seed"]),
            str(job["epochs"]),
            str(job["n_train"]),
            f"{job['flops'] / 1e12:.1f}",
            f"{job['peak_memory_bytes'] / 2**20:.0f} MiB",
            _hours(job["cpu_seconds"]),
            _hours(job["gpu_seconds"]),
        )
    console.print(table)
    if stage["keys_pending"]:
        console.print(f"  {stage['name']} job ids pending: {stage['keys_pending']}")
