"""Open whatever the user points at: a cohort file or an official dataset folder.

One function decides what a path is, so every command accepts the same inputs:
``*.cohort.h5`` files, FACED roots (``Processed_data/`` and/or ``EEG_Features/``) and SEED-V
roots (``EEG_DE_features/``, ``EEG_raw/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path

from vaxis.data.cohort import Cohort, iter_subjects, load_meta, subject_ids
from vaxis.data.validation import NanPolicy, apply_nan_policy
from vaxis.errors import DataFormatError


class SourceKind(StrEnum):
    cohort_file = "cohort-file"
    faced_features = "faced-features"
    faced_raw = "faced-raw"
    seedv_features = "seedv-features"
    seedv_raw = "seedv-raw"


_FOLDERS: tuple[tuple[SourceKind, tuple[str, ...]], ...] = (
    (SourceKind.faced_features, ("EEG_Features", "DE", "PSD")),
    (SourceKind.faced_raw, ("Processed_data",)),
    (SourceKind.seedv_features, ("EEG_DE_features",)),
    (SourceKind.seedv_raw, ("EEG_raw",)),
)


def available(path: str | Path) -> list[SourceKind]:
    """Every kind of data found at ``path`` (a FACED root may hold both raw and features)."""
    path = Path(path)
    if path.is_file():
        if path.suffix in {".h5", ".hdf5"}:
            return [SourceKind.cohort_file]
        raise DataFormatError(path, "not a cohort file (expected *.cohort.h5) nor a folder")
    if not path.is_dir():
        raise DataFormatError(path, "no such file or folder")
    found = [
        kind
        for kind, names in _FOLDERS
        if path.name.upper() in {n.upper() for n in names} or (path / names[0]).is_dir()
    ]
    if not found:
        raise DataFormatError(
            path,
            "folder is neither a FACED root (Processed_data/, EEG_Features/) nor a SEED-V root "
            "(EEG_DE_features/, EEG_raw/)",
            "point vaxis at the dataset's top folder as downloaded, or at a *.cohort.h5 file",
        )
    return found


def detect(path: str | Path) -> SourceKind:
    """The primary kind at ``path``: features win over raw when a folder holds both."""
    return available(path)[0]


def is_raw(path: str | Path) -> bool:
    """True when ``path`` holds raw EEG and no features."""
    kind = detect(path)
    if kind is SourceKind.cohort_file:
        return load_meta(path).kind == "raw"
    return kind in {SourceKind.faced_raw, SourceKind.seedv_raw}


def open_features(path: str | Path, feature: str = "de", nan_policy: NanPolicy = "raise") -> Cohort:
    """Load a feature cohort from a cohort file or an official features folder.

    ``feature`` picks DE or PSD under a FACED root; a FACED ``PSD/`` folder itself is read as PSD.
    """
    from vaxis.data import faced, seedv

    kind = detect(path)
    if kind is SourceKind.cohort_file:
        cohort = Cohort.load(path)
        if cohort.meta.kind != "features":
            raise DataFormatError(
                path,
                "this cohort holds raw EEG",
                f"compute features: vaxis data features {path} OUT",
            )
        return apply_nan_policy(cohort, nan_policy, path)
    if kind is SourceKind.faced_features:
        if Path(path).name.lower() == "psd":
            feature = "psd"
        return faced.load_faced_features(path, feature=feature, nan_policy=nan_policy)
    if kind is SourceKind.seedv_features:
        return seedv.load_seedv_features(path, nan_policy=nan_policy)
    raise DataFormatError(
        path,
        "this folder holds raw EEG only",
        f"compute features first: vaxis data features {path} OUT.cohort.h5",
    )


def raw_subject_ids(path: str | Path) -> list[int]:
    """Subjects with raw EEG at ``path``, from file names or the cohort's subject column."""
    from vaxis.data import faced_layout, seedv_raw

    kinds = available(path)
    path = Path(path)
    if SourceKind.cohort_file in kinds:
        _require_raw_cohort(path)
        return subject_ids(path)
    if SourceKind.faced_raw in kinds:
        folder = path if path.name == "Processed_data" else path.joinpath(*faced_layout.RAW_DIR)
        pattern = re.compile(r"^sub(\d+)\.pkl$")
    elif SourceKind.seedv_raw in kinds:
        folder = path if path.name == seedv_raw.RAW_DIR else path / seedv_raw.RAW_DIR
        pattern = seedv_raw.RAW_FILE
    else:
        raise DataFormatError(path, "this folder holds features, not raw EEG")
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return sorted({int(m.group(1)) for m in map(pattern.match, names) if m})


def iter_raw(
    path: str | Path, nan_policy: NanPolicy = "raise", subjects: Iterable[int] | None = None
) -> Iterator[Cohort]:
    """Stream raw EEG one subject at a time from a cohort file or an official raw folder."""
    from vaxis.data import faced, seedv_raw

    kinds = available(path)
    if SourceKind.cohort_file in kinds:
        _require_raw_cohort(Path(path))
        for part in iter_subjects(path, subjects):
            yield apply_nan_policy(part, nan_policy, path)
    elif SourceKind.faced_raw in kinds:
        yield from faced.iter_faced_raw(path, subjects=subjects, nan_policy=nan_policy)
    elif SourceKind.seedv_raw in kinds:
        yield from seedv_raw.iter_seedv_raw(path, subjects=subjects)
    else:
        raise DataFormatError(path, "this folder holds features, not raw EEG")


def _require_raw_cohort(path: Path) -> None:
    if load_meta(path).kind != "raw":
        raise DataFormatError(path, "this cohort holds features, not raw EEG")


def open_any(path: str | Path, nan_policy: NanPolicy = "raise") -> Cohort:
    """A whole cohort in memory (raw sources are concatenated: fine for small selections)."""
    if is_raw(path):
        return Cohort.concatenate(list(iter_raw(path, nan_policy=nan_policy)))
    return open_features(path, nan_policy=nan_policy)


def checked_cohort_file(
    path: str | Path, nan_policy: NanPolicy, folder: Path
) -> tuple[Path, Cohort]:
    """The cohort file that a command's jobs should read, and its cohort, checked once here
    before any job starts: ``path`` itself when its data are finite; else, under ``drop`` or
    ``interpolate``, a repaired copy written in ``folder`` (``raise`` refuses)."""
    path = Path(path)
    cohort = Cohort.load(path)
    repaired = apply_nan_policy(cohort, nan_policy, path)
    if repaired is cohort:
        return path, cohort
    copy = (
        folder / f"{path.name.removesuffix('.h5').removesuffix('.cohort')}.{nan_policy}.cohort.h5"
    )
    repaired.save(copy)
    return copy, repaired
