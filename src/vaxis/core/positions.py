"""Stimulus positions on the V-axis: the one interface between the language-model axis and EEG.

The EEG read-out, the decoders' probes and the alignment losses need one number per stimulus
(clip), its position on the V-axis. This module holds that record (:class:`StimulusPositions`)
and the sources that need no language model: a user's CSV/JSON (``file:<path>``; columns
``stimulus``, ``position``, optional ``description``; ``stimulus`` is the 0-based id or the
name, e.g. ``anger-2``), class positions (``class-fallback:<origin>``: every clip takes its
class's position; a note says so), the dataset's valence groups (-1 / 0 / +1) and the valence
planted in a synthetic cohort (``synthetic-truth``, software tests only). Positions from a
saved axis folder, and the one resolver of a command-line value, are in
:mod:`vaxis.axis.positions` (the axis owns its folders).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from vaxis.data.datasets import get_dataset, registered_dataset
from vaxis.data.synthetic import GroundTruth, stimulus_classes
from vaxis.errors import DataFormatError

STIMULUS_POSITIONS_FILE = "stimulus_positions.csv"
FORMAT: Literal["vaxis-stimulus-positions"] = "vaxis-stimulus-positions"
_CSV_FIX = "write a CSV with a header 'stimulus,position' (optional 'description')"


class StimulusPositions(BaseModel):
    """One V-axis position per stimulus, the class positions if known, and where they came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["vaxis-stimulus-positions"] = FORMAT
    dataset: str
    stimuli: tuple[int, ...]
    positions: tuple[float, ...]
    source: str
    class_names: tuple[str, ...] = ()
    class_positions: tuple[float, ...] = ()
    descriptions: tuple[str, ...] = ()
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> StimulusPositions:
        registered_dataset(self.dataset)
        if len(self.positions) != len(self.stimuli) or not self.stimuli:
            raise ValueError(f"{len(self.stimuli)} stimuli but {len(self.positions)} positions")
        if len(set(self.stimuli)) != len(self.stimuli):
            raise ValueError("a stimulus is listed twice")
        if not all(math.isfinite(p) for p in self.positions + self.class_positions):
            raise ValueError("positions must be finite numbers")
        if len(self.class_positions) != len(self.class_names):
            raise ValueError("class_positions and class_names differ in length")
        if self.descriptions and len(self.descriptions) != len(self.stimuli):
            raise ValueError("descriptions must be empty or one per stimulus")
        return self

    def aligned(self, stimuli: np.ndarray) -> np.ndarray:
        """Positions in the order of ``stimuli`` (e.g. a cohort's stimulus ids)."""
        lookup = dict(zip(self.stimuli, self.positions, strict=True))
        missing = [int(s) for s in stimuli if int(s) not in lookup]
        if missing:
            raise DataFormatError(
                None,
                f"positions ({self.source}) have no entry for stimuli {missing[:10]}",
                "give every stimulus of the cohort a position",
            )
        return np.array([lookup[int(s)] for s in stimuli])

    def save(self, path: str | Path) -> Path:
        """``.json``: the whole record; ``.csv``: stimulus, name, position, description."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".csv":
            names = stimulus_names(self.dataset)
            texts = self.descriptions or ("",) * len(self.stimuli)
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(["stimulus", "name", "position", "description"])
                for s, p, text in zip(self.stimuli, self.positions, texts, strict=True):
                    writer.writerow([s, names[s] if s < len(names) else "", repr(p), text])
        else:
            path.write_text(json.dumps(self.model_dump(mode="json"), indent=1) + "\n")
        return path


def stimulus_names(dataset: str) -> tuple[str, ...]:
    return get_dataset(dataset).stimulus_names


# ----------------------------------------------------------------------------- loaders
def from_class_positions(
    dataset: str,
    class_positions: dict[str, float],
    source: str = "class-fallback",
    note: str = "every stimulus takes its class's position",
) -> StimulusPositions:
    """Every stimulus takes its class's position; ``class_positions`` maps dataset class names
    or the FACED names they map onto (:attr:`Dataset.faced_classes`: SEED-V's ``sad`` /
    ``happy`` take ``sadness`` / ``joy``)."""
    spec = get_dataset(dataset)
    classes, aliases = spec.classes, spec.faced_map
    lowered = {name.lower(): value for name, value in class_positions.items()}
    values = []
    for name in classes:
        key = name if name in lowered else aliases.get(name, name)
        if key not in lowered:
            raise ValueError(f"no class position for {dataset} class {name!r}")
        values.append(float(lowered[key]))
    labels = stimulus_classes(dataset)
    return StimulusPositions(
        dataset=dataset,
        stimuli=tuple(range(labels.size)),
        positions=tuple(values[c] for c in labels),
        source=source,
        class_names=classes,
        class_positions=tuple(values),
        note=note,
    )


def from_valence_groups(dataset: str) -> StimulusPositions:
    """Class fallback without any axis: the dataset's valence groups (-1, 0, +1)."""
    spec = get_dataset(dataset)
    groups = dict(zip(spec.classes, map(float, spec.class_valence), strict=True))
    return from_class_positions(
        dataset,
        groups,
        "class-fallback:valence-groups",
        "no axis: every stimulus takes its class's valence group (-1, 0, +1)",
    )


