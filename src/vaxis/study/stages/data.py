"""Stage ``data``: the cohort every other stage reads, synthetic or from the user's folder
(the science and its report: vaxis.cohort)."""

from __future__ import annotations

from pathlib import Path

from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, stage


def cohort_path(config: StudyConfig, context: StudyContext) -> Path:
    """Where the stage put the cohort (a user's ``*.cohort.h5`` is read where it is)."""
    return config.data.cohort_file(context.folder("data"))


def dataset_of(config: StudyConfig) -> str:
    """The dataset of the configured source, without reading the EEG."""
    return config.data.dataset()


def _fingerprint(config: StudyConfig) -> str:
    return config.data.fingerprint()


@stage("data", "Data", uses=("data",), fingerprint=_fingerprint)
def data(config: StudyConfig, context: StudyContext) -> StageResult:
    """Synthesise the cohort, or read the user's FACED / SEED-V features into one file."""
    from vaxis.cohort.stage import CohortConfig, run

    report = run(CohortConfig(**config.data.model_dump(), out=context.folder("data")))
    return StageResult.of(report, context, {"data": report.provenance()})
