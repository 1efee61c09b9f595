"""Benchmark the training engine against a plain PyTorch DataLoader loop.

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
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from functools import partial

import torch
from sklearn.metrics import balanced_accuracy_score
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from vaxis.data.cohort import Cohort
from vaxis.data.normalize import subject_zscore
from vaxis.data.splits import study_split
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders import Decoder, build_decoder
from vaxis.decoders.train import TrainConfig, evaluate, fit, forward_all, warmup_cosine
from vaxis.decoders.units import Units, make_units


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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
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
