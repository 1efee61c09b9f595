"""The sweep job kind ``align``: one arm (the baseline or an intervention) trained with one seed.

Registered with :func:`~vaxis.sweep.jobs.job_kind` when this module is imported; the sweep
runner hands the function to its workers by reference, so spawned workers import it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from vaxis.align.config import parse_arm
from vaxis.sweep.jobs import job_kind

if TYPE_CHECKING:
    import numpy as np

    from vaxis.align.interventions import Control
    from vaxis.data.cohort import Cohort
    from vaxis.data.splits import Split
    from vaxis.decoders.base import Decoder
    from vaxis.decoders.experiment import InputConfig, RunSummary
    from vaxis.decoders.train import ExtraLoss, TrainConfig
    from vaxis.decoders.units import Units


@job_kind("align", data_params=("cohort", "source_cohort"))
def align_job(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Train one arm on one split with one seed; returns the run's metrics.json plus ``arm``
    and ``weight``.

    Params: ``cohort`` (file), ``split`` (a name in ``SPLITTERS``), ``fold``, ``train``
    (TrainConfig fields), ``inputs`` (InputConfig fields), ``positions`` (a
    StimulusPositions record), ``arm`` (``baseline``, ``<intervention>`` or
    ``<intervention>/<control>``), ``weight`` (the extra loss's weight; None: the
    intervention's default), for the cross-dataset procedure ``source_cohort`` and
    ``source_positions``, and ``epoch_probe`` (record per-epoch means and gradient shares for
    `vaxis saturation`; auxiliary-loss arms and the baseline only). An intervention's targets
    come from the positions of the *training* units only.
    """
    # torch is imported only by the jobs that train, not by every sweep process
    from vaxis.core.positions import StimulusPositions
    from vaxis.core.runs import read_metrics
    from vaxis.data.cohort import Cohort
    from vaxis.data.splits import split_fold
    from vaxis.decoders.experiment import InputConfig, run_experiment
    from vaxis.decoders.train import TrainConfig

    cohort = Cohort.load(params["cohort"])
    split = split_fold(cohort, params["split"], int(params["fold"]))
    config = TrainConfig(**params["train"])
    positions = StimulusPositions.model_validate(params["positions"])
    name, control = parse_arm(params["arm"])
    weight = params.get("weight")

    def factory(model: Decoder, train: Units) -> ExtraLoss:
        from vaxis.align.interventions import AlignmentTargets, build_intervention

        targets = AlignmentTargets.from_positions(positions, train)
        kind = cast("Control | None", control)  # checked by AlignConfig and build_intervention
        return build_intervention(str(name), weight, targets, model, kind, config.seed)

    inputs = InputConfig(**params["inputs"])
    if name is not None and name in procedures():
        summary = _run_procedure(params, cohort, split, config, inputs, workdir)
    else:
        observer = None
        if params.get("epoch_probe"):
            from vaxis.saturation.epoch_probe import EpochProbe

            def class_targets(train: Units) -> np.ndarray:
                from vaxis.align.interventions import AlignmentTargets

                return AlignmentTargets.from_positions(positions, train).class_positions

            observer = EpochProbe(workdir, class_targets)
        summary = run_experiment(
            cohort,
            split,
            config,
            workdir,
            inputs,
            protocol=params["split"],
            extra_loss_factory=None if name is None else factory,
            on_epoch_state=observer,
        )
    report = read_metrics(summary.path)
    return {"arm": params["arm"], "weight": weight, **report}


def procedures() -> frozenset[str]:
    """Names of the interventions that are training procedures (not one auxiliary loss)."""
    from vaxis.align.procedures import PROCEDURES

    return frozenset(PROCEDURES)


def _run_procedure(
    params: dict[str, Any],
    cohort: Cohort,
    split: Split,
    config: TrainConfig,
    inputs: InputConfig,
    workdir: Path,
) -> RunSummary:
    """Train a training-procedure arm (see :mod:`vaxis.align.procedures`)."""
    from vaxis.align.procedures import PROCEDURES, ProcedureContext
    from vaxis.core.positions import StimulusPositions

    name, control = parse_arm(params["arm"])
    source = params.get("source_positions")
    context = ProcedureContext(
        cohort=cohort,
        split=split,
        config=config,
        inputs=inputs,
        positions=StimulusPositions.model_validate(params["positions"]),
        workdir=workdir,
        protocol=params["split"],
        control=cast("Control | None", control),
        weight=params.get("weight"),
        source_cohort=Path(params["source_cohort"]) if "source_cohort" in params else None,
        source_positions=None if source is None else StimulusPositions.model_validate(source),
    )
    return PROCEDURES[str(name)].run(context)
