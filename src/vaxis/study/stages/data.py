"""Stage ``data``: the cohort every other stage reads (synthetic, or from the user's folder)."""

from __future__ import annotations

from pathlib import Path

from vaxis.data.cohort import Cohort
from vaxis.data.sources import files_fingerprint
from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, StudyError, Table, stage

COHORT_FILE = "cohort.cohort.h5"


def cohort_path(config: StudyConfig, context: StudyContext) -> Path:
    """Where the stage put the cohort (a user's ``*.cohort.h5`` is read where it is)."""
    source = Path(config.data.source)
    if not config.data.synthetic and source.is_file() and config.data.nan_policy == "raise":
        return source  # checked by the stage: finite, or refused
    return context.folder("data") / COHORT_FILE


def dataset_of(config: StudyConfig) -> str:
    """The dataset of the configured source, without reading the EEG."""
    from vaxis.data.sources import dataset_at

    if config.data.synthetic:
        return config.data.like
    return dataset_at(Path(config.data.source))


def _fingerprint(config: StudyConfig) -> str:
    return "" if config.data.synthetic else files_fingerprint(Path(config.data.source))


def _prepare(config: StudyConfig, path: Path) -> Cohort:
    """The cohort, written to ``path`` unless it is the user's file read in place. NaN/Inf are
    met here, before the axis stage: refused, or handled by ``[data] nan_policy``."""
    from vaxis.data import sources

    settings = config.data
    if settings.synthetic:
        from vaxis.data.synthetic import SynthConfig
        from vaxis.data.synthetic_files import write_synthetic

        synth = SynthConfig(
            like=settings.like,
            n_subjects=settings.subjects,
            n_windows=settings.windows,
            seed=settings.seed,
        )
        write_synthetic(synth, path, overwrite=True)
        return Cohort.load(path)
    source = Path(settings.source)
    if sources.is_raw(source):
        raise StudyError(
            f"{source} holds raw EEG only; the study reads DE features: run "
            f"`vaxis data features {source} faced-de.cohort.h5` and set [data] source to it"
        )
    cohort = sources.open_features(source, nan_policy=settings.nan_policy)
    if path != source:
        cohort.save(path)
    return cohort


@stage("data", "Data", uses=("data",), fingerprint=_fingerprint)
def data(config: StudyConfig, context: StudyContext) -> StageResult:
    """Synthesise the cohort, or read the user's FACED / SEED-V features into one file."""
    path = cohort_path(config, context)
    path.parent.mkdir(parents=True, exist_ok=True)
    cohort = _prepare(config, path)
    meta = cohort.meta
    provenance = {
        "source": config.data.source,
        "cohort_file": str(path),
        "dataset": meta.dataset,
        "kind": meta.kind,
        "synthetic": bool(meta.synthetic),
        "n_subjects": int(cohort.subjects.size),
        "n_stimuli": int(cohort.stimuli.size),
        "n_samples": cohort.n_samples,
        "channels": len(meta.channel_names),
        "bands": list(meta.band_names),
        "files_fingerprint": _fingerprint(config) or None,
        "nan_policy": config.data.nan_policy,
    }
    if meta.synthetic:
        provenance["synthetic_settings"] = config.data.model_dump(mode="json")
    rows = [[k, str(v)] for k, v in provenance.items() if k != "synthetic_settings"]
    return StageResult(
        tables=[Table(title="cohort", columns=["field", "value"], rows=rows)],
        provenance={"data": provenance},
    )
