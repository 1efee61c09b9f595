"""Benchmark the training engine: against a plain DataLoader loop, and at the paper's size.

**Engine vs loader** (the default).

Both train the same decoder (same initial weights, AdamW, warm-up + cosine schedule, batch 128,
per-epoch selection on validation balanced accuracy) for the same epochs on the same SYNTHETIC
FACED-shaped cohort (123 subjects, the study's split 0-79 / 80-99 / 100-122, per-subject
z-scored DE). The plain loop is how PyTorch is usually written:
``DataLoader(TensorDataset(x, y), shuffle=True)`` fetching and collating sample by sample, each
batch moved to the device. Only training time is timed (validation passes are excluded on both
sides). Every decoder x unit combination asked for is run: 10-s segments (10 x 32 x 5, the
study's unit) and 1-s windows (1 x 32 x 5, the FACED paper's).

    python bench/bench_engine.py [--decoders linear,mlp] [--units segment,window]
                                 [--epochs E] [--threads T] [--device cpu|cuda|auto]

Prints samples/s of each, the ratio (target >= 2x) and test balanced accuracy of each; exits
with status 1 if either is not clearly above chance or they disagree by more than
``--tolerance`` (different shuffling orders make them differ by noise, not by method).
braindecode/skorch are timed only if installed (they are not dependencies of vaxis).

**Paper size** (``--paper``): the study's ensemble member (EMOD-style axial transformer, depth
6, width 128, augmentation + distillation, batch 128, AdamW, cosine schedule) trained by
:func:`~vaxis.decoders.train.fit` on a SYNTHETIC FACED-sized training set (80 training
subjects x 28 clips x 30 s: 6,720 10-s segments, the study's unit, or 67,200 1-s windows with
``--units window``; the model averages the seconds, so a sample costs the same either way).
``--steps`` batches (default 20 on a CPU, 200 on a GPU; ``--quick``: 3 / 20) of the training
set are timed after an untimed warm-up of 2 batches, in fp32 and, where a bf16 matmul is
faster than fp32 here (or ``--precisions`` asks for it), bf16. Prints samples/s, model
GFLOP/s (:func:`vaxis.decoders.flops.axial_flops`), the % of the fp32 and bf16 matmul peaks
measured in the same run (bench/bench_axial.py's ``matmul_gflops``), the extrapolated time of
one epoch and of a 150-epoch member; exits 1 if the bf16 run's mean training loss differs from
fp32's by more than ``PRECISION_TOLERANCE`` (relative; same seed, same batches).

    python bench/bench_engine.py --paper [--quick] [--steps N] [--precisions fp32,bf16]
                                         [--units segment|window] [--device cpu|cuda|auto]
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from bench_axial import matmul_gflops
from vaxis.data.cohort import Cohort
from vaxis.data.normalize import subject_zscore
from vaxis.data.splits import study_split
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders import Decoder, build_decoder
from vaxis.decoders.accel import resolve_device
from vaxis.decoders.axial import AxialTransformer
from vaxis.decoders.experiment import with_regime
from vaxis.decoders.flops import axial_flops
from vaxis.decoders.train import TrainConfig, evaluate, fit, forward_all, warmup_cosine
from vaxis.decoders.units import Units, make_units

#: the study's ensemble member (DESIGN sec. 1)
PAPER_MEMBER = {"decoder": "axial", "hyper": {"depth": 6, "width": 128}, "batch_size": 128}
PAPER_REGIME = "aug-kd"
MEMBER_EPOCHS = 150
#: largest relative difference of the mean training loss, bf16 vs fp32, over a short run
PRECISION_TOLERANCE = 0.05


def plain_loop(
    model: Decoder, config: TrainConfig, train: Units, val: Units, device: torch.device
) -> tuple[Decoder, float]:
    """The usual PyTorch loop; returns the val-selected model and training seconds."""
    loader = DataLoader(
        TensorDataset(torch.as_tensor(train.x), torch.as_tensor(train.y)),
        batch_size=config.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(config.seed),
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps = len(loader)
    schedule = partial(
        warmup_cosine, warmup=config.warmup_epochs * steps, total=config.epochs * steps
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    val_x, best, best_state, seconds = torch.as_tensor(val.x, device=device), -1.0, None, 0.0
    for _ in range(config.epochs):
        start = time.perf_counter()
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - start
        predicted = forward_all(model, val_x)[0].argmax(1).cpu().numpy()
        score = balanced_accuracy_score(val.y, predicted)
        if score > best:
            best, best_state = score, copy.deepcopy(model.state_dict())
    assert best_state is not None
    model.load_state_dict(best_state)
    return model, seconds


def compare(cohort: Cohort, decoder: str, unit: str, args: argparse.Namespace) -> bool:
    """Run both loops on one decoder and unit; print one line each; True if accuracies pass."""
    train, val, test = (make_units(p, unit=unit) for p in study_split(cohort)[0].cohorts(cohort))
    config = TrainConfig(decoder=decoder, epochs=args.epochs, warmup_epochs=1, seed=0,
                         device=args.device, num_threads=args.threads)  # fmt: skip
    torch.manual_seed(0)
    initial = build_decoder(decoder, train.n_channels, train.n_bands, train.n_classes)
    engine = fit(config, train, val, model=copy.deepcopy(initial))
    device = next(engine.model.parameters()).device
    engine_ba = evaluate(engine.model, test)[0].balanced_accuracy
    with torch.random.fork_rng():
        torch.manual_seed(0)
        plain, seconds = plain_loop(copy.deepcopy(initial).to(device), config, train, val, device)
    plain_ba = evaluate(plain, test)[0].balanced_accuracy
    plain_rate = len(train) * args.epochs / seconds
    ratio = engine.samples_per_second / plain_rate
    chance = 1 / train.n_classes
    passed = min(engine_ba, plain_ba) > chance + 0.1 and abs(engine_ba - plain_ba) <= args.tolerance
    print(
        f"{decoder:7s} {unit:8s} {len(train):7d} {tuple(train.x.shape[1:])!s:14s} "
        f"{engine.samples_per_second:9.0f} {plain_rate:9.0f} {ratio:5.1f}x "
        f"{'met' if ratio >= 2 else 'NOT met':8s} {engine_ba:6.3f} {plain_ba:6.3f} "
        f"{'ok' if passed else 'FAIL'}"
    )
    return passed


def faced_sized_train(unit: str = "segment") -> Units:
    """The training units of a SYNTHETIC FACED-sized cohort (123 subjects x 28 clips x 30 s,
    per-subject z-scored DE) under the study's split: 80 subjects."""
    cohort = subject_zscore(synthesize_features(SynthConfig(n_subjects=123, seed=0))[0])
    train = study_split(cohort)[0].cohorts(cohort)[0]
    return make_units(train, unit=unit)


