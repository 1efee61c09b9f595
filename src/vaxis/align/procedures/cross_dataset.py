"""Cross-dataset transfer (the study's FACED -> SEED-V, +0.002): pretrain on the other dataset.

Stage 1 trains the decoder on a *source* cohort of the other dataset (every subject of it,
its own classes) with cross-entropy plus ``weight x`` the V-axis read-out loss against the
source's own positions, for the recipe's epochs (last epoch kept: the source has no split).
Stage 2 builds the target decoder from the seed, copies every backbone weight of the source
decoder into it (the classification heads differ in size) and fine-tunes the whole decoder on
the target's training subjects with cross-entropy, selected on validation.

Both stages see only the channels the two datasets share, matched by name case-insensitively
(FACED and SEED-V share 30 scalp channels), in the target's order, and must have the same
bands. The source must be the other dataset: a cohort of the target's dataset could contain
its test subjects. The weight (default 0.1) is our choice; the study does not give it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.align.procedures.base import (
    ProcedureContext,
    axis_loss,
    is_head,
    new_decoder,
    run_with,
    stage_record,
)
from vaxis.data.cohort import Cohort
from vaxis.data.datasets import BINARY_TASK, DATASETS, get_dataset
from vaxis.data.normalize import subject_zscore
from vaxis.data.validation import select_channels
from vaxis.decoders.base import Decoder
from vaxis.decoders.experiment import InputConfig, RunSummary
from vaxis.decoders.train import TrainResult, fit
from vaxis.decoders.units import Task, Units, make_units
from vaxis.errors import DataFormatError

if TYPE_CHECKING:
    from vaxis.core.positions import StimulusPositions

SOURCE_STAGE = "source"


def shared_channels(target: Cohort, source: Cohort) -> tuple[str, ...]:
    """The target's channels that the source also has (by name, case-insensitive)."""
    theirs = {name.upper() for name in source.meta.channel_names}
    return tuple(name for name in target.meta.channel_names if name.upper() in theirs)


def restrict_channels(cohort: Cohort, names: tuple[str, ...], path: str | Path) -> Cohort:
    """``cohort`` with only the ``names`` channels, in that order (names keep the cohort's
    own spelling)."""
    index = select_channels(cohort.meta.channel_names, names, path)
    kept = tuple(cohort.meta.channel_names[i] for i in index)
    return cohort.with_data(cohort.data[:, index], channel_names=kept)


def source_units(source: Cohort, inputs: InputConfig) -> Units:
    """Decoder inputs of the source: its own task (binary stays binary), normalised like the
    target, its dataset's default segment length."""
    own = get_dataset(source.meta.dataset).default_task
    task: Task = BINARY_TASK if inputs.task == BINARY_TASK else own
    if inputs.normalize == "subject-zscore":
        source = subject_zscore(source)
    return make_units(source, task, inputs.unit, None, inputs.sequence)


def load_source(ctx: ProcedureContext) -> tuple[Cohort, Cohort, StimulusPositions]:
    """The target and source cohorts on their shared channels, and the source's positions."""
    if ctx.source_cohort is None:
        raise ValueError(
            "cross-dataset needs a source cohort of the other dataset: set source_cohort "
            "(e.g. a SEED-V cohort file for a FACED target, or a FACED one for SEED-V)"
        )
    path = Path(ctx.source_cohort)
    if ctx.source_positions is None:
        raise ValueError(
            f"cross-dataset needs the V-axis positions of the source cohort {path}: set "
            "source_positions (e.g. resolve_positions(spec, source_cohort, source_dataset))"
        )
    source, target = Cohort.load(path), ctx.cohort
    problem = _incompatible(target, source)
    if problem:
        raise DataFormatError(path, problem[0], problem[1])
    if ctx.source_positions.dataset != source.meta.dataset:
        raise DataFormatError(
            path,
            f"source_positions are for {ctx.source_positions.dataset}, the cohort is "
            f"{source.meta.dataset}",
            "resolve the positions against the source cohort",
        )
    names = shared_channels(target, source)
    return (
        restrict_channels(target, names, "target cohort"),
        restrict_channels(source, names, path),
        ctx.source_positions,
    )


def cross_dataset(ctx: ProcedureContext, weight: float) -> RunSummary:
    """Pretrain on the source cohort, fine-tune on the target; see the module."""
    target, source, source_positions = load_source(ctx)
    notes: dict[str, object] = {
        "procedure": "cross-dataset",
        "weight": weight,
        "source_cohort": str(ctx.source_cohort),
        "source_dataset": source.meta.dataset,
        "source_positions": source_positions.source,
        "source_subjects": int(source.subjects.size),
        "shared_channels": list(target.meta.channel_names),
    }

    def trainer(train: Units, val: Units, out: Path) -> TrainResult:
        units = source_units(source, ctx.inputs)
        donor = new_decoder(ctx.config, units)
        loss = axis_loss(source_positions, units, donor, weight, ctx.control, ctx.config.seed)
        stage1 = fit(
            ctx.config, units, None, model=donor, run_dir=out / SOURCE_STAGE, extra_loss=loss
        )
        model = transplant(donor, new_decoder(ctx.config, train))
        notes["stage1"] = stage_record(stage1)
        return fit(ctx.config, train, val, model=model, run_dir=out)

    return run_with(replace(ctx, cohort=target), notes, trainer)


def transplant(donor: Decoder, model: Decoder) -> Decoder:
    """``model`` with every weight of ``donor`` outside the classification head (in place)."""
    backbone = {k: v for k, v in donor.state_dict().items() if not is_head(k)}
    missing, unexpected = model.load_state_dict(backbone, strict=False)
    if unexpected or not all(is_head(k) for k in missing):
        raise ValueError(f"the decoders differ outside the head: {unexpected or missing}")
    return model


def _incompatible(target: Cohort, source: Cohort) -> tuple[str, str] | None:
    """Why ``source`` cannot pretrain a decoder for ``target`` (problem, fix), or None."""
    fix = "pass a feature cohort of the other dataset with the same bands"
    if source.meta.kind != "features" or target.meta.kind != "features":
        return "cross-dataset transfer needs DE feature cohorts", fix
    if source.meta.dataset not in DATASETS:
        return f"unknown dataset {source.meta.dataset!r}", fix
    if source.meta.dataset == target.meta.dataset:
        return f"the source is a {source.meta.dataset} cohort like the target", fix
    bands = [[b.lower() for b in c.meta.band_names] for c in (target, source)]
    if bands[0] != bands[1]:
        return f"bands {source.meta.band_names} differ from the target's", fix
    if not shared_channels(target, source):
        return "no channel name in common with the target cohort", fix
    return None
