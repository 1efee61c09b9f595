"""Parameter-efficient fine-tuning with the V-axis loss (the study's full head, LoRA, IA3).

Stage 1 trains the plain baseline decoder (same recipe and seed, so the same weights as the
baseline arm; selected on validation). Stage 2 freezes its backbone and trains only

* ``full-head``: the classification head;
* ``lora``: rank-4, alpha-8 LoRA adapters on every Linear layer of the backbone;
* ``ia3``: IA3 per-feature output scalings on the same layers,

with cross-entropy plus ``weight x`` the V-axis read-out loss (the study's 0.1), selected on
validation again. With a frozen backbone the read-out cannot move the features in the
full-head variant, so that arm measures further head training with the read-out head
alongside; LoRA and IA3 let the read-out reshape the features through their adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from vaxis.align.procedures.adapters import IA3Linear, LoRALinear, wrap_linears
from vaxis.align.procedures.base import (
    ProcedureContext,
    axis_loss,
    freeze,
    is_head,
    run_with,
    seeded,
    stage_record,
)
from vaxis.decoders.base import Decoder
from vaxis.decoders.experiment import RunSummary
from vaxis.decoders.train import TrainResult, fit
from vaxis.decoders.units import Units

STAGE1 = "stage1"
LORA_RANK, LORA_ALPHA = 4, 8.0

#: how each variant prepares the stage-1 decoder: freezes it and returns what stays trainable
Adapt = Callable[[Decoder], list[str]]
VARIANTS: dict[str, Adapt] = {
    "full-head": lambda model: freeze(model, is_head),
    "lora": partial(wrap_linears, wrap=partial(LoRALinear, rank=LORA_RANK, alpha=LORA_ALPHA)),
    "ia3": partial(wrap_linears, wrap=IA3Linear),
}


def fine_tune(ctx: ProcedureContext, weight: float, variant: str) -> RunSummary:
    """Stage 1 (baseline) then stage 2 (``variant`` with the V-axis loss); see the module."""
    adapt = VARIANTS[variant]
    notes: dict[str, object] = {"procedure": f"peft-{variant}", "weight": weight}

    def trainer(train: Units, val: Units, out: Path) -> TrainResult:
        stage1 = fit(ctx.config, train, val, run_dir=out / STAGE1)
        model = stage1.model
        with seeded(ctx.config.seed):  # LoRA's A matrices are drawn from the seed
            trainable = adapt(model)
        loss = axis_loss(ctx.positions, train, model, weight, ctx.control, ctx.config.seed)
        notes.update(stage1=stage_record(stage1), trainable=trainable)
        return fit(ctx.config, train, val, model=model, run_dir=out, extra_loss=loss)

    return run_with(ctx, notes, trainer)
