"""The V-axis estimator: one valence direction per layer, a chosen layer, and a diagnosis.

``VAxis`` works on precomputed hidden states (n_texts, n_layers, width); texts go through a
:data:`StateSource` (any callable ``texts -> (n, n_layers, width)`` array, such as a wrapper
around :func:`vaxis.axis.lm.extract_states`). Layer indices follow :mod:`vaxis.axis.layers`:
index 0 is the embedding output, the last index the final layer.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError
from sklearn import __version__ as sklearn_version
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from vaxis import __version__
from vaxis.axis.diagnostics import AxisDiagnosis, AxisWarning, centroid_variance_share, diagnose
from vaxis.axis.layers import (
    LayerRule,
    LayerScores,
    choose_layer,
    fit_directions,
    nan_to_none,
    score_layers,
)
from vaxis.axis.methods import class_centroids, get_method
from vaxis.data.datasets import FACED_CLASSES
from vaxis.errors import DataFormatError

#: Any callable that maps texts to their (n_texts, n_layers, width) hidden states.
StateSource = Callable[[list[str]], np.ndarray]

#: Settings a named recipe fixes: (method, layer rule, pooling).
RECIPES: dict[str, tuple[str, LayerRule, str]] = {
    "study": ("centroid_pca", "penultimate", "last"),
}
POOLINGS = ("last", "mean")


class VAxis(BaseEstimator):
    """A valence direction in a language model's hidden states, fitted on rated stories.

    Parameters
    ----------
    method : name of a direction method in :data:`vaxis.axis.methods.METHODS`. The default is
        ``"ridge_score"``: on small models the study's centroid PCA-1 follows story content
        (docs/REFERENCE.md sec. 5.3: Pang & Lee AUROC 0.38-0.44 at the penultimate layer of
        SmolLM2-135M and Gemma-3-270M), and on SmolLM2 no layer of a difference of means orders
        the bundled stories by valence held out, while ridge_score does on 16 of 30 layers
        (docs/DESIGN.md, Decisions; decided on the stories alone).
    layer : ``"auto"`` (best held-out class ordering among the layers that pass the diagnosis,
        :func:`vaxis.axis.layers.choose_layer`),
        ``"penultimate"`` (index ``n_layers - 2``: with index 0 the embeddings and the last
        index the final layer ``L_max``, this is the study's layer ``L_max - 1``) or an index.
    recipe : ``None``, or ``"study"`` to use exactly the study's recipe (centroid PCA-1 at the
        penultimate layer of last-token states) whatever ``method``, ``layer`` and ``pooling``
        say; resolved in :meth:`fit`, the parameters themselves stay as given.
    pooling : ``"last"`` or ``"mean"``: how the states were pooled over tokens. Recorded with
        the axis and checked against a state source's own ``pooling`` attribute if it has one.
    sign_reference : class name or index whose centroid must project above the mean of the
        class centroids (the study: "Joy projects positive"); ``None`` orients the axis by the
        correlation of class positions with class valence instead.
    class_names : one name per class; default FACED's nine classes when there are nine,
        else ``class0, class1, ...``.

    Attributes
    ----------
    directions_ (n_layers, width) unit directions (zero where a layer defines none);
    explained_variance_ (n_layers,) share of centroid variance along each direction;
    class_positions_ (n_layers, k) class-centroid projections; layer_scores_; layer_;
    diagnosis_ (at ``layer_``, from held-out class positions); method_, pooling_;
    class_names_, class_valence_; model_identity_; n_layers_, n_features_in_.
    """

    def __init__(
        self,
        method: str = "ridge_score",
        layer: LayerRule = "auto",
        recipe: str | None = None,
        pooling: str = "last",
        sign_reference: str | int | None = "joy",
        class_names: Sequence[str] | None = None,
    ) -> None:
        self.method = method
        self.layer = layer
        self.recipe = recipe
        self.pooling = pooling
        self.sign_reference = sign_reference
        self.class_names = class_names

    def _resolved(self) -> tuple[str, LayerRule, str]:
        """(method, layer rule, pooling) after applying ``recipe``."""
        if self.recipe is None:
            method, layer, pooling = self.method, self.layer, self.pooling
        elif self.recipe in RECIPES:
            method, layer, pooling = RECIPES[self.recipe]
        else:
            raise ValueError(
                f"unknown recipe {self.recipe!r}; choose None or one of {list(RECIPES)}"
            )
        get_method(method)  # an unknown name lists the choices
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
        return method, layer, pooling

    def _names(self, n_classes: int) -> list[str]:
        if self.class_names is not None:
            names = [str(name) for name in self.class_names]
            if len(names) != n_classes:
                raise ValueError(f"{len(names)} class_names for {n_classes} classes")
            return names
        if n_classes == len(FACED_CLASSES):
            return list(FACED_CLASSES)
        return [f"class{i}" for i in range(n_classes)]

    def _reference(self, names: list[str]) -> int | None:
        ref = self.sign_reference
        if ref is None:
            return None
        if isinstance(ref, str):
            lowered = [name.lower() for name in names]
            if ref.lower() not in lowered:
                raise ValueError(
                    f"sign_reference {ref!r} is not a class name ({', '.join(names)}); "
                    "pass class_names, a class index, or sign_reference=None"
                )
            return lowered.index(ref.lower())
        if not 0 <= int(ref) < len(names):
            raise ValueError(f"sign_reference {ref} is not a class index (0..{len(names) - 1})")
        return int(ref)

    def fit(
        self,
        states: np.ndarray,
        class_index: np.ndarray,
        class_valence: np.ndarray,
        groups: np.ndarray | None = None,
        *,
        state_source: StateSource | None = None,
        model_identity: dict[str, Any] | None = None,
    ) -> VAxis:
        """Fit a direction at every layer of (n, L, d) ``states`` and choose the layer.

        ``class_index`` (n,) gives each text's class, ``class_valence`` (k,) each class's known
        valence (sign or graded score), ``groups`` (n,) the units held out when scoring layers
        (default: each class, i.e. each story; see :mod:`vaxis.axis.layers`).
        ``model_identity`` (JSON-ready) is saved with the axis. Warns with :class:`AxisWarning`
        when the diagnosis at the chosen layer is not ok.
        """
        method, rule, pooling = self._resolved()
        states = _as_states(states, ndim=3)
        valence = np.asarray(class_valence, dtype=np.float64)
        names = self._names(len(valence))
        reference = self._reference(names)
        if state_source is not None:
            self.set_state_source(state_source)
        source_pooling = getattr(getattr(self, "state_source_", None), "pooling", pooling)
        if source_pooling != pooling:
            raise ValueError(f"the state source pools {source_pooling!r}, the axis {pooling!r}")

        directions, _ = fit_directions(states, class_index, valence, method, reference)
        centroids = class_centroids(states, np.asarray(class_index), len(valence))  # (k, L, d)
        scores = score_layers(states, class_index, valence, groups, method, reference)
        layer = choose_layer(scores, rule)
        explained = np.array(
            [centroid_variance_share(centroids[:, i], v) for i, v in enumerate(directions)]
        )
        self.directions_ = directions
        self.explained_variance_ = explained
        self.class_positions_ = np.einsum("kld,ld->lk", centroids, directions)
        self.layer_scores_ = scores
        self.layer_ = layer
        self.method_, self.pooling_ = method, pooling
        self.class_names_, self.class_valence_ = names, valence
        self.model_identity_ = _json_ready(model_identity or {})
        self.n_layers_, self.n_features_in_ = states.shape[1:]
        self.diagnosis_ = diagnose(
            scores.held_out_positions[layer], valence, explained[layer], names, layer, method,
            held_out=True, passing_layers=scores.passing_layers,
        )  # fmt: skip
        if not self.diagnosis_.ok:
            warnings.warn("; ".join(self.diagnosis_.warnings), AxisWarning, stacklevel=2)
        return self

    def set_state_source(self, state_source: StateSource) -> VAxis:
        """Use ``state_source`` to turn texts into states in :meth:`transform`."""
        if not callable(state_source):
            raise TypeError("state_source must be a callable texts -> (n, n_layers, width)")
        self.state_source_ = state_source
        return self

    def _layer_states(self, X: np.ndarray | Sequence[str], layer: int) -> np.ndarray:
        """(n, width) states of ``layer`` from (n, L, d) or (n, d) states, or from texts."""
        check_is_fitted(self, "directions_")
        if _is_texts(X):
            texts = [str(text) for text in X]
            source = getattr(self, "state_source_", None)
            if source is None:
                raise ValueError(
                    "texts need a state source: fit(..., state_source=...) or set_state_source"
                )
            X = source(texts)
            if len(X) != len(texts):
                raise ValueError(
                    f"the state source returned {len(X)} states for {len(texts)} texts"
                )
        states = np.asarray(X, dtype=np.float64)
        if states.ndim == 3:
            self._check_width(states, with_layers=True)
            return states[:, layer]
        if states.ndim == 2:
            self._check_width(states, with_layers=False)
            return states
        raise ValueError(
            f"expected states (n, {self.n_layers_}, {self.n_features_in_}), states (n, "
            f"{self.n_features_in_}) at layer {self.layer_}, or a list of texts; got {states.shape}"
        )

    def _check_width(self, states: np.ndarray, with_layers: bool) -> None:
        expected = (self.n_layers_, self.n_features_in_) if with_layers else (self.n_features_in_,)
        if states.shape[1:] != expected:
            raise ValueError(
                f"states have shape {states.shape}; this axis was fitted on (n, "
                f"{', '.join(map(str, expected))}): states of another model or pooling?"
            )

    def transform(self, X: np.ndarray | Sequence[str]) -> np.ndarray:
        """(n,) positions on the axis at ``layer_`` (dot products with the unit direction)."""
        check_is_fitted(self, "directions_")
        return self._layer_states(X, self.layer_) @ self.directions_[self.layer_]

    def transform_all_layers(self, states: np.ndarray) -> np.ndarray:
        """(n, L) positions of (n, L, d) states on every layer's own direction."""
        check_is_fitted(self, "directions_")
        states = _as_states(states, ndim=3)
        self._check_width(states, with_layers=True)
        return np.einsum("nld,ld->nl", states, self.directions_)

    def project_out(self, states: np.ndarray, layer: int | None = None) -> np.ndarray:
        """A copy of ``states`` without their component along the axis (the study's ablation).

        (n, L, d) states: only ``layer`` (default ``layer_``) changes; (n, d) states are taken
        to be that layer's.
        """
        check_is_fitted(self, "directions_")
        layer = self.layer_ if layer is None else choose_layer(self.layer_scores_, layer)
        direction = self.directions_[layer]
        out = np.array(states, dtype=np.float64)
        target = self._layer_states(out, layer)  # a view into ``out``
        target -= np.outer(target @ direction, direction)
        return out

    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``directions.npy`` and ``axis.json`` into ``directory``; returns the folder."""
        check_is_fitted(self, "directions_")
        folder = Path(directory)
        if (folder / AXIS_FILE).exists() and not overwrite:
            raise FileExistsError(f"{folder / AXIS_FILE} exists; pass overwrite=True to replace it")
        record = _AxisFile(
            format="vaxis-axis",
            format_version=1,
            versions={
                "vaxis": __version__,
                "numpy": np.__version__,
                "scikit-learn": sklearn_version,
            },
            params={**self.get_params(), "class_names": _list_or_none(self.class_names)},
            method=self.method_,
            layer=self.layer_,
            pooling=self.pooling_,
            recipe=self.recipe,
            class_names=self.class_names_,
            class_valence=self.class_valence_.tolist(),
            class_positions=nan_to_none(self.class_positions_),
            explained_variance=nan_to_none(self.explained_variance_),
            layer_scores=self.layer_scores_.to_dict(),
            diagnosis=self.diagnosis_.to_dict(),
            model_identity=self.model_identity_,
            n_layers=self.n_layers_,
            n_features_in=self.n_features_in_,
        )
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / DIRECTIONS_FILE, self.directions_)
        text = json.dumps(record.model_dump(), indent=2, allow_nan=False)
        (folder / AXIS_FILE).write_text(text + "\n", encoding="utf-8")
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> VAxis:
        """Read an axis written by :meth:`save`, checking the JSON and every shape."""
        folder = Path(directory)
        fix = "point at a folder written by VAxis.save, or fit and save the axis again"
        try:
            data = json.loads((folder / AXIS_FILE).read_text(encoding="utf-8"))
            record = _AxisFile.model_validate(data)
            directions = np.load(folder / DIRECTIONS_FILE, allow_pickle=False)
        except FileNotFoundError as err:
            raise DataFormatError(err.filename, "file missing", fix) from None
        except (json.JSONDecodeError, ValidationError) as err:
            raise DataFormatError(
                folder / AXIS_FILE, f"not a vaxis axis file: {err}", fix
            ) from None
        except ValueError as err:
            raise DataFormatError(folder / DIRECTIONS_FILE, f"unreadable: {err}", fix) from None
        problem = _shape_problem(record, directions)
        if problem:
            raise DataFormatError(folder, problem, fix)
        try:
            axis = cls(**record.params)
            axis.layer_scores_ = LayerScores.from_dict(record.layer_scores)
            axis.diagnosis_ = AxisDiagnosis.from_dict(record.diagnosis)
        except (TypeError, KeyError, ValueError) as err:
            raise DataFormatError(folder / AXIS_FILE, f"bad entry: {err!r}", fix) from None
        axis.directions_ = directions.astype(np.float64)
        axis.explained_variance_ = np.array(record.explained_variance, dtype=float)
        axis.class_positions_ = np.array(record.class_positions, dtype=float)
        axis.layer_, axis.method_, axis.pooling_ = record.layer, record.method, record.pooling
        axis.class_names_ = record.class_names
        axis.class_valence_ = np.array(record.class_valence)
        axis.model_identity_ = record.model_identity
        axis.n_layers_, axis.n_features_in_ = record.n_layers, record.n_features_in
        return axis


DIRECTIONS_FILE, AXIS_FILE = "directions.npy", "axis.json"


class _AxisFile(BaseModel):
    """The schema of ``axis.json``."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["vaxis-axis"]
    format_version: Literal[1]
    versions: dict[str, str]
    params: dict[str, Any]
    method: str
    layer: int
    pooling: str
    recipe: str | None
    class_names: list[str]
    class_valence: list[float]
    class_positions: list[list[float | None]]
    explained_variance: list[float | None]
    layer_scores: dict[str, Any]
    diagnosis: dict[str, Any]
    model_identity: dict[str, Any]
    n_layers: int
    n_features_in: int


