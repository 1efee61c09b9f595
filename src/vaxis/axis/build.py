"""Build a V-axis end to end: stories -> hidden states (cached) -> VAxis -> files and plots.

One call, :func:`build_axis`, writes an axis folder that the rest of vaxis reads:

- ``axis.json`` + ``directions.npy``: the fitted :class:`~vaxis.axis.axis.VAxis`;
- ``build.json``: the build config, the model's identity (with the note that 4-bit weights were
  dequantized to float32, when they were), the stories used, timings;
- ``stimulus_positions.csv``: FACED clips placed on the axis from their text descriptions
  (:mod:`vaxis.core.positions`); without descriptions (SEED-V) no file is written and readers
  fall back to the class positions saved in ``axis.json``;
- ``class_positions.png`` and ``layer_scores.png``.

Held-out layer scoring (:mod:`vaxis.axis.layers`) holds out each class in turn
(``holdout="class"``): the strictest choice, the one ``layers.py`` recommends. It needs two
classes of each valence sign; SEED-V has a single positive class, so ``holdout="auto"`` (the
default) then holds out each story instead (``"story"``: every class keeps its other stories in
training, so a class needs several stories, as the bundled ones have).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import Field

from vaxis import __version__
from vaxis.axis import plots
from vaxis.axis.axis import RECIPES, VAxis
from vaxis.axis.cache import StateCache
from vaxis.axis.layers import LayerRule
from vaxis.axis.lm import (
    MAX_TOKENS_PER_BATCH,
    HiddenStates,
    Loader,
    choose_device,
    choose_dtype,
    extract_states,
    load_model,
    load_tokenizer,
    tokenize,
)
from vaxis.axis.models import ModelSpec, resolve_model
from vaxis.axis.settings import BuildSettings
from vaxis.axis.sizing import ExtractionPlan, plan_extraction
from vaxis.axis.stories import StorySet, TextTable, load_bundled_stories, load_stories
from vaxis.data.datasets import DatasetName, get_dataset
from vaxis.errors import DataFormatError

BUILD_FILE = "build.json"
CLASS_PLOT, LAYER_PLOT = "class_positions.png", "layer_scores.png"
#: The class whose centroid must project positive, by dataset naming; else orient by valence.
SIGN_CLASSES = ("joy", "happy")
NOT_QUANTIZED = "weights used as stored (not quantized)"


class AxisBuildConfig(BuildSettings):
    """Everything that decides a built axis (frozen, so it can key a cache or a sweep): the
    study's build settings (method, layer, recipe, stories) and the rest."""

    model: str = "smollm2"  # bundled alias, folder, .gguf file, or HF id in the local cache
    gguf_file: str | None = None
    dataset: DatasetName = "faced"
    include_paraphrases: bool = True
    stories_scope: Literal["all", "main"] = "all"
    pooling: Literal["last", "mean"] = "last"
    holdout: Literal["auto", "class", "story"] = "auto"
    batch_size: int = Field(16, ge=1)
    max_tokens_per_batch: int | None = Field(4096, ge=1)  # padded tokens per forward pass
    max_length: int | None = 512
    device: str | None = None
    allow_download: bool = False
    cache_dir: str | None = None

    def build_part(self) -> AxisBuildConfig:
        """This config's build settings alone (for a config that derives from this one, e.g. a
        stage's, which adds its own fields): what ``build.json`` records."""
        return AxisBuildConfig.model_validate(
            self.model_dump(include=set(AxisBuildConfig.model_fields))
        )

    def effective(self) -> Effective:
        """Method, layer rule, pooling and story scope after the recipe.

        ``recipe="study"`` is the study exactly: centroid PCA-1 of last-token states at the
        penultimate layer, from one (main) story per class with its paraphrases.
        """
        if self.recipe is None:
            return Effective(self.method, self.layer, self.pooling, self.stories_scope)
        method, layer, pooling = RECIPES[self.recipe]
        return Effective(method, layer, pooling, "main")  # type: ignore[arg-type]


class Effective(NamedTuple):
    """The settings a build really used (``recipe`` applied)."""

    method: str
    layer: LayerRule
    pooling: Literal["last", "mean"]
    stories_scope: Literal["all", "main"]


def model_note(spec: ModelSpec) -> str:
    """What every output that uses ``spec`` must say about its weights."""
    return spec.quantized_note or NOT_QUANTIZED


