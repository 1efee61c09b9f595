"""`vaxis.cohort.stage.run`: the study's first stage makes or reads the cohort every other stage
reads, and reports what it holds and where it came from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vaxis.cohort.settings import COHORT_FILE, CohortSettings
from vaxis.cohort.stage import CohortConfig, plan, run
from vaxis.core.stage import StageReport
from vaxis.data.cohort import Cohort
from vaxis.data.synthetic import SynthConfig
from vaxis.data.synthetic_files import write_synthetic
from vaxis.errors import DataFormatError
from vaxis.study.config import StudyConfig
from vaxis.study.registry import StudyContext
from vaxis.study.stages.data import data


def test_the_settings_are_the_study_data_section_and_the_config_adds_the_folder() -> None:
    assert type(StudyConfig().data) is CohortSettings
    assert set(CohortConfig.model_fields) - set(CohortSettings.model_fields) == {"out"}


def test_a_synthetic_cohort_is_made_in_the_stage_folder_and_labelled(tmp_path: Path) -> None:
    config = CohortConfig(subjects=4, windows=3, seed=2, out=tmp_path)
    report = run(config)
    assert isinstance(report, StageReport) and report.synthetic and plan(config) == []
    assert config.path == tmp_path / COHORT_FILE and config.path.is_file()
    assert (report.n_subjects, report.n_stimuli, report.n_windows) == (4, 28, 3)
    assert report.n_samples == 4 * 28 * 3 and report.dataset == "faced"
    provenance = report.provenance()
    assert provenance["synthetic_settings"]["seed"] == 2 and "n_windows" not in provenance
    assert report.figures() == {}  # counts estimate nothing
    rows = dict(report.tables()[0].rows)
    assert rows["n_windows"] == "3" and rows["synthetic"] == "True"
    payload = report.to_json()
    assert json.loads(json.dumps(payload)) == payload and payload["data"] == provenance


def test_a_users_finite_cohort_file_is_read_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "seedv.cohort.h5"
    write_synthetic(SynthConfig(like="seedv", n_subjects=5, n_windows=3), path)
    config = CohortConfig(source=str(path), out=tmp_path / "out")
    assert config.path == path and config.dataset() == "seedv" and config.fingerprint()
    report = run(config)
    assert report.dataset == "seedv" and report.n_subjects == 5
    assert report.files_fingerprint == config.fingerprint()
    assert "synthetic_settings" not in report.provenance()  # the user's file, not generated here
    assert not (tmp_path / "out").exists()  # nothing copied


def test_nan_is_refused_or_dropped_into_the_stage_folder(tmp_path: Path) -> None:
    path = tmp_path / "nan.cohort.h5"
    write_synthetic(SynthConfig(n_subjects=4, n_windows=2), path)
    cohort = Cohort.load(path)
    cohort.data[5, 0, 0] = np.nan
    cohort.save(path)
    with pytest.raises(DataFormatError, match="NaN"):
        run(CohortConfig(source=str(path), out=tmp_path / "raise"))
    config = CohortConfig(source=str(path), nan_policy="drop", out=tmp_path / "drop")
    report = run(config)
    assert config.path == tmp_path / "drop" / COHORT_FILE
    assert report.n_samples == cohort.n_samples - 1
    assert np.isfinite(Cohort.load(config.path).data).all()


def test_the_study_keeps_the_report(tmp_path: Path) -> None:
    config = StudyConfig.model_validate(
        {"out": str(tmp_path), "data": {"subjects": 4, "windows": 2}}
    )
    kept = data(config, StudyContext(out=tmp_path))
    report = run(CohortConfig(**config.data.model_dump(), out=tmp_path / "stages" / "data"))
    assert kept.provenance == {"data": report.provenance()}
    assert kept.tables == report.tables() and kept.figures == {}
