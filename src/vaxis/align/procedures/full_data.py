"""Full-data scaling: the V-axis read-out loss trained on every non-test subject.

The study reports "full-data scaling" (lambda 0.5: -0.045) without its formula. Our
definition: cross-entropy plus ``weight x`` the V-axis read-out loss (the auxiliary MSE head,
:class:`~vaxis.align.interventions.readout.FeatureReadout`) trained on the training *and*
validation subjects of the split, for the recipe's fixed number of epochs, keeping the last
epoch (no validation is left to select on). ``metrics.json`` then lists the validation
subjects under ``train`` and has no ``val`` entry. Test subjects (and, for stimulus
hold-outs, test stimuli) are never trained on: :func:`check_unseen` asserts it on the very
units the loss is built for.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vaxis.align.procedures.base import ProcedureContext, axis_loss, run_with
from vaxis.data.cohort import Cohort
from vaxis.data.splits import Split, SplitError
from vaxis.decoders.base import Decoder
from vaxis.decoders.experiment import RunSummary
from vaxis.decoders.train import ExtraLoss
from vaxis.decoders.units import Units


def without_validation(split: Split) -> Split:
    """``split`` with its validation samples moved into training (same name and test part)."""
    return replace(split, train=np.union1d(split.train, split.val), val=split.val[:0])


def check_unseen(train: Units, cohort: Cohort, split: Split) -> None:
    """Raise :class:`SplitError` if ``train`` holds a test subject or stimulus that ``split``
    claims to hold out."""
    for unit in split.disjoint_by:
        tested = np.unique(getattr(cohort, unit)[split.test])
        leaked = np.intersect1d(getattr(train, unit), tested)
        if leaked.size:
            raise SplitError(
                f"{split.name}: test {unit}s {leaked[:5].tolist()} would be trained on"
            )


def full_data(ctx: ProcedureContext, weight: float) -> RunSummary:
    """Train on train + validation subjects with the read-out loss; see the module."""
    merged = without_validation(ctx.split)

    def factory(model: Decoder, train: Units) -> ExtraLoss:
        check_unseen(train, ctx.cohort, merged)
        return axis_loss(ctx.positions, train, model, weight, ctx.control, ctx.config.seed)

    notes: dict[str, object] = {
        "procedure": "full-data-scaling",
        "weight": weight,
        "trained_on": ["train", "val"],
        "selected_by": "last epoch (fixed epoch count)",
        "definition": "ours: the study does not publish the formula",
    }
    return run_with(ctx, notes, extra_loss_factory=factory, split=merged)