def json_ready(value: Any) -> Any:
    """``value`` with tuples as lists and NaN / inf as None (undefined), for strict JSON."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Strict JSON (undefined numbers as null) with a trailing newline."""
    text = json.dumps(json_ready(data), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


class ModelStates:
    """Texts -> pooled states (n, layers + 1, width) of one model with fixed settings.

    A :data:`~vaxis.axis.axis.StateSource` for :class:`VAxis` (it has ``pooling``). States come
    from the on-disk cache when present; otherwise the model is loaded on first use and kept for
    the next calls (stories, descriptions, several corpora: one load), until :meth:`close`.
    """

    def __init__(
        self,
        spec: ModelSpec,
        pooling: Literal["last", "mean"],
        batch_size: int = 16,
        max_length: int | None = 512,
        device: str | None = None,
        cache: StateCache | None = None,
        progress: bool = False,
        loader: Loader = load_model,
        max_tokens_per_batch: int | None = MAX_TOKENS_PER_BATCH,
    ) -> None:
        self.spec, self.pooling = spec, pooling
        self.max_tokens_per_batch = max_tokens_per_batch
        self.batch_size, self.max_length, self.device = batch_size, max_length, device
        self.cache, self.progress, self.loader = cache, progress, loader
        self._loaded: tuple[Any, Any] | None = None
        self._key: tuple[str, str] | None = None

    @classmethod
    def for_config(
        cls, config: AxisBuildConfig, spec: ModelSpec, progress: bool = False
    ) -> ModelStates:
        return cls(
            spec,
            config.effective().pooling,
            config.batch_size,
            config.max_length,
            config.device,
            StateCache(config.cache_dir),
            progress,
            max_tokens_per_batch=config.max_tokens_per_batch,
        )

    def _load(self, spec: ModelSpec, device: str, dtype: str) -> tuple[Any, Any]:
        if self._loaded is None or self._key != (device, dtype):
            self._loaded, self._key = self.loader(spec, device, dtype), (device, dtype)
        return self._loaded

    def hidden(self, texts: Sequence[str]) -> HiddenStates:
        """States with their provenance (model, settings, whether they came from the cache)."""
        return extract_states(
            self.spec,
            texts,
            pooling=self.pooling,
            batch_size=self.batch_size,
            max_length=self.max_length,
            device=self.device,
            cache=self.cache,
            loader=self._load,
            progress=self.progress,
            max_tokens_per_batch=self.max_tokens_per_batch,
        )

    def __call__(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.hidden(texts).states)

    def close(self) -> None:
        """Free the model (a later call loads it again)."""
        self._loaded = self._key = None
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()


def story_texts(config: AxisBuildConfig) -> tuple[StorySet, TextTable]:
    """The stories ``config`` names and the texts to embed (in the order ``VAxis.fit`` sees)."""
    if config.stories is None:
        story_set = load_bundled_stories(config.dataset)
    else:
        story_set = load_stories(config.stories, config.dataset)
    scope = config.effective().stories_scope
    return story_set, story_set.texts(config.include_paraphrases, stories=scope)


def sign_reference(class_names: Sequence[str]) -> str | None:
    """``joy`` (FACED) or ``happy`` (SEED-V) when present: it must project positive."""
    lowered = [name.lower() for name in class_names]
    return next((name for name in SIGN_CLASSES if name in lowered), None)


def holdout_groups(
    config: AxisBuildConfig, story_set: StorySet, table: TextTable
) -> tuple[str, np.ndarray | None]:
    """The held-out unit for layer scoring ("class" or "story") and ``VAxis.fit``'s groups."""
    rule = config.holdout
    if rule == "auto":
        valence = story_set.class_valence_scores
        rule = "class" if min(np.sum(valence > 0), np.sum(valence < 0)) >= 2 else "story"
    return rule, np.asarray(table.story_id) if rule == "story" else None


def fit_axis(
    config: AxisBuildConfig, source: ModelStates
) -> tuple[VAxis, StorySet, TextTable, HiddenStates]:
    """Embed the stories with ``source`` and fit a :class:`VAxis` (nothing is written)."""
    story_set, table = story_texts(config)
    hidden = source.hidden(table.texts)
    _, groups = holdout_groups(config, story_set, table)
    axis = VAxis(
        method=config.method,
        layer=config.layer,
        recipe=config.recipe,
        pooling=config.effective().pooling,
        sign_reference=sign_reference(story_set.class_names),
        class_names=story_set.class_names,
    )
    axis.fit(
        hidden.states,
        table.class_index,
        story_set.class_valence_scores,
        groups,
        state_source=source,
        model_identity=source.spec.model_dump(mode="json"),
    )
    return axis, story_set, table, hidden


def _stimulus_positions(axis: VAxis, config: AxisBuildConfig, out_dir: Path) -> dict[str, Any]:
    """Project the dataset's bundled clip descriptions (FACED's; SEED-V has none: class
    fallback)."""
    from vaxis.axis.positions import project_descriptions
    from vaxis.core.positions import STIMULUS_POSITIONS_FILE

    if get_dataset(config.dataset).clip_descriptions is None:
        return {
            "file": None,
            "source": "class",
            "note": f"no clip descriptions for {config.dataset}: use the class positions",
        }
    positions = project_descriptions(axis, dataset=config.dataset)
    path = positions.save(out_dir / STIMULUS_POSITIONS_FILE)
    return {"file": path.name, "source": positions.source, "note": positions.note}


def plan_build(config: AxisBuildConfig) -> ExtractionPlan:
    """What :func:`build_axis` will cost (sizes, memory, disk, time), loading no weights: the
    model's description and tokenizer only. Texts: the stories, plus the clip descriptions
    that an axis of a dataset with bundled ones (FACED) places on itself."""
    from vaxis.axis.positions import bundled_descriptions

    spec = resolve_model(
        config.model,
        gguf_file=config.gguf_file,
        allow_download=config.allow_download,
        cache=StateCache(config.cache_dir),
    )
    texts = list(story_texts(config)[1].texts)
    texts += [clip.description for clip in bundled_descriptions(config.dataset)]
    ids = tokenize(load_tokenizer(spec), texts, config.max_length, add_special_tokens=True)
    device = choose_device(config.device)
    return plan_extraction(
        spec,
        [len(row) for row in ids],
        device,
        choose_dtype(spec, device),
        config.max_tokens_per_batch,
        batch_size=config.batch_size,
    )


def build_axis(
    config: AxisBuildConfig,
    out_dir: str | Path,
    progress: bool = True,
    overwrite: bool = False,
) -> VAxis:
    """Build the axis ``config`` describes and write the axis folder ``out_dir`` (module doc).

    The returned axis keeps a state source, so ``axis.transform(["some text"])`` works (the model
    is loaded again on demand).
    """
    out = Path(out_dir)
    if (out / BUILD_FILE).exists() and not overwrite:
        raise FileExistsError(f"{out / BUILD_FILE} exists; pass overwrite=True to replace it")
    start = time.perf_counter()
    cache = StateCache(config.cache_dir)
    spec = resolve_model(
        config.model, gguf_file=config.gguf_file, allow_download=config.allow_download, cache=cache
    )
    source = ModelStates.for_config(config, spec, progress)
    try:
        axis, story_set, table, hidden = fit_axis(config, source)
        fitted = time.perf_counter()
        axis.save(out, overwrite=overwrite)
        stimuli = _stimulus_positions(axis, config, out)
    finally:
        source.close()
    note = model_note(spec)
    plots.class_positions(axis, out / CLASS_PLOT, note)
    plots.layer_scores(axis, out / LAYER_PLOT, note)
    counts = np.bincount(table.class_index, minlength=len(story_set.class_names))
    record = {
        "format": "vaxis-axis-build",
        "vaxis_version": __version__,
        "config": config.model_dump(mode="json"),
        "effective": config.effective()._asdict(),
        "model": spec.model_dump(mode="json"),
        "model_note": note,
        "stories": {
            "source": story_set.source,
            "n_texts": len(table),
            "n_stories": len(set(table.story_id)),
            "texts_per_class": dict(zip(story_set.class_names, counts.tolist(), strict=True)),
            "class_valence": story_set.class_valence_scores.tolist(),
        },
        "axis": {
            "layer": axis.layer_,
            "n_layers": axis.n_layers_,
            "method": axis.method_,
            "holdout": holdout_groups(config, story_set, table)[0],
            "diagnosis": axis.diagnosis_.to_dict(),
        },
        "stimulus_positions": stimuli,
        "states_from_cache": hidden.from_cache,
        "timing_s": {
            "fit_incl_states": round(fitted - start, 2),
            "total": round(time.perf_counter() - start, 2),
        },
        "files": [CLASS_PLOT, LAYER_PLOT, *([stimuli["file"]] if stimuli["file"] else [])],
    }
    write_json(out / BUILD_FILE, record)
    return axis


def read_build(axis_dir: str | Path) -> tuple[AxisBuildConfig, dict[str, Any]]:
    """The config and the whole ``build.json`` of an axis folder made by :func:`build_axis`."""
    path = Path(axis_dir) / BUILD_FILE
    fix = "build the axis with `vaxis axis build` (or vaxis.axis.build.build_axis)"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return AxisBuildConfig.model_validate(record["config"]), record
    except FileNotFoundError:
        raise DataFormatError(path, "missing: not an axis folder made by build_axis", fix) from None
    except (ValueError, KeyError, TypeError) as err:
        raise DataFormatError(path, f"not a vaxis build record: {err}", fix) from None