def from_truth(truth: GroundTruth) -> StimulusPositions:
    """The valence planted in a SYNTHETIC cohort (what a perfect axis would give)."""
    return StimulusPositions(
        dataset=truth.config.like,
        stimuli=tuple(range(truth.valence.size)),
        positions=tuple(float(v) for v in truth.valence),
        source="synthetic-truth",
        note=f"SYNTHETIC: planted per-stimulus valence v_s (planted effects: {truth.planted})",
    )


def from_file(path: str | Path, dataset: str = "faced") -> StimulusPositions:
    """Positions from a CSV (stimulus, position[, description]) or a saved JSON record."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "no such positions file", _CSV_FIX)
    if path.suffix.lower() == ".json":
        try:
            record = StimulusPositions.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as err:
            raise DataFormatError(path, f"not a positions record: {err}", _CSV_FIX) from None
        if record.dataset != dataset:
            raise DataFormatError(path, f"positions are for {record.dataset}, not {dataset}")
        return record.model_copy(
            update={
                "source": f"file:{path}",
                "note": f"{record.note} (was {record.source})".strip(),
            }
        )
    rows = _read_csv(path)
    names = {name.lower(): i for i, name in enumerate(stimulus_names(dataset))}
    stimuli, positions, texts = [], [], []
    for line, row in enumerate(rows, start=2):
        stimuli.append(_stimulus_id(row["stimulus"], names, path, line))
        try:
            positions.append(float(row["position"]))
        except ValueError:
            raise DataFormatError(path, f"line {line}: position {row['position']!r}") from None
        texts.append(row.get("description") or "")
    try:
        return StimulusPositions(
            dataset=dataset,
            stimuli=tuple(stimuli),
            positions=tuple(positions),
            source=f"file:{path}",
            descriptions=tuple(texts) if any(texts) else (),
        )
    except ValidationError as err:
        raise DataFormatError(path, str(err), _CSV_FIX) from None


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = reader.fieldnames or []
    if not {"stimulus", "position"} <= set(header):
        raise DataFormatError(path, f"columns {header}; need 'stimulus' and 'position'", _CSV_FIX)
    if not rows:
        raise DataFormatError(path, "no rows", _CSV_FIX)
    return rows


def _stimulus_id(value: str, names: dict[str, int], path: Path, line: int) -> int:
    value = value.strip()
    if value.isdigit():
        return int(value)
    if value.lower() in names:
        return names[value.lower()]
    raise DataFormatError(
        path,
        f"line {line}: stimulus {value!r} is neither an id nor a name",
        f"use 0-based ids or names such as {', '.join(list(names)[:3])}",
    )


# ----------------------------------------------------------------------- descriptions
