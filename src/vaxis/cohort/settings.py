"""The cohort's settings: what ``[data]`` of a study config holds (light to import).

Where the data come from (``synthetic`` or a path), the synthetic cohort's shape, and what to do
with NaN/Inf; and, from these alone (no EEG read), the cohort's dataset, the fingerprint of the
user's files and the file the stage leaves the cohort in.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from vaxis.core.settings import Section, path_setting
from vaxis.data.datasets import DatasetName
from vaxis.data.validation import NanPolicy

SYNTHETIC = "synthetic"
#: the cohort file the stage writes in its folder (a synthetic or converted cohort)
COHORT_FILE = "cohort.cohort.h5"


class CohortSettings(Section):
    """Where the EEG comes from: ``synthetic`` (labelled so everywhere) or a path."""

    #: "synthetic", a FACED root, a SEED-V root, or a *.cohort.h5 of DE features
    source: str = SYNTHETIC
    #: the synthetic cohort only: its shape, size and seed
    like: DatasetName = "faced"
    subjects: int = Field(default=24, ge=4)
    windows: int = Field(default=30, ge=2)
    seed: int = 0
    #: NaN/Inf in a user's EEG: raise (refuse, naming count and place), drop the affected
    #: samples or interpolate along time (the stage then writes the repaired cohort)
    nan_policy: NanPolicy = "raise"

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return value if value == SYNTHETIC else path_setting(value, "source")

    @property
    def synthetic(self) -> bool:
        return self.source == SYNTHETIC

    def dataset(self) -> str:
        """The dataset of the source, without reading the EEG."""
        from vaxis.data.sources import dataset_at

        return self.like if self.synthetic else dataset_at(Path(self.source))

    def fingerprint(self) -> str:
        """The user's files by name, size and time ("" for a synthetic cohort)."""
        from vaxis.data.sources import files_fingerprint

        return "" if self.synthetic else files_fingerprint(Path(self.source))

    def cohort_file(self, folder: Path) -> Path:
        """Where the cohort is once the stage ran: the user's ``*.cohort.h5`` where it is (it
        is refused unless finite), else :data:`COHORT_FILE` in ``folder``."""
        source = Path(self.source)
        if not self.synthetic and source.is_file() and self.nan_policy == "raise":
            return source
        return folder / COHORT_FILE
