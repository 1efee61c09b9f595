"""Pretrain on the V-axis, then fine-tune (the study's frozen and unfrozen variants).

Stage 1 trains the decoder's backbone and a V-axis read-out head on the read-out loss alone
(no class labels; the head is set aside, see :func:`~vaxis.align.procedures.base.headless`)
for the recipe's epochs and keeps the last epoch (there is no class accuracy to select on).
Stage 2 puts the untouched, freshly initialised classification head back and trains with
cross-entropy only: the head alone (``frozen``) or the whole decoder (``unfrozen``), selected
on validation. The weight scales the only stage-1 loss, so it acts as that stage's learning
rate factor (default 1).

Controls: ``permuted`` pretrains on permuted positions; ``label-smoothing`` pretrains on the
uniform-target cross-entropy of the (set-aside) head instead, with no labels and no LLM.
"""

from __future__ import annotations

from pathlib import Path

from vaxis.align.interventions import AuxLoss
from vaxis.align.procedures.base import (
    OnHead,
    ProcedureContext,
    axis_loss,
    freeze,
    headless,
    is_head,
    new_decoder,
    run_with,
    stage_record,
)
from vaxis.decoders.base import Decoder
from vaxis.decoders.experiment import RunSummary
from vaxis.decoders.train import TrainConfig, TrainResult, fit
from vaxis.decoders.units import Units

STAGE1 = "stage1"


def pretrain(
    config: TrainConfig, train: Units, model: Decoder, loss: AuxLoss, run_dir: Path | None
) -> TrainResult:
    """Train ``model`` (in place) on ``loss`` alone, without class labels; the last epoch."""
    with headless(model) as head:
        return fit(config, train, None, model=model, run_dir=run_dir, extra_loss=OnHead(loss, head))


def pretrain_then_fine_tune(ctx: ProcedureContext, weight: float, frozen: bool) -> RunSummary:
    """Stage 1 on the V-axis, stage 2 on the classes (``frozen``: the head only)."""
    notes: dict[str, object] = {
        "procedure": f"pretrain-{'frozen' if frozen else 'unfrozen'}",
        "weight": weight,
    }

    def trainer(train: Units, val: Units, out: Path) -> TrainResult:
        model = new_decoder(ctx.config, train)
        loss = axis_loss(ctx.positions, train, model, weight, ctx.control, ctx.config.seed)
        notes["stage1"] = stage_record(pretrain(ctx.config, train, model, loss, out / STAGE1))
        notes["trainable"] = freeze(model, is_head if frozen else lambda name: True)
        return fit(ctx.config, train, val, model=model, run_dir=out)

    return run_with(ctx, notes, trainer)
