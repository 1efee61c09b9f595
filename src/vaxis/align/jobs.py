"""The sweep job kind ``align``: one arm (the baseline or an intervention) trained with one seed.

Registered with :func:`~vaxis.sweep.jobs.job_kind` when this module is imported; the sweep
runner hands the function to its workers by reference, so spawned workers import it too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from vaxis.sweep.jobs import job_kind

if TYPE_CHECKING:
    from vaxis.align.interventions import Control
    from vaxis.decoders.base import Decoder
    from vaxis.decoders.train import ExtraLoss
    from vaxis.decoders.units import Units

BASELINE = "baseline"


def parse_arm(arm: str) -> tuple[str | None, str | None]:
    """``baseline`` -> (None, None); ``name`` -> (name, None); ``name/control`` -> both."""
    if arm == BASELINE:
        return None, None
    name, _, control = arm.partition("/")
    return name, control or None


@job_kind("align", data_params=("cohort",))
def align_job(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Train one arm on one split with one seed; returns the run's metrics.json plus ``arm``.

    Params: ``cohort`` (file), ``split`` (a name in ``SPLITTERS``), ``fold``, ``train``
    (TrainConfig fields), ``inputs`` (InputConfig fields), ``positions`` (a
    StimulusPositions record), ``arm`` (``baseline``, ``<intervention>`` or
    ``<intervention>/<control>``). The intervention's targets come from the positions of the
    *training* units only.
    """
    # torch is imported only by the jobs that train, not by every sweep process
    from vaxis.brain.positions import StimulusPositions
    from vaxis.data.cohort import Cohort
    from vaxis.data.splits import SPLITTERS
    from vaxis.decoders.experiment import METRICS_NAME, InputConfig, run_experiment
    from vaxis.decoders.train import TrainConfig

    cohort = Cohort.load(params["cohort"])
    splits = SPLITTERS[params["split"]](cohort)
    fold = int(params["fold"])
    if not 0 <= fold < len(splits):
        raise ValueError(f"split {params['split']!r} has {len(splits)} folds, not fold {fold}")
    config = TrainConfig(**params["train"])
    positions = StimulusPositions.model_validate(params["positions"])
    name, control = parse_arm(params["arm"])

    def factory(model: Decoder, train: Units) -> ExtraLoss:
        from vaxis.align.interventions import AlignmentTargets, build_intervention

        targets = AlignmentTargets.from_positions(positions, train)
        kind = cast("Control | None", control)  # checked by AlignConfig and build_intervention
        return build_intervention(str(name), None, targets, model, kind, config.seed)

    summary = run_experiment(
        cohort,
        splits[fold],
        config,
        workdir,
        InputConfig(**params["inputs"]),
        protocol=params["split"],
        extra_loss_factory=None if name is None else factory,
    )
    report: dict[str, Any] = json.loads((summary.path / METRICS_NAME).read_text())
    return {"arm": params["arm"], **report}
