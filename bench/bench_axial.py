"""Benchmark the axial transformer's training step against this machine's measured matmul peak.

Measures the fp32 (and bf16) matmul peak with one large ``torch.matmul``, then times training
steps (forward, cross-entropy, backward, AdamW) of the EMOD-style axial transformer (default:
the study's depth 6, width 128, batch 128, all 32 x 5 tokens) under several settings:

- ``naive``: attention written out as softmax(Q K^T / sqrt(d)) V (the reference);
- ``fused``: the same model with fused scaled-dot-product attention (the default path);
- ``bf16``: fused, under bf16 autocast (only where a bf16 matmul beats fp32 here);
- ``compile``: fused, through ``torch.compile`` (skipped with the reason if it fails);
- ``depth3``, ``tokens8``: smaller models (depth 3; 8 learned channel tokens instead of 32);
- ``cheapest``: depth 3, 8 channel tokens, bf16 where useful.

FLOP per step come from :func:`vaxis.decoders.flops.axial_flops` (model FLOP: 2 per multiply-add,
backward = 2 x forward), giving achieved GFLOP/s and the percentage of the matmul peak; time per
epoch and per 150-epoch checkpoint are *extrapolated* to FACED's training split (80 subjects x 28
clips x 3 segments = 6,720 samples). The rate of the model's own dense-layer products alone
(thin matrices: 20,480 tokens x 128) is printed as the realistic ceiling. Before timing, the
fused and naive models (same weights) must agree on the same input (exit status 1 otherwise).
Runs on the GPU when one is present.

    python bench/bench_axial.py [--depth 6] [--width 128] [--heads 8] [--batch 128]
                                [--steps 3] [--warmup 1] [--threads N] [--only fused,bf16]
                                [--json out.json]

Timing on a shared machine: after ``--warmup`` untimed steps each, the settings are timed in
``--steps`` interleaved rounds (one step of every setting per round, plus one matmul), and each
keeps its best step; the peak is the best matmul over all rounds. Bursts of other work then hit
every setting alike and lower the reported % of peak rather than raise it. Keep ``--steps``
small: a study-size CPU step takes seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from vaxis.decoders.axial import AxialTransformer
from vaxis.decoders.flops import axial_flops

FACED_TRAIN_SAMPLES = 80 * 28 * 3
EPOCHS = 150
N_CLASSES, N_CHANNELS, N_BANDS, N_SECONDS = 9, 32, 5, 10
AGREEMENT_TOLERANCE = 1e-4
MLP_RATIO = 4  # AxialTransformer's default


@dataclass(frozen=True)
class Setting:
    """One way to run the training step: model overrides, autocast dtype, compilation."""

    name: str
    hyper: dict[str, Any] = field(default_factory=dict)
    autocast: torch.dtype | None = None
    compile: bool = False


def settings(bf16: torch.dtype | None) -> list[Setting]:
    return [
        Setting("naive", {"fused": False}),
        Setting("fused"),
        *([Setting("bf16", autocast=bf16)] if bf16 else []),
        Setting("compile", compile=True),
        Setting("depth3", {"depth": 3}),
        Setting("tokens8", {"channel_tokens": 8}),
        Setting("cheapest", {"depth": 3, "channel_tokens": 8}, autocast=bf16),
    ]


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(run: Callable[[], object], device: torch.device) -> float:
    synchronise(device)
    start = time.perf_counter()
    run()
    synchronise(device)
    return time.perf_counter() - start


def matmul_gflops(device: torch.device, dtype: torch.dtype, n: int = 2048) -> float:
    """GFLOP/s of one n x n x n matmul (2 n^3 FLOP), after one warm-up product."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.matmul(a, b)
    return 2 * n**3 / timed(lambda: torch.matmul(a, b), device) / 1e9


def dense_products(
    args: argparse.Namespace, device: torch.device
) -> tuple[int, Callable[[], None]]:
    """FLOP and a runner of one layer's dense products at the configured size (fwd, both bwd).

    Width-128 layers multiply (20,480 tokens x 128) by (128 x 384) and the like: much thinner
    than the 2048^3 peak product, so their rate is the realistic ceiling for the step's matmuls.
    """
    m, d, r = args.batch * N_CHANNELS * N_BANDS, args.width, MLP_RATIO
    products, flop = [], 0
    for k, n in ((d, 3 * d), (d, d), (d, r * d), (r * d, d)):
        x, w, g = (torch.randn(*shape, device=device) for shape in ((m, k), (k, n), (m, n)))
        for a, b in ((x, w), (g, w.T), (x.T, g)):  # forward, input gradient, weight gradient
            products.append(partial(torch.matmul, a, b))
            flop += 2 * m * k * n

    def run() -> None:
        for product in products:
            product()

    run()
    return flop, run


def build(
    args: argparse.Namespace, hyper: dict[str, Any], device: torch.device
) -> AxialTransformer:
    torch.manual_seed(0)
    config = {"depth": args.depth, "width": args.width, "heads": args.heads, **hyper}
    return AxialTransformer(N_CHANNELS, N_BANDS, N_CLASSES, **config).to(device)


def check_agreement(args: argparse.Namespace, device: torch.device) -> float:
    """Max |fused - naive| on the logits of one batch (eval mode, same weights, fp32)."""
    fused, naive = build(args, {}, device).eval(), build(args, {"fused": False}, device).eval()
    naive.load_state_dict(fused.state_dict())
    x = torch.randn(min(args.batch, 32), N_SECONDS, N_CHANNELS, N_BANDS, device=device)
    with torch.no_grad():
        return float((fused(x) - naive(x)).abs().max())


