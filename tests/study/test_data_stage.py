"""The data stage: a user's cohort file is read where it is, its dataset decides the axis's
class set, and its provenance (synthetic or not) goes into the results."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaxis.data.synthetic import SynthConfig
from vaxis.data.synthetic_files import write_synthetic
from vaxis.errors import DataFormatError
from vaxis.study.config import StudyConfig
from vaxis.study.registry import StudyContext
from vaxis.study.stages.data import cohort_path, data, dataset_of


def _config(source: str, out: Path) -> StudyConfig:
    return StudyConfig.model_validate({"out": str(out), "data": {"source": source}})


def test_a_cohort_file_is_used_in_place_and_its_dataset_is_read(tmp_path: Path) -> None:
    path = tmp_path / "seedv.cohort.h5"
    write_synthetic(SynthConfig(like="seedv", n_subjects=5, n_windows=3), path)
    config = _config(str(path), tmp_path / "out")
    context = StudyContext(out=tmp_path / "out")
    assert cohort_path(config, context) == path
    assert dataset_of(config) == "seedv"
    provenance = data(config, context).provenance["data"]
    assert provenance["dataset"] == "seedv" and provenance["synthetic"] is True
    assert provenance["n_subjects"] == 5 and provenance["files_fingerprint"]
    assert not (tmp_path / "out" / "stages" / "data").exists()  # nothing copied


def test_the_synthetic_default_is_faced_shaped_and_labelled(tmp_path: Path) -> None:
    config = StudyConfig.model_validate(
        {"out": str(tmp_path), "data": {"subjects": 4, "windows": 2}}
    )
    provenance = data(config, StudyContext(out=tmp_path)).provenance["data"]
    assert dataset_of(config) == "faced"
    assert provenance["synthetic"] is True and provenance["n_stimuli"] == 28
    assert provenance["synthetic_settings"]["subjects"] == 4


def test_a_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such file or folder"):
        dataset_of(_config(str(tmp_path / "FACED"), tmp_path))
