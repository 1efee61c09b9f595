"""Raw -> DE over a whole cohort: per-subject parts, resuming after an interruption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vaxis.data import pipeline
from vaxis.data.cohort import Cohort, save_stream
from vaxis.data.features import raw_to_features
from vaxis.data.synthetic import SynthConfig
from vaxis.data.synthetic_raw import iter_synthetic_raw
from vaxis.errors import VaxisError


@pytest.fixture
def raw_file(tmp_path: Path) -> Path:
    config = SynthConfig(n_subjects=3, n_windows=3, raw=True)
    return save_stream(iter_synthetic_raw(config), tmp_path / "raw.cohort.h5")


def test_an_interrupted_run_resumes_without_redoing_finished_subjects(
    raw_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "de.cohort.h5"
    seen: list[int] = []
    crash_at: list[int] = [2]  # the call number that is interrupted (emptied to stop crashing)

    def recording(cohort: Cohort, method: str = "fast") -> Cohort:
        seen.append(int(cohort.subjects[0]))
        if crash_at and len(seen) == crash_at[0]:
            raise KeyboardInterrupt
        return raw_to_features(cohort, method=method)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "raw_to_features", recording)
    with pytest.raises(KeyboardInterrupt):
        pipeline.compute_features(raw_file, out, progress=False)
    assert not out.exists()
    parts = sorted(p.name for p in pipeline.parts_dir(out).iterdir())
    assert parts == ["JOB.json", "sub000.cohort.h5"]
    with pytest.raises(VaxisError, match="different input or method"):
        pipeline.compute_features(raw_file, out, method="reference", progress=False)

    seen.clear()
    crash_at.clear()
    resumed = pipeline.compute_features(raw_file, out, progress=False)
    assert seen == [1, 2], "finished subjects must not be read or computed again"
    assert not pipeline.parts_dir(out).exists()

    fresh = pipeline.compute_features(raw_file, tmp_path / "fresh.cohort.h5", progress=False)
    np.testing.assert_array_equal(resumed.data, fresh.data)
    np.testing.assert_array_equal(resumed.subject, fresh.subject)
    assert resumed.meta.synthetic


def test_existing_output_is_never_replaced_silently(raw_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "de.cohort.h5"
    out.write_bytes(b"precious")
    with pytest.raises(Exception, match="overwrite"):
        pipeline.compute_features(raw_file, out, progress=False)
    assert out.read_bytes() == b"precious"
