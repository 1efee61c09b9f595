"""The cohort data model: validation, subsetting, storage round trips, streaming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vaxis.data.cohort import Cohort, CohortMeta, iter_subjects, load_meta
from vaxis.errors import DataFormatError


def make_cohort(
    n_subjects: int = 3, n_stimuli: int = 4, n_windows: int = 5, kind: str = "features"
) -> Cohort:
    rng = np.random.default_rng(0)
    subject, stimulus, window = (
        grid.ravel()
        for grid in np.meshgrid(
            np.arange(n_subjects), np.arange(n_stimuli), np.arange(n_windows), indexing="ij"
        )
    )
    n = subject.size
    label = stimulus % 3
    last = 5 if kind == "features" else 50
    meta = CohortMeta(
        dataset="toy",
        kind=kind,  # type: ignore[arg-type]
        channel_names=("C3", "C4"),
        label_names=("neg", "neu", "pos"),
        sfreq=1.0,
        band_names=("delta", "theta", "alpha", "beta", "gamma") if kind == "features" else (),
        synthetic=True,
        provenance={"made_by": "test"},
    )
    return Cohort(
        data=rng.normal(size=(n, 2, last)).astype(np.float32),
        subject=subject,
        stimulus=stimulus,
        window=window,
        label=label,
        valence=label - 1,
        session=np.zeros(n, dtype=int),
        meta=meta,
        ratings=rng.normal(size=(n_subjects, n_stimuli, 2)).astype(np.float32),
        rating_subjects=np.arange(n_subjects),
    )


def assert_same(a: Cohort, b: Cohort) -> None:
    np.testing.assert_array_equal(a.data, b.data)
    for name in ("subject", "stimulus", "window", "label", "valence", "session"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.meta == b.meta


def test_round_trip_preserves_everything(tmp_path: Path) -> None:
    cohort = make_cohort()
    path = cohort.save(tmp_path / "toy.cohort.h5")
    loaded = Cohort.load(path)
    assert_same(cohort, loaded)
    np.testing.assert_array_equal(cohort.ratings, loaded.ratings)
    assert loaded.meta.synthetic is True
    assert load_meta(path).provenance == {"made_by": "test"}
    assert not list(tmp_path.glob("*.partial"))


def test_load_subject_subset_matches_in_memory_subset(tmp_path: Path) -> None:
    cohort = make_cohort(n_subjects=5)
    path = cohort.save(tmp_path / "toy.cohort.h5")
    part = Cohort.load(path, subjects=[1, 3])
    assert_same(part, cohort.for_subjects([1, 3]))
    assert part.rating_subjects is not None
    np.testing.assert_array_equal(part.rating_subjects, [1, 3])


def test_iter_subjects_streams_one_subject_at_a_time(tmp_path: Path) -> None:
    cohort = make_cohort(n_subjects=4, kind="raw")
    path = cohort.save(tmp_path / "raw.cohort.h5")
    parts = list(iter_subjects(path))
    assert [p.subjects.tolist() for p in parts] == [[0], [1], [2], [3]]
    assert_same(Cohort.concatenate(parts), cohort)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label", 7, "labels outside 0..2"),
        ("label", -1, "labels outside 0..2"),
        ("valence", 2, "valence groups"),
    ],
)
def test_out_of_range_labels_are_refused(field: str, value: int, message: str) -> None:
    cohort = make_cohort()
    values = getattr(cohort, field).copy()
    values[4] = value
    with pytest.raises(DataFormatError, match=message):
        Cohort(**{**cohort.__dict__, field: values})


def test_channel_count_must_match_names() -> None:
    cohort = make_cohort()
    with pytest.raises(DataFormatError, match="3 channels but metadata names 2"):
        Cohort(**{**cohort.__dict__, "data": np.zeros((cohort.n_samples, 3, 5))})


def test_missing_and_truncated_files_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such cohort file"):
        Cohort.load(tmp_path / "absent.cohort.h5")
    path = make_cohort().save(tmp_path / "toy.cohort.h5")
    truncated = tmp_path / "cut.cohort.h5"
    truncated.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(DataFormatError, match="truncated"):
        Cohort.load(truncated)