def member_config(precision: str, device: str, **changes: object) -> TrainConfig:
    """The paper's member recipe for a one-epoch timing run (no warm-up epochs, so the
    learning rate moves and precisions can be compared on the losses)."""
    recipe = TrainConfig.model_validate(
        {
            **PAPER_MEMBER,
            "epochs": 1,
            "warmup_epochs": 0,
            "precision": precision,
            "device": device,
            **changes,
        }
    )
    return with_regime(recipe, PAPER_REGIME)


def first_batches(train: Units, n_batches: int, batch_size: int, seed: int = 0) -> Units:
    """A seeded random subset of ``n_batches`` whole batches of ``train``."""
    n = min(len(train), n_batches * batch_size)
    return train.subset(np.sort(np.random.default_rng(seed).permutation(len(train))[:n]))


@dataclass(frozen=True)
class Timing:
    precision: str
    samples_per_second: float
    mean_train_loss: float
    flop_per_sample: float

    def gflops(self) -> float:
        return self.samples_per_second * self.flop_per_sample / 1e9


def time_member(train: Units, steps: int, precision: str, device: str, **changes: object) -> Timing:
    """Train the member for ``steps`` batches after 2 untimed ones; its rate and mean loss."""
    config = member_config(precision, device, **changes)
    fit(config, first_batches(train, 2, config.batch_size, seed=1))  # warm-up, untimed
    result = fit(config, first_batches(train, steps, config.batch_size))
    model = AxialTransformer(train.n_channels, train.n_bands, train.n_classes, **config.hyper)
    flop = axial_flops(model, config.batch_size, training=True) / config.batch_size
    return Timing(precision, result.samples_per_second, result.history[0].train_loss, flop)


