"""The cohort as one stage: make the synthetic cohort, or read the user's FACED / SEED-V
features into one checked cohort file, and report what it holds and where it came from.

NaN/Inf are met here, before any other stage: refused, or handled by ``nan_policy`` (the
repaired cohort is then written to the stage folder).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vaxis.cohort.settings import CohortSettings
from vaxis.core.reported import Figure, Table
from vaxis.core.stage import ReportParts, parts_json
from vaxis.data.cohort import Cohort
from vaxis.errors import DataFormatError

if TYPE_CHECKING:
    from vaxis.sweep.compute import Compute
    from vaxis.sweep.cost import PlannedJob


class CohortConfig(CohortSettings):
    """The cohort's settings and the stage folder its file is written to."""

    #: the stage folder (a user's finite ``*.cohort.h5`` is read where it is instead)
    out: Path

    @property
    def path(self) -> Path:
        """The cohort file the stage leaves (:meth:`CohortSettings.cohort_file`)."""
        return self.cohort_file(self.out)


@dataclass
class CohortReport(ReportParts):
    """What the cohort holds and where it came from (a StageReport with no figures: counting
    subjects estimates nothing)."""

    source: str
    cohort_file: str
    dataset: str
    kind: str
    synthetic: bool
    n_subjects: int
    n_stimuli: int
    #: windows per subject and stimulus (the most any trial has)
    n_windows: int
    n_samples: int
    channels: int
    bands: list[str]
    files_fingerprint: str | None
    nan_policy: str
    #: the settings the stage generated the cohort from (None: the user's data)
    synthetic_settings: dict[str, Any] | None = None

    def provenance(self) -> dict[str, Any]:
        """The data's provenance (results.json's ``data``)."""
        fields = asdict(self)
        del fields["n_windows"]
        if fields["synthetic_settings"] is None:
            del fields["synthetic_settings"]
        return fields

    def figures(self) -> dict[str, Figure]:
        return {}

    def tables(self) -> list[Table]:
        fields = {k: v for k, v in asdict(self).items() if k != "synthetic_settings"}
        rows = [[k, str(v)] for k, v in fields.items()]
        return [Table(title="cohort", columns=["field", "value"], rows=rows)]

    def to_json(self) -> dict[str, Any]:
        return {**parts_json(self), "data": self.provenance(), "n_windows": self.n_windows}


def plan(config: CohortConfig) -> list[PlannedJob]:
    """No training jobs."""
    return []


def _prepare(config: CohortConfig) -> Cohort:
    """The cohort, written to ``config.path`` unless it is the user's file read in place."""
    from vaxis.data import sources

    path = config.path
    if config.synthetic:
        from vaxis.data.synthetic import SynthConfig
        from vaxis.data.synthetic_files import write_synthetic

        synth = SynthConfig(
            like=config.like, n_subjects=config.subjects, n_windows=config.windows, seed=config.seed
        )
        write_synthetic(synth, path, overwrite=True)
        return Cohort.load(path)
    source = Path(config.source)
    if sources.is_raw(source):
        raise DataFormatError(
            source,
            "holds raw EEG only; the study reads DE features",
            f"run `vaxis data features {source} faced-de.cohort.h5` and set [data] source to it",
        )
    cohort = sources.open_features(source, nan_policy=config.nan_policy)
    if path != source:
        cohort.save(path)
    return cohort


def run(config: CohortConfig, compute: Compute | None = None) -> CohortReport:
    """Make or read the cohort into :attr:`CohortConfig.path` and report it.
    ``compute`` is not used: this stage trains nothing (one signature for every stage)."""
    config.path.parent.mkdir(parents=True, exist_ok=True)
    cohort = _prepare(config)
    meta = cohort.meta
    settings = CohortSettings.model_validate(
        config.model_dump(include=set(CohortSettings.model_fields))
    )
    return CohortReport(
        source=config.source,
        cohort_file=str(config.path),
        dataset=meta.dataset,
        kind=meta.kind,
        synthetic=bool(meta.synthetic),
        n_subjects=int(cohort.subjects.size),
        n_stimuli=int(cohort.stimuli.size),
        n_windows=int(np.unique(cohort.window).size),
        n_samples=cohort.n_samples,
        channels=len(meta.channel_names),
        bands=list(meta.band_names),
        files_fingerprint=config.fingerprint() or None,
        nan_policy=config.nan_policy,
        synthetic_settings=settings.model_dump(mode="json") if config.synthetic else None,
    )
