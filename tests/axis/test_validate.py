"""validate_axis end to end: planted corpora beat the null, unplanted ones do not."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.axis.planted_words import write_corpus, write_stories
from vaxis.axis.axis import VAxis
from vaxis.axis.build import BUILD_FILE, AxisBuildConfig, ModelStates, build_axis
from vaxis.axis.corpora import RatedTexts, load_corpus
from vaxis.axis.models import resolve_model
from vaxis.axis.validate import (
    CURVES_PLOT,
    VALIDATION_FILE,
    ValidationReport,
    targets,
    validate_axis,
)
from vaxis.errors import DataFormatError


@pytest.fixture(scope="module")
def setup(
    tiny_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("validate")
    config = AxisBuildConfig(
        model=str(tiny_model_dirs["llama"]),
        stories=str(write_stories(root / "stories.csv")),
        cache_dir=str(root / "cache"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_axis(config, root / "axis", progress=False)
    return {
        "root": root,
        "axis": root / "axis",
        "label": write_corpus(root / "planted.csv", n=240, seed=1),
        "score": write_corpus(root / "rated.csv", n=240, seed=2, kind="score"),
        "null": write_corpus(root / "unplanted.csv", n=240, seed=3, kind="null"),
        "other_model": tiny_model_dirs["gpt2"],
    }


@pytest.fixture(scope="module")
def report(setup: dict[str, Path]) -> ValidationReport:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAXIS_DATA", str(setup["root"] / "no-assets"))  # no lexicon asset
        corpora = [str(setup[k]) for k in ("label", "score", "null")]
        return validate_axis(setup["axis"], corpora, n_null=1000, n_boot=500, progress=False)


def test_planted_corpus_beats_the_random_direction_null(report: ValidationReport) -> None:
    result = report.corpus("planted").at_axis_layer("auroc")
    assert result.layer == report.axis["layer"] and result.n == 240
    assert result.value > 0.95
    assert result.p_value < 0.01 and result.value > result.null.p99
    assert result.ci95[0] <= result.value <= result.ci95[1]
    assert report.corpus("planted").baseline("auroc", "probe") > 0.95


def test_unplanted_corpus_is_not_significant(report: ValidationReport) -> None:
    result = report.corpus("unplanted").at_axis_layer("auroc")
    assert result.p_value > 0.05
    assert result.ci95[0] < 0.5 < result.ci95[1]
    assert report.corpus("unplanted").baseline("auroc", "probe") == pytest.approx(0.5, abs=0.1)


def test_ratings_get_spearman_and_auroc_needs_a_known_scale(
    report: ValidationReport, setup: dict[str, Path], tmp_path: Path
) -> None:
    rated = report.corpus("rated")
    spearman = rated.at_axis_layer("spearman")
    assert spearman.value > spearman.null.p99 and spearman.p_value < 0.01
    assert not [r for r in rated.results if r.metric == "auroc"]
    assert any("AUROC skipped" in note for note in rated.notes)
    with_threshold = validate_axis(
        setup["axis"], [str(setup["score"])], layers="chosen", threshold=0.0, n_null=200,
        n_boot=200, out_dir=tmp_path, progress=False,
    )  # fmt: skip
    assert with_threshold.corpora[0].at_axis_layer("auroc").value > 0.95


def test_axis_layer_value_equals_a_direct_computation(
    report: ValidationReport, setup: dict[str, Path]
) -> None:
    axis = VAxis.load(setup["axis"])
    corpus = load_corpus(setup["label"], max_items=1000)
    config = AxisBuildConfig.model_validate(
        json.loads((setup["axis"] / BUILD_FILE).read_text())["config"]
    )
    states = ModelStates.for_config(config, resolve_model(config.model))(corpus.texts)
    assert corpus.labels is not None
    expected = roc_auc_score(corpus.labels, axis.transform(states))
    assert report.corpus("planted").at_axis_layer("auroc").value == pytest.approx(expected)


def test_every_layer_is_scored_but_only_the_axis_layer_counts(
    report: ValidationReport, setup: dict[str, Path]
) -> None:
    planted = report.corpus("planted")
    layers = sorted(r.layer for r in planted.results if r.metric == "auroc")
    assert layers == list(range(3))  # tiny llama: embeddings + 2 layers
    assert sum(r.axis_layer for r in planted.results) == 1

    saved = json.loads((setup["axis"] / VALIDATION_FILE).read_text())
    assert "signed" in saved["protocol"]["null"]
    assert saved["model_note"] == report.model_note
    assert saved["model"]["fingerprint"] == VAxis.load(setup["axis"]).model_identity_["fingerprint"]
    entry = saved["corpora"][0]
    assert [r["layer"] for r in entry["axis_layer"]] == [report.axis["layer"]]
    assert len(entry["other_layers_for_inspection_not_selection"]) == 2
    assert entry["axis_layer"][0]["null"]["quantiles"]["p99"] is not None
    assert any("vaxis assets fetch vader" in note for note in entry["notes"])
    assert entry["ablation"]["probe_before"] == pytest.approx(planted.baseline("auroc", "probe"))
    assert (setup["axis"] / CURVES_PLOT).stat().st_size > 10_000


def test_ablation_of_the_planted_axis_is_reported(report: ValidationReport) -> None:
    ablation = report.corpus("planted").ablation
    assert ablation is not None and ablation.layer == report.axis["layer"]
    assert ablation.probe_after_random > 0.95  # a random direction carries no valence
    assert report.corpus("rated").ablation is None  # ablation needs labels (AUROC)


def test_targets_binarise_ratings_at_the_scale_middle() -> None:
    rated = RatedTexts("r", ["a", "b", "c", "d"], scores=np.array([-2.0, 0.0, 3.0, 1.0]),
                       scale=(-4.0, 4.0))  # fmt: skip
    views = targets(rated, threshold=None)
    index, labels = views["auroc"]
    assert index.tolist() == [0, 2, 3] and labels.tolist() == [0, 1, 1]  # 0.0 dropped
    assert views["spearman"][1].tolist() == [-2.0, 0.0, 3.0, 1.0]
    index, labels = targets(rated, threshold=1.5)["auroc"]
    assert labels.tolist() == [0, 0, 1, 0]
    unscaled = RatedTexts("u", ["a", "b"], scores=np.array([1.0, 2.0]))
    assert set(targets(unscaled, None)) == {"spearman"}
    labelled = RatedTexts("l", ["a", "b"], labels=np.array([1, 0]))
    assert set(targets(labelled, None)) == {"auroc"}


def test_an_axis_built_from_another_model_is_refused(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    copy = shutil.copytree(setup["axis"], tmp_path / "axis")
    record = json.loads((copy / BUILD_FILE).read_text())
    record["config"]["model"] = str(setup["other_model"])
    (copy / BUILD_FILE).write_text(json.dumps(record))
    with pytest.raises(DataFormatError, match="built from model"):
        validate_axis(copy, [str(setup["label"])], progress=False)
