"""Write a synthetic cohort to disk: features, ground truth and (optionally) raw EEG."""

from __future__ import annotations

from pathlib import Path

from vaxis.data.cohort import save_stream
from vaxis.data.synthetic import SynthConfig, synthesize_features, truth_paths
from vaxis.data.synthetic_raw import iter_synthetic_raw
from vaxis.errors import DataFormatError


def synthetic_paths(out_path: str | Path) -> dict[str, Path]:
    """Where :func:`write_synthetic` puts the features, the truth and the raw cohort."""
    out_path = Path(out_path)
    npz, meta = truth_paths(out_path)
    stem = npz.name[: -len(".truth.npz")]
    raw = out_path.with_name(stem + ".raw.cohort.h5")
    return {"features": out_path, "truth": npz, "truth_json": meta, "raw": raw}


def write_synthetic(
    config: SynthConfig, out_path: str | Path, overwrite: bool = False
) -> dict[str, Path]:
    """Write the feature cohort, its ground truth and (``config.raw``) the raw cohort.

    Refuses to replace existing files unless ``overwrite``; with ``overwrite`` a raw file left
    by an earlier run is removed when this config writes none, so no stale file stays beside.
    """
    paths = synthetic_paths(out_path)
    existing = [p for p in paths.values() if p.exists()]
    if existing and not overwrite:
        raise DataFormatError(
            existing[0], "already exists", "pass --overwrite or choose another --out"
        )
    cohort, truth = synthesize_features(config)
    cohort.save(paths["features"])
    truth.save(paths["features"])
    if config.raw:
        save_stream(iter_synthetic_raw(config), paths["raw"])
    else:
        paths.pop("raw").unlink(missing_ok=True)
    return paths


def export_official(config: SynthConfig, root: str | Path, overwrite: bool = False) -> list[Path]:
    """Write a synthetic cohort in the dataset's official on-disk layout under ``root``, by the
    dataset's writer (:attr:`vaxis.data.datasets.Dataset.export_synthetic`; FACED:
    ``EEG_Features/DE`` and, with ``config.raw``, ``Processed_data/``; SEED-V:
    ``EEG_DE_features``, no raw). The loaders mark what they read back from here as synthetic
    (a marker file is written beside the data)."""
    export = config.spec.export_synthetic
    if export is None:
        raise DataFormatError(
            root, f"{config.spec.label} has no official layout to write", "use --layout cohort"
        )
    return export(config, Path(root), overwrite)
