"""build_axis end to end on a tiny random model with valence planted in the stories' words."""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.axis.planted_words import write_stories
from vaxis.axis.axis import VAxis
from vaxis.axis.build import (
    BUILD_FILE,
    NOT_QUANTIZED,
    AxisBuildConfig,
    ModelStates,
    build_axis,
    model_note,
    read_build,
)
from vaxis.axis.lm import load_model
from vaxis.axis.models import ModelSpec, resolve_model
from vaxis.axis.positions import faced_clips
from vaxis.errors import DataFormatError


def _build(config: AxisBuildConfig, out: Path) -> VAxis:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AxisWarning is the diagnosis's job, checked below
        return build_axis(config, out, progress=False)


@pytest.fixture(scope="module")
def config(
    tiny_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> AxisBuildConfig:
    root = tmp_path_factory.mktemp("build")
    return AxisBuildConfig(
        model=str(tiny_model_dirs["llama"]),
        stories=str(write_stories(root / "stories.csv")),
        cache_dir=str(root / "cache"),
    )


@pytest.fixture(scope="module")
def built(config: AxisBuildConfig, tmp_path_factory: pytest.TempPathFactory) -> tuple[VAxis, Path]:
    out = tmp_path_factory.mktemp("axis")
    return _build(config, out), out


def test_build_writes_the_axis_folder(built: tuple[VAxis, Path], config: AxisBuildConfig) -> None:
    axis, out = built
    for name in ("axis.json", "directions.npy", BUILD_FILE, "class_positions.png",
                 "layer_scores.png", "stimulus_positions.csv"):  # fmt: skip
        assert (out / name).is_file(), name
    read_config, record = read_build(out)
    assert read_config == config
    assert record["stories"]["n_texts"] == 9 * 16
    assert record["model_note"] == NOT_QUANTIZED  # a float32 folder model, not a GGUF
    assert record["model"]["fingerprint"] == axis.model_identity_["fingerprint"]
    assert record["axis"]["layer"] == axis.layer_
    loaded = VAxis.load(out)
    assert loaded.directions_ == pytest.approx(axis.directions_)


def test_planted_valence_orders_the_classes_out_of_sample(built: tuple[VAxis, Path]) -> None:
    axis, _ = built
    held_out = axis.layer_scores_.held_out_positions[axis.layer_]
    positive, negative = axis.class_valence_ > 0, axis.class_valence_ < 0
    assert held_out[positive].min() > held_out[negative].max()
    assert axis.diagnosis_.ok and axis.diagnosis_.positives_above_negatives
    assert axis.class_positions_[axis.layer_][7] > 0  # joy projects positive (sign reference)


def test_stimulus_positions_are_the_axis_applied_to_clip_descriptions(
    built: tuple[VAxis, Path], config: AxisBuildConfig
) -> None:
    axis, out = built
    with (out / "stimulus_positions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    clips = faced_clips()
    assert [int(r["stimulus"]) for r in rows] == [c.clip for c in clips]
    source = ModelStates.for_config(config, resolve_model(config.model))
    states = source([c.description for c in clips])
    expected = VAxis.load(out).transform(states)
    assert [float(r["position"]) for r in rows] == pytest.approx(expected)
    assert axis.transform([clips[0].description]) == pytest.approx(expected[:1])  # kept source
    record = json.loads((out / BUILD_FILE).read_text())
    assert record["stimulus_positions"]["source"].startswith("axis-descriptions")


def test_a_second_build_reads_the_states_from_the_cache(
    built: tuple[VAxis, Path], config: AxisBuildConfig, tmp_path: Path
) -> None:
    again = _build(config, tmp_path / "again")
    assert json.loads((tmp_path / "again" / BUILD_FILE).read_text())["states_from_cache"]
    assert again.directions_ == pytest.approx(built[0].directions_)
    with pytest.raises(FileExistsError, match="overwrite"):
        build_axis(config, tmp_path / "again", progress=False)


def test_model_states_load_the_model_once_until_closed(
    config: AxisBuildConfig, random_texts: Callable[..., list[str]]
) -> None:
    calls = []

    def counting(spec: ModelSpec, device: str, dtype: str) -> tuple:
        calls.append(spec.fingerprint)
        return load_model(spec, device, dtype)

    spec = resolve_model(config.model)
    source = ModelStates(spec, "last", loader=counting)  # no cache: every call runs the model
    first = source(random_texts(5, seed=1))
    source(random_texts(7, seed=2))
    assert len(calls) == 1
    source.close()
    assert source(random_texts(5, seed=1)) == pytest.approx(first)
    assert len(calls) == 2


def test_story_holdout_equals_class_holdout_with_one_story_per_class(
    built: tuple[VAxis, Path], config: AxisBuildConfig, tmp_path: Path
) -> None:
    by_story = _build(config.model_copy(update={"holdout": "story"}), tmp_path / "story")
    assert by_story.layer_scores_.grouping == "groups"
    assert built[0].layer_scores_.grouping == "class"  # auto: FACED has 4 + 4 valenced classes
    expected = built[0].layer_scores_.held_out
    assert by_story.layer_scores_.held_out == pytest.approx(expected, nan_ok=True)


def test_study_recipe_is_centroid_pca_at_the_penultimate_layer_on_main_stories(
    config: AxisBuildConfig, tmp_path: Path
) -> None:
    study = config.model_copy(update={"recipe": "study", "method": "lda", "pooling": "mean"})
    assert study.effective() == ("centroid_pca", "penultimate", "last", "main")
    axis = _build(study, tmp_path / "study")
    assert (axis.method_, axis.layer_, axis.pooling_) == (
        "centroid_pca",
        axis.n_layers_ - 2,
        "last",
    )
    assert read_build(tmp_path / "study")[1]["effective"]["stories_scope"] == "main"


def test_seedv_build_has_no_clip_descriptions(config: AxisBuildConfig, tmp_path: Path) -> None:
    # one positive class: each story, not each class, is held out (two stories per class)
    stories = write_stories(tmp_path / "seedv.csv", dataset="seedv", per_class=2)
    seedv = config.model_copy(update={"dataset": "seedv", "stories": str(stories)})
    axis = _build(seedv, tmp_path / "seedv")
    assert axis.class_names_ == ["disgust", "fear", "sad", "neutral", "happy"]
    assert axis.sign_reference == "happy"
    assert not (tmp_path / "seedv" / "stimulus_positions.csv").exists()
    record = read_build(tmp_path / "seedv")[1]
    assert record["stimulus_positions"]["source"] == "class"
    assert record["axis"]["holdout"] == "story"
    assert axis.layer_scores_.grouping == "groups"


def test_bad_settings_are_refused_before_any_model_runs(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="mean_difference"):
        AxisBuildConfig(method="nope")
    with pytest.raises(ValidationError):
        AxisBuildConfig(layer="middle")
    with pytest.raises(ValidationError):
        AxisBuildConfig(batch_sizes=4)  # a typo is an error, not ignored
    with pytest.raises(DataFormatError, match="vaxis axis build"):
        read_build(tmp_path)


def test_model_note_says_when_weights_were_dequantized() -> None:
    fields = dict(name="m", source="local", path="/m", fingerprint="sha256:0",
                  architecture="llama", n_layers=2, width=8, dtype="float32")  # fmt: skip
    note = "Q4_1 GGUF weights dequantized to float32 on load"
    quantized = ModelSpec(**fields, dequantized=True, quantized_note=note)
    assert model_note(quantized) == note
    assert model_note(ModelSpec(**fields)) == NOT_QUANTIZED