def prepare(
    setting: Setting, args: argparse.Namespace, device: torch.device
) -> tuple[int, Callable[[], None]]:
    """Model FLOP of one training step and a function that runs one (forward to AdamW update)."""
    model = build(args, setting.hyper, device).train()
    run: Callable[[torch.Tensor], torch.Tensor] = torch.compile(model) if setting.compile else model
    x = torch.randn(args.batch, N_SECONDS, N_CHANNELS, N_BANDS, device=device)
    y = torch.randint(0, N_CLASSES, (args.batch,), device=device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    autocast = setting.autocast

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            loss = F.cross_entropy(run(x), y)
        loss.backward()
        optimiser.step()

    return axial_flops(model, args.batch, training=True), step


Prepared = dict[str, tuple[Setting, int, Callable[[], None]]]


def prepare_all(
    args: argparse.Namespace, device: torch.device, bf16: torch.dtype | None
) -> Prepared:
    """Every chosen setting that builds and survives its warm-up steps, by name."""
    prepared: Prepared = {}
    for setting in settings(bf16):
        if args.only and setting.name not in args.only.split(","):
            continue
        try:
            flop, step = prepare(setting, args, device)
            for _ in range(args.warmup):
                step()
        except Exception as error:  # compile needs a working toolchain: report, go on
            print(f"{setting.name} skipped: {type(error).__name__}: {str(error)[:200]}")
            continue
        prepared[setting.name] = (setting, flop, step)
    return prepared


def report(
    results: list[dict[str, Any]], args: argparse.Namespace, peak: float, peak_bf16: float
) -> None:
    """Complete each result with throughput, % of peak and extrapolated times; print a table."""
    steps_per_epoch = math.ceil(FACED_TRAIN_SAMPLES / args.batch)
    print(
        f"\ndepth {args.depth}, width {args.width}, heads {args.heads}, batch {args.batch}; "
        f"epoch = {steps_per_epoch} steps ({FACED_TRAIN_SAMPLES} FACED training samples), "
        f"checkpoint = {EPOCHS} epochs; fp32 peak {peak:.0f}, bf16 peak {peak_bf16:.0f} GFLOP/s"
    )
    print("setting    s/step  GFLOP/step  GFLOP/s  %fp32peak  %ownpeak   s/epoch  h/checkpoint")
    for r in results:
        gflops = r["gflop_per_step"] / r["s_per_step"]
        r["gflops"] = gflops
        r["pct_fp32_peak"] = 100 * gflops / peak
        r["pct_own_peak"] = 100 * gflops / (peak_bf16 if r["bf16"] else peak)
        r["s_per_epoch"] = steps_per_epoch * r["s_per_step"]
        r["h_per_checkpoint"] = EPOCHS * r["s_per_epoch"] / 3600
        print(
            f"{r['setting']:<9} {r['s_per_step']:7.3f} {r['gflop_per_step']:11.1f} "
            f"{gflops:8.1f} {r['pct_fp32_peak']:9.1f}% {r['pct_own_peak']:8.1f}% "
            f"{r['s_per_epoch']:9.1f} {r['h_per_checkpoint']:12.2f}"
        )
    by_name = {r["setting"]: r for r in results}
    if "naive" in by_name and "fused" in by_name:
        ratio = by_name["naive"]["s_per_step"] / by_name["fused"]["s_per_step"]
        print(f"naive / fused step time: {ratio:.2f}")


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    parser.add_argument("--only", default="", help="comma-separated setting names to run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def main() -> int:
    args = parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    where = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(
        f"device: {where}, torch {torch.__version__}, {torch.get_num_threads()} threads; {load()}"
    )
    peak = max(matmul_gflops(device, torch.float32) for _ in range(3))
    peak_bf16 = max(matmul_gflops(device, torch.bfloat16) for _ in range(3))
    bf16 = torch.bfloat16 if peak_bf16 > 1.2 * peak else None
    if bf16 is None:
        print(
            f"bf16 matmul ({peak_bf16:.0f} GFLOP/s) is not faster than fp32 ({peak:.0f}) here: "
            "bf16 settings skipped"
        )

    diff = check_agreement(args, device)
    print(f"fused vs naive attention, max |logit difference|: {diff:.2e}")
    if diff > AGREEMENT_TOLERANCE:
        print(f"FAIL: fused and naive attention disagree (> {AGREEMENT_TOLERANCE})")
        return 1

    prepared = prepare_all(args, device, bf16)
    dense_flop, dense_run = dense_products(args, device)
    dense_best = math.inf
    best = dict.fromkeys(prepared, math.inf)
    for _ in range(args.steps):
        peak = max(peak, matmul_gflops(device, torch.float32))
        peak_bf16 = max(peak_bf16, matmul_gflops(device, torch.bfloat16))
        dense_best = min(dense_best, timed(dense_run, device))
        for name, (_, _, step) in prepared.items():
            best[name] = min(best[name], timed(step, device))
    print(f"timed {args.steps} interleaved rounds; {load()}")
    results = [
        {
            "setting": name,
            "bf16": s.autocast is not None,
            "gflop_per_step": flop / 1e9,
            "s_per_step": best[name],
        }
        for name, (s, flop, _) in prepared.items()
    ]
    dense = dense_flop / dense_best / 1e9
    report(results, args, peak, peak_bf16)
    print(
        f"the model's own dense-layer products alone reach {dense:.0f} GFLOP/s "
        f"({100 * dense / peak:.0f}% of the fp32 peak): the realistic ceiling for a step"
    )
    if args.json:
        options = {k: v for k, v in vars(args).items() if k != "json"}
        out = {"device": where, "peak_fp32": peak, "peak_bf16": peak_bf16, "max_diff": diff}
        out["dense_products_gflops"] = dense
        args.json.write_text(json.dumps(out | {"options": options, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