def paper(args: argparse.Namespace) -> int:
    """The paper-size member in each precision; % of this machine's measured matmul peaks."""
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or ((20 if cuda else 3) if args.quick else (200 if cuda else 20))
    n = 8192 if cuda else 2048
    peak = max(matmul_gflops(device, torch.float32, n) for _ in range(3))
    peak_bf16 = max(matmul_gflops(device, torch.bfloat16, n) for _ in range(3))
    precisions = args.precisions.split(",") if args.precisions else ["fp32"]
    if not args.precisions and peak_bf16 > 1.2 * peak:
        precisions.append("bf16")
    elif not args.precisions:
        print(
            f"bf16 matmul ({peak_bf16:.0f} GFLOP/s) is not faster than fp32 ({peak:.0f}) "
            "here: bf16 skipped (--precisions fp32,bf16 runs it anyway)"
        )
    train = faced_sized_train(args.units)
    where = torch.cuda.get_device_name(device) if cuda else "CPU"
    print(
        f"SYNTHETIC FACED-sized training set: {len(train)} {args.units}s (80 subjects); "
        f"depth 6 width 128 axial, {PAPER_REGIME}, batch 128; {steps} timed steps on {where}, "
        f"{torch.get_num_threads()} thread(s); matmul peak fp32 {peak:.0f}, bf16 "
        f"{peak_bf16:.0f} GFLOP/s (n={n})"
    )
    print(
        "precision  samples/s  GFLOP/s  %fp32peak  %bf16peak   s/epoch  h/150-epoch member  "
        "mean loss"
    )
    timings = [
        time_member(train, steps, p, str(device), num_threads=args.threads) for p in precisions
    ]
    for t in timings:
        epoch = len(train) / t.samples_per_second
        print(
            f"{t.precision:9s} {t.samples_per_second:10.0f} {t.gflops():8.0f} "
            f"{100 * t.gflops() / peak:9.1f} {100 * t.gflops() / peak_bf16:10.1f} "
            f"{epoch:9.1f} {epoch * MEMBER_EPOCHS / 3600:19.2f}  {t.mean_train_loss:.4f}"
        )
    return check_precisions(timings)


def check_precisions(timings: list[Timing]) -> int:
    """0 when every precision's mean loss is within PRECISION_TOLERANCE of fp32's, else 1."""
    exact = next((t for t in timings if t.precision == "fp32"), None)
    failed = False
    for t in timings:
        if exact is None or t is exact:
            continue
        gap = abs(t.mean_train_loss - exact.mean_train_loss) / exact.mean_train_loss
        ok = gap <= PRECISION_TOLERANCE and math.isfinite(t.mean_train_loss)
        failed |= not ok
        print(
            f"{t.precision} vs fp32: mean training loss differs by {100 * gap:.2f}% "
            f"(tolerance {100 * PRECISION_TOLERANCE:.0f}%): {'ok' if ok else 'FAIL'}"
        )
    return 1 if failed else 0


def try_skorch() -> None:
    try:
        import braindecode  # noqa: F401
        import skorch  # noqa: F401
    except ImportError as error:
        print(f"braindecode/skorch: skipped ({error}; not a vaxis dependency)")
        return
    print("braindecode/skorch: installed, but no comparison is implemented yet")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoders", default="linear,mlp")
    parser.add_argument("--units", default="segment,window")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (both sides)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--paper", action="store_true", help="the paper-size member instead")
    parser.add_argument("--quick", action="store_true", help="--paper: 3 steps (CPU), 20 (GPU)")
    parser.add_argument("--steps", type=int, default=0, help="--paper: timed steps")
    parser.add_argument("--precisions", default="", help="--paper: e.g. fp32,bf16,fp16")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.paper:
        args.units = args.units if args.units in ("segment", "window") else "segment"
        return paper(args)
    cohort = subject_zscore(synthesize_features(SynthConfig(n_subjects=123, seed=0))[0])
    print(
        f"SYNTHETIC FACED-shaped cohort, 123 subjects, study split; {args.epochs} epochs, "
        f"batch 128, {args.threads} thread(s), device {args.device}; accuracy = test balanced "
        "accuracy (chance 0.111)"
    )
    print("decoder unit       train  sample         engine/s  loader/s ratio target   "
          "engine loader accuracy")  # fmt: skip
    results = [
        compare(cohort, decoder, unit, args)
        for decoder in args.decoders.split(",")
        for unit in args.units.split(",")
    ]
    try_skorch()
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
