"""Alignment interventions that are training procedures, one family per file.

``PROCEDURES`` maps a name to a :class:`ProcedureSpec`; ``PROCEDURES[name].run(ctx)`` trains
one arm (a :class:`ProcedureContext`: cohort, split, recipe, positions, control, folder) and
writes a run folder like :func:`~vaxis.decoders.experiment.run_experiment`'s. These are the
study's (docs/REFERENCE.md sec. 1.6) parameter-efficient fine-tuning with the V-axis loss
(full head, LoRA, IA3: :mod:`.peft`), pretraining on the V-axis then fine-tuning (frozen,
unfrozen: :mod:`.pretrain`), full-data scaling (:mod:`.full_data`) and cross-dataset transfer
(:mod:`.cross_dataset`). The study publishes effects, not formulas: each module says which
choices are ours.
"""

from __future__ import annotations

from functools import partial

from vaxis.align.procedures.base import ProcedureContext, ProcedureSpec
from vaxis.align.procedures.cross_dataset import cross_dataset
from vaxis.align.procedures.full_data import full_data
from vaxis.align.procedures.peft import fine_tune
from vaxis.align.procedures.pretrain import pretrain_then_fine_tune

PROCEDURES: dict[str, ProcedureSpec] = {}


def register(spec: ProcedureSpec) -> ProcedureSpec:
    """Add ``spec`` to :data:`PROCEDURES` (names are unique)."""
    if spec.name in PROCEDURES:
        raise ValueError(f"procedure '{spec.name}' is registered twice")
    PROCEDURES[spec.name] = spec
    return spec


_PEFT = "parameter-efficient fine-tuning with V-axis loss"
for _variant, _label, _effect in (
    ("full-head", "full head", -0.009),
    ("lora", "LoRA", -0.010),
    ("ia3", "IA3", -0.016),
):
    register(
        ProcedureSpec(
            f"peft-{_variant}",
            partial(fine_tune, variant=_variant),
            0.1,
            f"{_PEFT}: {_label} (published)",
            _effect,
        )
    )
for _frozen, _label, _effect in ((True, "frozen", -0.401), (False, "unfrozen", -0.190)):
    register(
        ProcedureSpec(
            f"pretrain-{_label}",
            partial(pretrain_then_fine_tune, frozen=_frozen),
            1.0,
            f"pretrain on V-axis then fine-tune: {_label} (published)",
            _effect,
        )
    )
register(
    ProcedureSpec("full-data-scaling", full_data, 0.5, "full-data scaling (published)", -0.045)
)
register(
    ProcedureSpec(
        "cross-dataset", cross_dataset, 0.1, "cross-dataset FACED->SEED-V (published)", 0.002
    )
)

__all__ = ["PROCEDURES", "ProcedureContext", "ProcedureSpec", "register"]
