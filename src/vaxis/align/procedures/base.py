"""What every training procedure shares: its context, its registry entry and its pieces.

A procedure is an alignment intervention that changes *how* the decoder is trained (stages,
frozen parts, adapters, extra data) rather than adding one auxiliary loss. Each one ends in
:func:`~vaxis.decoders.experiment.run_experiment` with a ``trainer``, so its run folder holds
exactly the files of an ordinary run (``metrics.json``, predictions, ``model.pt``) plus a
``procedure`` entry in ``metrics.json``; ``vaxis align`` statistics read it unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from vaxis.align.interventions import CONTROLS, AlignmentTargets, AuxLoss, Control
from vaxis.align.interventions.base import LabelSmoothingControl
from vaxis.align.interventions.readout import FeatureReadout
from vaxis.core.runs import METRICS_NAME
from vaxis.decoders.base import Decoder, build_decoder
from vaxis.decoders.experiment import (
    InputConfig,
    RunSummary,
    Trainer,
    run_experiment,
)
from vaxis.decoders.train import Batch, ExtraLoss, TrainConfig, TrainResult
from vaxis.errors import DataFormatError

if TYPE_CHECKING:
    from vaxis.core.positions import StimulusPositions
    from vaxis.data.cohort import Cohort
    from vaxis.data.splits import Split
    from vaxis.decoders.units import Units

#: the attribute every decoder keeps its classification head in (see vaxis.decoders.base)
HEAD = "classifier"


@dataclass(frozen=True)
class ProcedureContext:
    """One arm of one seed: the data, the split, the recipe and where to write the run."""

    cohort: Cohort
    split: Split
    config: TrainConfig
    inputs: InputConfig
    positions: StimulusPositions
    workdir: Path
    protocol: str
    control: Control | None = None
    #: the V-axis loss weight; None: the procedure's default
    weight: float | None = None
    #: cross-dataset only: the other dataset's cohort file, and its V-axis positions
    source_cohort: Path | None = None
    source_positions: StimulusPositions | None = None

    def __post_init__(self) -> None:
        if self.control is not None and self.control not in CONTROLS:
            raise ValueError(f"unknown control {self.control!r}; choose one of {CONTROLS}")


@dataclass(frozen=True)
class ProcedureSpec:
    """A registered procedure: ``train(ctx, weight)`` with its default weight and, for the
    study's, its name and published mean delta balanced accuracy (docs/REFERENCE.md sec. 1.6)."""

    name: str
    train: Callable[[ProcedureContext, float], RunSummary]
    weight: float
    study_name: str | None = None
    study_effect: float | None = None

    def run(self, ctx: ProcedureContext) -> RunSummary:
        """Train and score the arm of ``ctx`` into ``ctx.workdir``."""
        return self.train(ctx, self.weight if ctx.weight is None else float(ctx.weight))


def axis_loss(
    positions: StimulusPositions,
    train: Units,
    model: Decoder,
    weight: float,
    control: Control | None,
    seed: int,
) -> AuxLoss:
    """The V-axis read-out loss (:class:`FeatureReadout`) for training on ``train``, or one of
    its controls: permuted targets, or label smoothing of the same weight. Its read-out head
    is initialised from ``seed``."""
    targets = AlignmentTargets.from_positions(positions, train)
    if control == "label-smoothing":
        return LabelSmoothingControl(targets, weight)
    if control == "permuted":
        targets = targets.permuted(seed)
    with seeded(seed):
        return FeatureReadout(targets, weight, model=model)


def new_decoder(config: TrainConfig, units: Units) -> Decoder:
    """The decoder :func:`~vaxis.decoders.train.fit` would build for ``units`` from the seed."""
    with seeded(config.seed):
        return build_decoder(
            config.decoder, units.n_channels, units.n_bands, units.n_classes, **config.hyper
        )


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator inside the block and restore the caller's state after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def is_head(name: str) -> bool:
    """Whether parameter or module ``name`` belongs to the classification head."""
    return name == HEAD or name.startswith(HEAD + ".")


def freeze(model: nn.Module, keep: Callable[[str], bool]) -> list[str]:
    """Turn off gradients of every parameter whose name ``keep`` rejects; the kept names.

    A batch-norm layer with frozen weights also stops updating its running statistics
    (momentum 0), so a frozen part of the model keeps every saved tensor unchanged.
    """
    kept = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(keep(name))
        if keep(name):
            kept.append(name)
    if not kept:
        raise ValueError(f"{type(model).__name__}: nothing left to train")
    for name, module in model.named_modules():
        own = [f"{name}.{p}" if name else p for p, _ in module.named_parameters(recurse=False)]
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(map(keep, own)):
            module.momentum = 0.0
    return kept


class _NoLogits(nn.Module):
    """A head with no parameters and constant zero logits: their cross-entropy has no gradient."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.n_classes = n_classes

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features.new_zeros(features.shape[0], self.n_classes)


class OnHead(nn.Module):
    """An auxiliary loss applied to the logits of a detached ``head`` (see :func:`headless`)."""

    def __init__(self, loss: AuxLoss, head: nn.Module) -> None:
        super().__init__()
        self.loss, self.head = loss, head

    def forward(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        result: torch.Tensor = self.loss(self.head(features), features, batch)
        return result


@contextmanager
def headless(model: Decoder) -> Iterator[nn.Module]:
    """Train ``model`` on an auxiliary loss alone: inside the block its head gives constant
    logits (the engine's cross-entropy adds a constant and no gradient); the real head is
    yielded (wrap a logit-reading loss in :class:`OnHead`) and put back after."""
    head = model.classifier
    model.classifier = _NoLogits(model.n_classes)
    try:
        yield head
    finally:
        model.classifier = head


def run_with(
    ctx: ProcedureContext,
    notes: dict[str, object],
    trainer: Trainer | None = None,
    extra_loss_factory: Callable[[Decoder, Units], ExtraLoss] | None = None,
    split: Split | None = None,
) -> RunSummary:
    """:func:`~vaxis.decoders.experiment.run_experiment` on the context's data and recipe with
    a procedure's ``trainer`` (or loss factory, or ``split``).

    ``notes`` (with at least ``procedure`` and ``weight``; the control is added) go to
    metrics.json. A folder holding another arm's finished run is refused rather than
    returned: the recipe alone does not tell procedures apart.
    """
    notes["control"] = ctx.control  # in place: trainers add their stages to the same dict
    _check_folder(ctx.workdir / METRICS_NAME, notes)
    return run_experiment(
        ctx.cohort,
        split or ctx.split,
        ctx.config,
        ctx.workdir,
        ctx.inputs,
        protocol=ctx.protocol,
        extra_loss_factory=extra_loss_factory,
        trainer=trainer,
        notes=notes,
    )


def _check_folder(path: Path, notes: dict[str, object]) -> None:
    if not path.exists():
        return
    recorded = json.loads(path.read_text()).get("procedure") or {}
    if any(recorded.get(key) != notes[key] for key in ("procedure", "weight", "control")):
        raise DataFormatError(
            path,
            f"this folder holds the results of another arm ({recorded or 'a plain run'})",
            "choose another output folder (results are never overwritten)",
        )


def stage_record(result: TrainResult) -> dict[str, object]:
    """What ``metrics.json`` keeps of a procedure's earlier stage."""
    return {
        "epochs": len(result.history),
        "selected_epoch": result.best_epoch,
        "selected_by": result.selected_by,
        "val_balanced_accuracy": result.best_val_balanced_accuracy,
        "final_train_loss": result.history[-1].train_loss if result.history else None,
    }
