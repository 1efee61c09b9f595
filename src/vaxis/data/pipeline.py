"""Raw EEG -> DE feature cohort, one subject at a time, resumable.

Each subject's features are written to ``<out>.parts/sub<id>.cohort.h5`` as soon as they are
computed; a re-run skips subjects whose part exists, so an interrupted run loses at most one
subject's work. When every subject is done the parts are joined into ``out`` (atomically) and
the parts folder is removed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from vaxis.console import console, track
from vaxis.data import sources
from vaxis.data.cohort import Cohort
from vaxis.data.datasets import option_defaults, reading_options
from vaxis.data.features import raw_to_features
from vaxis.data.validation import NanPolicy
from vaxis.errors import VaxisError


def parts_dir(out: Path) -> Path:
    """Where finished subjects wait until the whole cohort is joined."""
    return out.with_name(out.name + ".parts")


def part_path(parts: Path, subject: int) -> Path:
    return parts / f"sub{int(subject):03d}.cohort.h5"


def _claim_parts(parts: Path, job: dict[str, object]) -> None:
    """Create the parts folder for ``job``; refuse to resume parts of a different job."""
    manifest = parts / "JOB.json"
    if manifest.exists() and json.loads(manifest.read_text()) != job:
        raise VaxisError(
            f"{parts} holds unfinished work from a different input or method "
            f"({manifest.read_text().strip()}); delete that folder to start afresh"
        )
    parts.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(job))


def compute_features(
    raw: str | Path,
    out: str | Path,
    method: Literal["fast", "reference"] = "fast",
    nan_policy: NanPolicy = "raise",
    overwrite: bool = False,
    progress: bool = True,
    options: Mapping[str, Any] | None = None,
) -> Cohort:
    """Compute DE features for every subject of ``raw`` and save them to ``out``.

    ``options``: the datasets' reading options by name (:func:`vaxis.data.sources.iter_raw`;
    SEED-V's ``seedv_bandpass``: the band-pass, Hz or None, of its raw ``.cnt`` recordings).
    Those that change raw EEG are recorded, so a resumed run reads the raw files alike.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise VaxisError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    all_subjects = sources.raw_subject_ids(raw)  # refuses an input that is not raw EEG
    parts = parts_dir(out)
    fresh = not parts.exists()
    resolved = reading_options(options)
    # the raw options as JSON reads them back (tuples as lists)
    recorded = {name: json.loads(json.dumps(resolved[name])) for name in option_defaults(True)}
    _claim_parts(parts, {"raw": str(Path(raw).resolve()), "method": method, **recorded})
    todo = [s for s in all_subjects if not part_path(parts, s).exists()]
    if len(todo) < len(all_subjects):
        console.print(
            f"resuming: {len(all_subjects) - len(todo)} of {len(all_subjects)} subjects done"
        )
    stream = sources.iter_raw(raw, nan_policy=nan_policy, subjects=todo, options=resolved)
    if progress:
        stream = track(stream, "raw -> DE (per subject)", total=len(todo))
    try:
        for subject_raw in stream:
            features = raw_to_features(subject_raw, method=method)
            features.save(part_path(parts, subject_raw.subjects[0]))
    except BaseException:
        if fresh and not any(part_path(parts, s).exists() for s in all_subjects):
            shutil.rmtree(parts)  # refused before any subject was done: leave nothing behind
        raise
    cohort = Cohort.concatenate([Cohort.load(part_path(parts, s)) for s in all_subjects])
    cohort.save(out)
    shutil.rmtree(parts)
    return cohort
