"""Stimulus positions from the V-axis: a saved axis folder, clip descriptions, and the resolver.

The EEG read-out needs one number per stimulus (clip), its position on the V-axis. The study
placed each FACED clip from a short text description of the clip. vaxis takes positions from,
in order of preference:

- ``axis:<dir>``: a saved axis folder that holds ``stimulus_positions.csv`` (per-clip positions,
  e.g. from :func:`project_descriptions`), with the axis's class positions alongside;
- ``file:<path>``: a user's CSV (columns ``stimulus``, ``position``, optional ``description``;
  ``stimulus`` is the 0-based id or the name, e.g. ``anger-2``) or a JSON written by
  :meth:`StimulusPositions.save`;
- ``class-fallback:<origin>``: every clip takes its class's position (from a saved axis without
  per-clip positions, or the dataset's valence groups -1 / 0 / +1); a note says so;
- ``synthetic-truth``: the valence planted in a synthetic cohort (software tests only).

The bundled table ``resources/faced_clips.csv`` (:func:`faced_clips`; a dataset names its
table in :attr:`Dataset.clip_descriptions`) has one description per clip. The clips are
copyrighted films whose titles and contents vaxis could not verify, so the descriptions were
written for vaxis at the *category* level (the same sentence for every clip of a category; the
``title`` column is empty). Positions projected from them are therefore
class positions in another form; users who know the clips supply their own descriptions.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from vaxis.axis.axis import VAxis
from vaxis.core.positions import (
    STIMULUS_POSITIONS_FILE,
    StimulusPositions,
    from_class_positions,
    from_file,
    from_truth,
    from_valence_groups,
    stimulus_names,
)
from vaxis.data.datasets import REFERENCE_DATASET, dataset_names, get_dataset
from vaxis.data.synthetic import load_truth
from vaxis.errors import DataFormatError


def axis_class_positions(axis: VAxis) -> dict[str, float]:
    """Class name -> position of the class centroid at the axis's chosen layer."""
    return dict(zip(axis.class_names_, map(float, axis.class_positions_[axis.layer_]), strict=True))


def from_axis_dir(path: str | Path, dataset: str = "faced") -> StimulusPositions:
    """Positions from a saved axis folder: its ``stimulus_positions.csv`` when present, else
    the axis's class positions (class fallback, with a note)."""
    folder = Path(path)
    axis = VAxis.load(folder)
    classes = axis_class_positions(axis)
    per_clip = folder / STIMULUS_POSITIONS_FILE
    missing = _why_not_per_clip(per_clip, dataset)
    if missing:
        return from_class_positions(
            dataset,
            classes,
            f"class-fallback:axis:{folder}",
            f"{missing}: every stimulus takes its class's position at layer {axis.layer_}",
        )
    table = from_file(per_clip, dataset)
    fallback = from_class_positions(dataset, classes)
    return table.model_copy(
        update={
            "source": f"axis:{folder}",
            "class_names": fallback.class_names,
            "class_positions": fallback.class_positions,
            "note": f"per-stimulus positions from {per_clip.name} (axis layer {axis.layer_})",
        }
    )


def _why_not_per_clip(per_clip: Path, dataset: str) -> str:
    """Why the axis folder's per-stimulus table cannot place ``dataset``'s stimuli ("" when it
    can): it is absent, or it names another dataset's stimuli (an axis built on FACED clip
    descriptions, asked for SEED-V's trials by the cross-dataset source)."""
    if not per_clip.exists():
        return f"{per_clip.name} not in the axis folder"
    names = stimulus_names(dataset)
    with per_clip.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        stimulus, name = row.get("stimulus", "").strip(), row.get("name")
        if name is None or not stimulus.isdigit():
            return ""  # a hand-written table (stimulus, position): from_file checks it
        if int(stimulus) >= len(names) or names[int(stimulus)] != name:
            return f"{per_clip.name} places other stimuli than {dataset}'s ({name!r})"
    return ""


@dataclass(frozen=True)
class ClipDescription:
    """One row of a description table."""

    clip: int
    name: str
    category: str
    title: str
    description: str


def bundled_descriptions(dataset: str) -> tuple[ClipDescription, ...]:
    """The bundled description table of ``dataset`` (:attr:`Dataset.clip_descriptions`; empty
    when it has none)."""
    table = get_dataset(dataset).clip_descriptions
    if table is None:
        return ()
    text = resources.files("vaxis").joinpath("resources", table).read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return tuple(
        ClipDescription(int(r["clip"]), r["name"], r["category"], r["title"], r["description"])
        for r in rows
    )


def faced_clips() -> tuple[ClipDescription, ...]:
    """The bundled FACED description table (category-level; see the module docstring)."""
    return bundled_descriptions(REFERENCE_DATASET)


def project_descriptions(
    axis: VAxis,
    clips: tuple[ClipDescription, ...] | None = None,
    dataset: str = REFERENCE_DATASET,
    origin: str | None = None,
) -> StimulusPositions:
    """Per-clip positions: the axis applied to each clip's description (the study's way).

    Needs an axis with a state source (``VAxis.set_state_source``); the texts go through the
    language model, so this is the slow step (save the result with :meth:`StimulusPositions.save`
    as ``stimulus_positions.csv`` inside the axis folder for :func:`from_axis_dir`).
    ``clips`` default to the dataset's bundled table, ``origin`` names where they came from.
    """
    clips = bundled_descriptions(dataset) if clips is None else clips
    if not clips:
        raise ValueError(f"{dataset} has no bundled clip descriptions: pass clips")
    origin = origin or f"vaxis:{get_dataset(dataset).clip_descriptions}"
    texts = [c.description for c in clips]
    positions = np.asarray(axis.transform(texts), dtype=float)
    fallback = from_class_positions(dataset, axis_class_positions(axis))
    return StimulusPositions(
        dataset=dataset,
        stimuli=tuple(c.clip for c in clips),
        positions=tuple(float(p) for p in positions),
        source=f"axis-descriptions:{origin}",
        class_names=fallback.class_names,
        class_positions=fallback.class_positions,
        descriptions=tuple(texts),
        note=f"axis layer {axis.layer_} applied to each clip's description",
    )


def resolve_positions(spec: str, cohort_path: str | Path, dataset: str) -> StimulusPositions:
    """Positions from a command-line value: an axis folder, a file, ``classes`` (the dataset's
    valence groups) or ``truth`` (the ground truth saved beside a synthetic cohort)."""
    if dataset not in dataset_names():
        raise DataFormatError(
            cohort_path,
            f"V-axis positions are defined for {' and '.join(dataset_names())} stimuli, not for a "
            f"{dataset!r} cohort",
            "use the cohort with `vaxis data` and `vaxis train`; positions for your own stimuli "
            "are not supported yet",
        )
    if spec == "truth":
        return from_truth(load_truth(cohort_path))
    if spec == "classes":
        return from_valence_groups(dataset)
    path = Path(spec)
    if path.is_dir():
        return from_axis_dir(path, dataset)
    if path.is_file():
        return from_file(path, dataset)
    raise DataFormatError(
        path,
        "not an axis folder, a positions file, 'classes' or 'truth'",
        "pass a folder written by VAxis.save, a CSV (stimulus, position), 'classes' or 'truth'",
    )