def _shape_problem(record: _AxisFile, directions: np.ndarray) -> str | None:
    """What disagrees between ``axis.json`` and ``directions.npy``, or None."""
    n, d, k = record.n_layers, record.n_features_in, len(record.class_names)
    if directions.shape != (n, d) or directions.dtype.kind != "f":
        return f"directions.npy is {directions.dtype} {directions.shape}; axis.json says ({n}, {d})"
    if len(record.class_valence) != k:
        return f"{len(record.class_valence)} class valences for {k} class names"
    if len(record.class_positions) != n or any(len(row) != k for row in record.class_positions):
        return f"class_positions must be ({n}, {k})"
    if len(record.explained_variance) != n:
        return f"explained_variance must have {n} entries"
    if not 0 <= record.layer < n:
        return f"layer {record.layer} is outside 0..{n - 1}"
    return None


def _json_ready(identity: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(identity, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"model_identity must be JSON-ready (it is saved): {err}") from None
    return dict(identity)


def _list_or_none(names: Sequence[str] | None) -> list[str] | None:
    return None if names is None else [str(name) for name in names]


def _is_texts(X: object) -> bool:
    if isinstance(X, str):
        raise TypeError("pass a list of texts, not a single string")
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "UO"
    return isinstance(X, Sequence) and len(X) > 0 and all(isinstance(x, str) for x in X)


def _as_states(states: np.ndarray, ndim: int) -> np.ndarray:
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != ndim:
        shape = "(n_texts, n_layers, width)" if ndim == 3 else "(n_texts, width)"
        raise ValueError(f"states must be {shape}; got shape {states.shape}")
    if not np.isfinite(states).all():
        raise ValueError("states contain NaN or inf")
    return states
