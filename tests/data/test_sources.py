"""What a path is: cohort files and official folders, detected and opened the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.data.conftest import FacedFolder, make_faced_features
from vaxis.data import sources
from vaxis.data.faced import write_faced_features
from vaxis.data.sources import COHORT_FILE, SourceKind
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.data.synthetic_files import export_official
from vaxis.errors import DataFormatError, NonFiniteError


def test_faced_root_with_both_kinds_prefers_features_but_streams_raw(
    faced_folder: FacedFolder,
) -> None:
    root = faced_folder.root
    assert sources.available(root) == [
        SourceKind("features", "faced"),
        SourceKind("raw", "faced"),
    ]
    assert not sources.is_raw(root)
    features = sources.open_features(root)
    assert features.meta.kind == "features"
    assert features.subjects.tolist() == list(faced_folder.feature_subjects)
    streamed = list(sources.iter_raw(root))
    assert [part.subjects.tolist() for part in streamed] == [[0], [1]]
    np.testing.assert_array_equal(streamed[1].data, faced_folder.raw.for_subjects([1]).data)


def test_a_psd_folder_loads_psd(tmp_path: Path) -> None:
    cohort = make_faced_features([0])
    psd = cohort.with_data(cohort.data + 0.5, feature="psd")
    write_faced_features(cohort, tmp_path)
    write_faced_features(psd, tmp_path, feature="psd")
    loaded = sources.open_features(tmp_path / "EEG_Features" / "PSD")
    assert loaded.meta.feature == "psd"
    np.testing.assert_array_equal(loaded.data, psd.data)
    np.testing.assert_array_equal(sources.open_features(tmp_path).data, cohort.data)


def test_cohort_files_open_by_kind(tmp_path: Path) -> None:
    cohort, _ = synthesize_features(SynthConfig(n_subjects=2, n_windows=2))
    path = cohort.save(tmp_path / "s.cohort.h5")
    assert sources.detect(path) == COHORT_FILE
    assert sources.open_any(path).n_samples == cohort.n_samples
    with pytest.raises(DataFormatError, match="holds features, not raw"):
        list(sources.iter_raw(path))


def test_unknown_paths_get_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such file or folder"):
        sources.detect(tmp_path / "nowhere")
    with pytest.raises(DataFormatError, match="neither a FACED root"):
        sources.detect(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataFormatError, match="not a cohort file"):
        sources.detect(tmp_path / "notes.txt")


@pytest.mark.parametrize("like", ["faced", "seedv"])
def test_synthetic_official_export_loads_back_identical_and_still_synthetic(
    tmp_path: Path, like: str
) -> None:
    windows = 30 if like == "faced" else 3  # the FACED layout fixes 30 one-second windows
    config = SynthConfig(like=like, n_subjects=2, n_windows=windows)  # type: ignore[arg-type]
    export_official(config, tmp_path)
    loaded = sources.open_any(tmp_path)
    expected, _ = synthesize_features(config)
    assert loaded.meta.synthetic, "a synthetic cohort must stay labelled after a round trip"
    order = np.lexsort((loaded.window, loaded.stimulus, loaded.subject))
    reference = np.lexsort((expected.window, expected.stimulus, expected.subject))
    np.testing.assert_allclose(loaded.data[order], expected.data[reference], rtol=1e-6)
    np.testing.assert_array_equal(loaded.label[order], expected.label[reference])


def test_faced_export_refuses_a_window_count_the_layout_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="30 one-second windows"):
        export_official(SynthConfig(n_subjects=1, n_windows=3), tmp_path)
    assert not any(tmp_path.iterdir()), "nothing may be written when the request is refused"


def test_an_official_features_folder_becomes_one_reused_cohort_file(
    faced_folder: FacedFolder, tmp_path: Path
) -> None:
    for given in (faced_folder.root, faced_folder.root / "EEG_Features" / "DE"):
        path, _ = sources.as_cohort_file(given, tmp_path / "data")
        assert path.parent == tmp_path / "data" and path.name.startswith("faced-")
        np.testing.assert_array_equal(
            sources.open_features(path).data, sources.open_features(given).data
        )
    stamp = path.stat().st_mtime_ns
    again, _ = sources.as_cohort_file(faced_folder.root / "EEG_Features" / "DE", tmp_path / "data")
    assert again == path
    assert path.stat().st_mtime_ns == stamp  # unchanged files: read once, reused
    assert sources.as_cohort_file(path, tmp_path / "other")[0] == path  # a cohort file: itself


def test_raw_sources_are_refused_where_features_are_read_with_the_command_to_run(
    faced_folder: FacedFolder, tmp_path: Path
) -> None:
    raw = faced_folder.root / "Processed_data"
    with pytest.raises(DataFormatError, match=r"vaxis data features .*Processed_data OUT"):
        sources.as_cohort_file(raw, tmp_path)
    raw_file = sources.convert(raw, tmp_path / "raw.cohort.h5")
    with pytest.raises(DataFormatError, match="holds raw EEG"):
        sources.as_cohort_file(raw_file, tmp_path)


def test_commands_with_raw_decoders_get_raw_eeg_as_one_reused_file(
    faced_folder: FacedFolder, tmp_path: Path
) -> None:
    raw = faced_folder.root / "Processed_data"
    path, cohort = sources.as_cohort_file(raw, tmp_path / "data", raw=True)
    assert path.parent == tmp_path / "data" and path.name.startswith("faced-raw-")
    assert cohort.meta.kind == "raw" and cohort.subjects.size > 0
    assert sources.as_cohort_file(raw, tmp_path / "data", raw=True)[0] == path  # reused
    assert sources.as_cohort_file(path, tmp_path / "other", raw=True)[0] == path  # in place


def test_convert_writes_features_and_streams_raw_and_refuses_bad_targets(
    faced_folder: FacedFolder, tmp_path: Path
) -> None:
    features = sources.convert(faced_folder.root, tmp_path / "de.cohort.h5")
    np.testing.assert_array_equal(
        sources.open_features(features).data, sources.open_features(faced_folder.root).data
    )
    raw = sources.convert(faced_folder.root / "Processed_data", tmp_path / "raw.cohort.h5")
    np.testing.assert_array_equal(sources.open_any(raw).data, faced_folder.raw.data)
    with pytest.raises(FileExistsError, match="--overwrite"):
        sources.convert(faced_folder.root, features)
    with pytest.raises(DataFormatError, match="already a cohort file"):
        sources.convert(features, tmp_path / "again.cohort.h5")
    with pytest.raises(DataFormatError, match=r"name it \*\.cohort\.h5"):
        sources.convert(faced_folder.root, tmp_path / "de.txt")
    (tmp_path / "folder.cohort.h5").mkdir()
    with pytest.raises(DataFormatError, match="is a folder"):
        sources.convert(faced_folder.root, tmp_path / "folder.cohort.h5", overwrite=True)


def test_a_cohort_file_with_nan_is_refused_or_repaired_once_for_the_jobs(tmp_path: Path) -> None:
    cohort, _ = synthesize_features(SynthConfig(n_subjects=4, n_windows=2, seed=2))
    clean = cohort.save(tmp_path / "clean.cohort.h5")
    data = cohort.data.copy()
    data[3, 1, 2] = np.nan
    broken = cohort.with_data(data).save(tmp_path / "broken.cohort.h5")
    with pytest.raises(NonFiniteError, match=r"broken\.cohort\.h5: 1 non-finite"):
        sources.open_features(broken)
    assert sources.open_features(broken, nan_policy="drop").n_samples == cohort.n_samples - 1
    jobs = tmp_path / "out"
    assert sources.as_cohort_file(clean, jobs, "drop")[0] == clean  # finite: read in place
    assert not jobs.exists()
    with pytest.raises(NonFiniteError):
        sources.as_cohort_file(broken, jobs, "raise")
    path, repaired = sources.as_cohort_file(broken, jobs, "drop")
    assert path == jobs / "broken.drop.cohort.h5" and path.exists()
    assert repaired.n_samples == cohort.n_samples - 1 and np.isfinite(repaired.data).all()
