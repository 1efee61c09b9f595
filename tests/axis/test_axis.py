"""VAxis finds the planted layer and direction, transforms states and texts, saves and loads."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tests.axis.planted import VALENCE, Planted, planted_layers
from vaxis.axis.axis import VAxis
from vaxis.axis.methods import get_method
from vaxis.errors import DataFormatError

L, PLANTED, JOY = 6, (3, 4), 7


@pytest.fixture(scope="module")
def data() -> Planted:
    return planted_layers(seed=3, n_layers=L, valence_layers=PLANTED)


@pytest.fixture(scope="module")
def fitted(data: Planted) -> VAxis:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a good planted axis raises no AxisWarning
        return VAxis().fit(data.states, data.class_index, VALENCE)


def test_auto_layer_recovers_the_planted_direction(fitted: VAxis, data: Planted) -> None:
    assert fitted.layer_ in PLANTED
    assert fitted.directions_[fitted.layer_] @ data.u[fitted.layer_] > 0.99
    assert fitted.diagnosis_.ok and fitted.diagnosis_.held_out
    assert fitted.method_ == "ridge_score"
    assert (fitted.n_layers_, fitted.n_features_in_) == (L, 64)
    norms = np.linalg.norm(fitted.directions_, axis=1)
    assert norms == pytest.approx(np.ones(L))


def test_class_positions_are_centroid_projections(fitted: VAxis, data: Planted) -> None:
    layer = fitted.layer_
    x = data.states[:, layer]
    centroids = np.stack([x[data.class_index == c].mean(axis=0) for c in range(9)])
    assert fitted.class_positions_[layer] == pytest.approx(centroids @ fitted.directions_[layer])
    c = centroids - centroids.mean(axis=0)
    share = np.sum((c @ fitted.directions_[layer]) ** 2) / np.sum(c**2)
    assert fitted.explained_variance_[layer] == pytest.approx(share)


def test_study_recipe_is_centroid_pca_at_the_penultimate_layer() -> None:
    # Index 0 is the embedding output and index L - 1 the final layer L_max, so the study's
    # layer L_max - 1 is index L - 2. Plant valence there so that PCA-1 is valence.
    p = planted_layers(seed=4, n_layers=L, valence_layers=(L - 2,))
    axis = VAxis(recipe="study").fit(p.states, p.class_index, VALENCE)
    assert (axis.layer_, axis.method_, axis.pooling_) == (L - 2, "centroid_pca", "last")
    assert axis.get_params()["method"] == "ridge_score"  # params untouched
    expected = get_method("centroid_pca")(
        p.states[:, L - 2], p.class_index, VALENCE, sign_reference=JOY
    )
    assert axis.directions_[L - 2] == pytest.approx(expected.vector)
    assert axis.explained_variance_[L - 2] == pytest.approx(expected.explained_variance)
    assert axis.directions_[L - 2] @ p.u[L - 2] > 0.99


def test_transform_states_layers_and_texts(fitted: VAxis, data: Planted) -> None:
    v = fitted.directions_[fitted.layer_]
    expected = data.states[:, fitted.layer_] @ v
    assert fitted.transform(data.states) == pytest.approx(expected)
    assert fitted.transform(data.states[:, fitted.layer_]) == pytest.approx(expected)
    every = fitted.transform_all_layers(data.states)
    assert every[:, 2] == pytest.approx(data.states[:, 2] @ fitted.directions_[2])

    texts = [f"text {i}" for i in range(len(data.states))]
    calls: list[list[str]] = []

    def source(batch: list[str]) -> np.ndarray:
        calls.append(batch)
        return data.states[[int(t.split()[1]) for t in batch]]

    axis = clone(fitted).fit(data.states, data.class_index, VALENCE, state_source=source)
    assert axis.transform(texts[::-1]) == pytest.approx(expected[::-1])
    assert calls == [texts[::-1]]


def test_project_out_removes_only_the_axis(fitted: VAxis, data: Planted) -> None:
    layer, v = fitted.layer_, fitted.directions_[fitted.layer_]
    out = fitted.project_out(data.states)
    assert fitted.transform(out) == pytest.approx(np.zeros(len(out)), abs=1e-9)
    removed = data.states[:, layer] - out[:, layer]
    assert removed == pytest.approx(np.outer(data.states[:, layer] @ v, v))
    others = [i for i in range(L) if i != layer]
    assert np.array_equal(out[:, others], data.states[:, others])
    flat = fitted.project_out(data.states[:, 0], layer=0)
    assert flat @ fitted.directions_[0] == pytest.approx(np.zeros(len(flat)), abs=1e-9)
    assert np.array_equal(fitted.project_out(data.states[:, layer]), out[:, layer])


def test_save_load_round_trip(fitted: VAxis, data: Planted, tmp_path: Path) -> None:
    axis = clone(fitted).fit(data.states, data.class_index, VALENCE, model_identity={"name": "m"})
    axis.save(tmp_path / "axis")
    again = VAxis.load(tmp_path / "axis")
    assert np.array_equal(again.transform(data.states), axis.transform(data.states))
    assert np.array_equal(
        again.transform_all_layers(data.states), axis.transform_all_layers(data.states)
    )
    assert again.get_params() == axis.get_params()
    assert again.diagnosis_ == axis.diagnosis_
    assert again.model_identity_ == {"name": "m"}
    assert again.class_names_[JOY] == "joy"
    assert np.array_equal(again.layer_scores_.held_out, axis.layer_scores_.held_out, equal_nan=True)
    with pytest.raises(FileExistsError):
        axis.save(tmp_path / "axis")
    axis.save(tmp_path / "axis", overwrite=True)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda d: (d / "axis.json").unlink(), "file missing"),
        (lambda d: (d / "axis.json").write_text("{not json"), "not a vaxis axis file"),
        (lambda d: _edit_json(d, layer="top"), "not a vaxis axis file"),
        (lambda d: _edit_json(d, layer=99), "layer 99 is outside"),
        (lambda d: _edit_json(d, surprise=1), "not a vaxis axis file"),
        (lambda d: _edit_json(d, params={"colour": "red"}), "bad entry"),
        (lambda d: np.save(d / "directions.npy", np.zeros((6, 5))), r"axis.json says \(6, 64\)"),
        (lambda d: (d / "directions.npy").write_bytes(b"junk"), "unreadable"),
    ],
)
def test_load_rejects_damaged_files(
    fitted: VAxis, tmp_path: Path, damage: Callable[[Path], object], match: str
) -> None:
    folder = fitted.save(tmp_path / "axis")
    damage(folder)
    with pytest.raises(DataFormatError, match=match):
        VAxis.load(folder)


def _edit_json(folder: Path, **changes: object) -> None:
    path = folder / "axis.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_state_source_pooling_must_match(data: Planted) -> None:
    class MeanPooled:
        pooling = "mean"

        def __call__(self, texts: list[str]) -> np.ndarray:
            raise AssertionError("not called")

    with pytest.raises(ValueError, match="pools 'mean', the axis 'last'"):
        VAxis().fit(data.states, data.class_index, VALENCE, state_source=MeanPooled())
    axis = VAxis(pooling="mean").fit(
        data.states, data.class_index, VALENCE, state_source=MeanPooled()
    )
    assert axis.pooling_ == "mean"


def test_clone_keeps_params_verbatim() -> None:
    axis = VAxis(method="lda", layer=-3, sign_reference=None, class_names=("a", "b"))
    copy = clone(axis)
    assert copy.get_params() == axis.get_params()
    assert copy.class_names == ("a", "b") and copy.layer == -3


def test_wrong_inputs_get_clear_errors(fitted: VAxis, data: Planted) -> None:
    with pytest.raises(ValueError, match=r"fitted on \(n, 6, 64\)"):
        fitted.transform(data.states[:, :, :32])
    with pytest.raises(ValueError, match=r"fitted on \(n, 64\)"):
        fitted.transform(data.states[:, 0, :10])
    with pytest.raises(ValueError, match="or a list of texts"):
        fitted.transform(data.states[0, 0])
    with pytest.raises(ValueError, match="need a state source"):
        fitted.transform(["a text"])
    with pytest.raises(TypeError, match="list of texts"):
        fitted.transform("a text")  # type: ignore[arg-type]
    with pytest.raises(NotFittedError):
        VAxis().transform(data.states)
    with pytest.raises(ValueError, match=r"\(n_texts, n_layers, width\)"):
        VAxis().fit(data.states[:, 0], data.class_index, VALENCE)
    with pytest.raises(ValueError, match="unknown recipe"):
        VAxis(recipe="paper").fit(data.states, data.class_index, VALENCE)
    with pytest.raises(ValueError, match="sign_reference 'joy' is not a class name"):
        VAxis(class_names=list("abcdefghi")).fit(data.states, data.class_index, VALENCE)
    with pytest.raises(ValueError, match="unknown direction method"):
        VAxis(method="pca").fit(data.states, data.class_index, VALENCE)
