"""Tiny synthetic cohorts, recipe and contexts for the procedure tests (no tests here)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaxis.align.procedures import ProcedureContext
from vaxis.core.positions import from_truth
from vaxis.data.cohort import Cohort
from vaxis.data.splits import subject_holdout
from vaxis.data.synthetic import GroundTruth, SynthConfig, synthesize_features
from vaxis.decoders.experiment import InputConfig
from vaxis.decoders.train import TrainConfig
from vaxis.decoders.units import Task

#: 3 epochs of a 16-unit MLP, one thread: a run of ~200 samples takes well under a second
CONFIG = TrainConfig(
    decoder="mlp",
    hyper={"hidden": [16], "dropout": 0.0},
    epochs=3,
    warmup_epochs=1,
    batch_size=32,
    lr=1e-2,
    num_threads=1,
)


def faced(n_subjects: int = 10, seed: int = 0) -> tuple[Cohort, GroundTruth]:
    """SYNTHETIC FACED-like cohort: one 10-s segment per clip (28 samples per subject)."""
    return synthesize_features(SynthConfig(n_subjects=n_subjects, n_windows=10, seed=seed))


def seedv(n_subjects: int = 8, seed: int = 1) -> tuple[Cohort, GroundTruth]:
    """SYNTHETIC SEED-V-like cohort: two 12-s segments per trial (90 samples per subject)."""
    config = SynthConfig(like="seedv", n_subjects=n_subjects, n_windows=6, seed=seed)
    return synthesize_features(config)


def context(cohort: Cohort, truth: GroundTruth, workdir: Path, **changes: Any) -> ProcedureContext:
    """The holdout split's context for ``cohort`` with the planted valence as positions."""
    task: Task = "seedv5" if cohort.meta.dataset == "seedv" else "faced9"
    ctx = ProcedureContext(
        cohort=cohort,
        split=subject_holdout(cohort)[0],
        config=CONFIG,
        inputs=InputConfig(task=task),
        positions=from_truth(truth),
        workdir=workdir,
        protocol="holdout",
        control=None,
    )
    return replace(ctx, **changes)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    weights: dict[str, torch.Tensor] = torch.load(path, weights_only=True)
    return weights


def stage_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The last-epoch weights a stage left in its checkpoint."""
    state: dict[str, Any] = torch.load(folder / "checkpoint.pt", weights_only=True)
    weights: dict[str, torch.Tensor] = state["model"]
    return weights


def correlation(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    return float(np.corrcoef(np.asarray(a, dtype=float), np.asarray(b, dtype=float))[0, 1])
