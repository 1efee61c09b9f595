"""Stage cache: a stage is done when its marker records the same key and inputs.

The marker ``stages/<name>/stage.json`` is written last (atomically), after the stage's
outputs, so an interrupted stage is simply run again. Its *key* hashes the config sections
the stage uses and the code version (vaxis's version, plus the git commit in a checkout, as
sweep jobs use); its *inputs* hash the markers of the stages it requires
(and, for the data stage, the source files), so a changed axis re-runs everything built on it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from vaxis.study.config import StudyConfig
from vaxis.study.registry import Stage, StageResult
from vaxis.sweep.jobs import code_version

MARKER = "stage.json"


class StageRecord(BaseModel):
    """The marker of a finished stage."""

    stage: str
    key: str
    inputs: str
    seconds: float
    finished: str
    result: StageResult


def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stage_key(stage: Stage, config: StudyConfig) -> str:
    """Hash of the config sections ``stage`` uses and the code version (an edited and
    committed stage never passes for a finished one)."""
    return _digest({"vaxis": code_version(), **{s: config.section(s) for s in stage.uses}})


def inputs_key(records: list[StageRecord], extra: str = "") -> str:
    """Hash of the required stages' markers (key, inputs, finish time) and ``extra``."""
    return _digest([[r.stage, r.key, r.inputs, r.finished] for r in records] + [extra])


def read_marker(folder: Path) -> StageRecord | None:
    """The marker in ``folder``, or None when absent or unreadable."""
    try:
        return StageRecord.model_validate_json((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return None


def done(folder: Path, key: str, inputs: str) -> StageRecord | None:
    """The marker when it records ``key`` and ``inputs`` (the stage is done), else None."""
    record = read_marker(folder)
    if record is None or record.key != key or record.inputs != inputs:
        return None
    return record


def write_marker(folder: Path, record: StageRecord) -> Path:
    """Write the marker atomically (a crash never leaves half a marker)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MARKER
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(record.model_dump_json(indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path
