"""Cross-model consistency: correlation matrices, tiers, reference files, two tiny models."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from tests.axis.planted_words import write_stories
from vaxis.axis.agreement import permutation_p
from vaxis.axis.axis import VAxis
from vaxis.axis.build import AxisBuildConfig
from vaxis.axis.compare import (
    CONSISTENCY_FILE,
    HEATMAP_PLOT,
    class_positions,
    compare_models,
    correlations,
    load_reference,
    mean_off_diagonal,
    tier,
)
from vaxis.errors import DataFormatError


@pytest.mark.parametrize(
    ("r", "expected"),
    [(0.99, "top"), (0.851, "top"), (0.85, "middle"), (0.6, "middle"), (0.599, "between tiers"),
     (0.4, "between tiers"), (0.399, "out"), (-0.9, "out"), (float("nan"), "undefined")],
)  # fmt: skip
def test_tiers_follow_the_study(r: float, expected: str) -> None:
    assert tier(r) == expected


def test_correlation_matrices_equal_scipy() -> None:
    rng = np.random.default_rng(0)
    positions = rng.normal(size=(4, 9))
    positions[1] = 3 * positions[0] + 1  # an affine copy: r = 1
    positions[2] = -(positions[0] ** 3)  # monotone decreasing: Spearman -1
    pearson, spearman = correlations(positions)
    for i in range(4):
        for j in range(4):
            assert pearson[i, j] == pytest.approx(pearsonr(positions[i], positions[j])[0])
            assert spearman[i, j] == pytest.approx(spearmanr(positions[i], positions[j])[0])
    assert pearson[0, 1] == pytest.approx(1.0) and spearman[0, 2] == pytest.approx(-1.0)
    assert np.allclose(pearson, pearson.T) and np.allclose(np.diag(pearson), 1.0)
    assert mean_off_diagonal(pearson) == pytest.approx(pearson[np.triu_indices(4, 1)].mean())
    assert np.isnan(mean_off_diagonal(np.ones((1, 1))))


def test_reference_file_is_read_by_class_name(tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    path.write_text("class,valence\nJoy,0.9\nanger,-0.8\nneutral,0\n")
    assert load_reference(path, ["anger", "neutral", "joy"]).tolist() == [-0.8, 0.0, 0.9]
    with pytest.raises(DataFormatError, match="no valence for class"):
        load_reference(path, ["anger", "fear"])
    (tmp_path / "bad.csv").write_text("name,score\njoy,1\n")
    with pytest.raises(DataFormatError, match="'class' and 'valence'"):
        load_reference(tmp_path / "bad.csv", ["joy"])


@pytest.fixture(scope="module")
def compared(tiny_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple:
    root = tmp_path_factory.mktemp("compare")
    config = AxisBuildConfig(
        stories=str(write_stories(root / "stories.csv")), cache_dir=str(root / "cache")
    )
    models = [str(tiny_model_dirs["llama"]), str(tiny_model_dirs["gpt2"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare_models(models, config, root / "out", progress=False)
    return report, root / "out"


def test_two_models_give_a_symmetric_matrix_from_their_own_axes(compared: tuple) -> None:
    report = compared[0]
    assert report.pearson.shape == (2, 2)
    assert np.allclose(report.pearson, report.pearson.T)
    assert np.diag(report.pearson) == pytest.approx([1.0, 1.0])
    assert np.diag(report.spearman) == pytest.approx([1.0, 1.0])
    axes = [VAxis.load(m.axis_dir) for m in report.models]
    rows = [class_positions(axis, "held_out") for axis in axes]
    assert report.pearson[0, 1] == pytest.approx(pearsonr(rows[0], rows[1])[0])
    assert [m.label for m in report.models] == ["llama", "gpt2"]
    for entry, row in zip(report.models, rows, strict=True):
        r = pearsonr(row, np.array(report.reference))[0]
        assert entry.reference_pearson == pytest.approx(r)
        assert entry.tier == tier(r)
        # planted valence words: both tiny models order the classes like the reference
        assert entry.tier in ("top", "middle")


def test_consistency_files_are_written(compared: tuple) -> None:
    report, out = compared
    saved = json.loads((out / CONSISTENCY_FILE).read_text())
    assert np.array(saved["pearson"]) == pytest.approx(report.pearson)
    assert saved["mean_off_diagonal"]["pearson"] == pytest.approx(report.pearson[0, 1])
    assert saved["reference"]["source"] == "stories' a-priori class valence"
    assert all(m["model_note"] for m in saved["models"])
    assert (out / HEATMAP_PLOT).stat().st_size > 5_000
    assert len(list((out / "axes").iterdir())) == 2


def test_in_sample_positions_are_the_class_centroid_projections(compared: tuple) -> None:
    axis = VAxis.load(compared[0].models[0].axis_dir)
    assert class_positions(axis, "in_sample") == pytest.approx(axis.class_positions_[axis.layer_])


def test_compare_needs_two_models_and_no_shared_gguf_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least two"):
        compare_models(["a"], AxisBuildConfig(), tmp_path)
    with pytest.raises(ValueError, match="gguf"):
        compare_models(["a", "b"], AxisBuildConfig(gguf_file="x.gguf"), tmp_path)


def test_the_library_gives_the_agreement_p_values_the_study_reports(compared: tuple) -> None:
    """`vaxis axis compare` and `vaxis study` report the same figures: the library computes
    the permutation p of each r (exact over 9! relabelings) and writes it to consistency.json."""
    report, out = compared
    stats = {s.name: s for s in report.stats}
    assert set(stats) == {
        "agreement r llama vs gpt2",
        "mean agreement r",
        "reference r llama",
        "reference r gpt2",
    }
    pair = stats["agreement r llama vs gpt2"]
    assert pair.value == pytest.approx(report.pearson[0, 1]) and pair.n == 9
    rows = [np.array(m.class_positions) for m in report.models]
    assert pair.p_value == pytest.approx(permutation_p(rows[0], rows[1], 1000, 0))
    assert stats["reference r llama"].note == f"tier: {report.models[0].tier}"
    saved = json.loads((out / CONSISTENCY_FILE).read_text())
    assert [s["name"] for s in saved["stats"]] == list(stats)
