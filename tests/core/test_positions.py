"""Stimulus positions: class fallback, files, axis folders, clip descriptions, synthetic truth."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.axis.planted import VALENCE, Planted, planted_layers
from vaxis.axis.axis import VAxis
from vaxis.axis.positions import (
    axis_class_positions,
    faced_clips,
    from_axis_dir,
    project_descriptions,
    resolve_positions,
)
from vaxis.core.positions import (
    STIMULUS_POSITIONS_FILE,
    StimulusPositions,
    from_class_positions,
    from_file,
    from_truth,
    from_valence_groups,
)
from vaxis.data.datasets import FACED_CLASSES, FACED_CLIP_LABELS, SEEDV_SESSION_LABELS
from vaxis.data.synthetic import SynthConfig, make_truth
from vaxis.errors import DataFormatError

CLASS_VALUES = dict(zip(FACED_CLASSES, np.linspace(-1, 1, 9), strict=True))


@pytest.fixture(scope="module")
def states() -> Planted:
    return planted_layers(seed=5, n_layers=4, valence_layers=(2,))


@pytest.fixture(scope="module")
def axis(states: Planted) -> VAxis:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return VAxis(layer=2).fit(states.states, states.class_index, VALENCE)


def test_class_fallback_gives_every_clip_its_class_position() -> None:
    positions = from_class_positions("faced", CLASS_VALUES)
    expected = [CLASS_VALUES[FACED_CLASSES[label]] for label in FACED_CLIP_LABELS]
    assert positions.positions == pytest.approx(expected)
    assert positions.stimuli == tuple(range(28))
    assert positions.source == "class-fallback"


def test_seedv_takes_sad_and_happy_from_faced_sadness_and_joy() -> None:
    positions = from_class_positions("seedv", CLASS_VALUES)
    labels = [label for session in SEEDV_SESSION_LABELS for label in session]
    values = np.array(positions.positions)
    assert len(values) == 45
    # SEED-V classes: 0 disgust, 1 fear, 2 sad, 3 neutral, 4 happy
    mapped = ("disgust", "fear", "sadness", "neutral", "joy")
    assert values == pytest.approx([CLASS_VALUES[mapped[label]] for label in labels])


def test_valence_groups_are_minus_one_zero_plus_one() -> None:
    positions = from_valence_groups("faced")
    assert set(positions.positions) == {-1.0, 0.0, 1.0}
    assert positions.positions[12:16] == (0.0,) * 4  # the four neutral clips
    assert positions.source == "class-fallback:valence-groups"


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_save_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    original = StimulusPositions(
        dataset="faced",
        stimuli=tuple(range(28)),
        positions=tuple(np.random.default_rng(0).normal(size=28).tolist()),
        source="synthetic-truth",
        descriptions=tuple(f"clip {i}" for i in range(28)),
    )
    path = original.save(tmp_path / f"p{suffix}")
    loaded = from_file(path)
    assert loaded.positions == original.positions  # exact: repr() keeps every digit
    assert loaded.descriptions == original.descriptions
    assert loaded.source == f"file:{path}"


def test_csv_accepts_names_and_reports_bad_rows(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("stimulus,position\nanger-2,0.5\nJOY-1,-0.25\n")
    positions = from_file(good)
    assert positions.stimuli == (1, 22)
    assert positions.aligned(np.array([22, 1])) == pytest.approx([-0.25, 0.5])
    with pytest.raises(DataFormatError, match="no entry for stimuli \\[0\\]"):
        positions.aligned(np.array([0, 1]))
    bad = tmp_path / "bad.csv"
    bad.write_text("clip,value\n0,1\n")
    with pytest.raises(DataFormatError, match="need 'stimulus' and 'position'") as err:
        from_file(bad)
    assert err.value.path == bad and err.value.fix
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("stimulus,position\nrage-1,1\n")
    with pytest.raises(DataFormatError, match="line 2: stimulus 'rage-1'"):
        from_file(unknown)
    twice = tmp_path / "twice.csv"
    twice.write_text("stimulus,position\n0,1\nanger-1,2\n")
    with pytest.raises(DataFormatError, match="listed twice"):
        from_file(twice)


def test_axis_folder_without_clip_positions_falls_back_to_its_class_positions(
    axis: VAxis, tmp_path: Path
) -> None:
    folder = axis.save(tmp_path / "axis")
    positions = from_axis_dir(folder)
    class_positions = axis.class_positions_[axis.layer_]
    assert positions.source == f"class-fallback:axis:{folder}"
    assert STIMULUS_POSITIONS_FILE in positions.note
    assert positions.class_positions == pytest.approx(class_positions)
    assert positions.positions == pytest.approx(class_positions[list(FACED_CLIP_LABELS)])


def test_axis_folder_with_clip_positions_uses_them(axis: VAxis, tmp_path: Path) -> None:
    folder = axis.save(tmp_path / "axis")
    per_clip = np.arange(28) / 10.0
    lines = "".join(f"{i},{p}\n" for i, p in enumerate(per_clip))
    (folder / STIMULUS_POSITIONS_FILE).write_text("stimulus,position\n" + lines)
    positions = resolve_positions(str(folder), tmp_path / "unused.cohort.h5", "faced")
    assert positions.source == f"axis:{folder}"
    assert positions.positions == pytest.approx(per_clip)
    assert positions.class_positions == pytest.approx(axis.class_positions_[axis.layer_])


def test_a_faced_axis_folder_places_seedv_trials_by_class(axis: VAxis, tmp_path: Path) -> None:
    """The cross-dataset source: an axis folder whose per-clip table (as `vaxis axis build`
    writes it) names FACED's 28 clips gives SEED-V's 45 trials their class positions."""
    folder = axis.save(tmp_path / "axis")
    StimulusPositions(
        dataset="faced", stimuli=tuple(range(28)), positions=tuple(np.arange(28) / 10.0), source="t"
    ).save(folder / STIMULUS_POSITIONS_FILE)
    assert from_axis_dir(folder, "faced").positions == pytest.approx(np.arange(28) / 10.0)
    seedv = resolve_positions(str(folder), tmp_path / "unused.cohort.h5", "seedv")
    assert seedv.source == f"class-fallback:axis:{folder}"
    assert "other stimuli than seedv's" in seedv.note
    assert seedv.stimuli == tuple(range(45))
    expected = from_class_positions("seedv", axis_class_positions(axis))
    assert seedv.positions == pytest.approx(expected.positions)


def test_bundled_descriptions_are_category_level_and_project_to_class_positions(
    axis: VAxis, states: Planted
) -> None:
    clips = faced_clips()
    assert [c.clip for c in clips] == list(range(28))
    assert [FACED_CLASSES.index(c.category) for c in clips] == list(FACED_CLIP_LABELS)
    assert all(c.title == "" for c in clips)  # titles unverified: left empty on purpose
    # A state source that maps each category's description to that class's centroid.
    centroid = {
        c.description: states.states[states.class_index == FACED_CLASSES.index(c.category)].mean(0)
        for c in clips
    }
    axis.set_state_source(lambda texts: np.stack([centroid[t] for t in texts]))
    positions = project_descriptions(axis)
    expected = axis.class_positions_[axis.layer_][list(FACED_CLIP_LABELS)]
    assert positions.positions == pytest.approx(expected)
    assert positions.source.startswith("axis-descriptions:")
    assert positions.descriptions == tuple(c.description for c in clips)


def test_truth_positions_are_the_planted_valence_and_labelled_synthetic() -> None:
    truth = make_truth(SynthConfig(n_subjects=2, n_windows=2, seed=3))
    positions = from_truth(truth)
    assert positions.positions == pytest.approx(truth.valence)
    assert positions.source == "synthetic-truth" and "SYNTHETIC" in positions.note


def test_resolve_rejects_what_it_cannot_read(tmp_path: Path) -> None:
    assert resolve_positions("classes", tmp_path / "c.cohort.h5", "seedv").dataset == "seedv"
    with pytest.raises(DataFormatError, match="not an axis folder"):
        resolve_positions(str(tmp_path / "missing"), tmp_path / "c.cohort.h5", "faced")
    with pytest.raises(DataFormatError, match="no ground truth"):
        resolve_positions("truth", tmp_path / "c.cohort.h5", "faced")


def test_a_cohort_of_an_unregistered_dataset_is_refused_with_what_it_can_do(
    tmp_path: Path,
) -> None:
    for spec in ("classes", "truth", str(tmp_path)):
        with pytest.raises(DataFormatError, match="defined for faced and seedv stimuli, not for"):
            resolve_positions(spec, tmp_path / "mine.cohort.h5", "custom")
