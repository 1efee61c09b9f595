"""Emotion stories and their paraphrases: the material the V-axis is built from.

The study defines its valence axis from one short story per FACED class, each paraphrased about
50 times (see ``resources/stories/README.md``). vaxis ships its own stories, three topically
different ones per class (on small models one story per class lets PC1 follow story content), and
reads user-supplied sets from YAML (one file with a top-level ``classes:`` list, or a folder of
per-class files) or CSV (columns ``class, story_id, text, is_paraphrase`` and optionally
``valence_group, valence_score``). The first story of a class is its *main* story.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vaxis.data.datasets import DATASETS, REFERENCE_DATASET, Dataset, get_dataset
from vaxis.errors import DataFormatError

#: Word-count proxy for the study's 5-80 token filter on paraphrases (a word is ~1.3 tokens).
MIN_WORDS = 4
MAX_WORDS = 60
CSV_COLUMNS = ("class", "story_id", "text", "is_paraphrase")
_SCHEMA_HINT = (
    "each class needs name, valence_group (-1, 0 or 1), optional valence_score (-1..1) and "
    "stories: [{id, text, paraphrases: [...]}, ...]"
)
_TRUE, _FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n"}


class StoryFormatError(DataFormatError):
    """A story file (YAML or CSV) is malformed or its content breaks a rule."""


class _Problem(ValueError):
    """A rule broken inside a model, carried through pydantic to name the file and the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} (fix: {fix})")


def _normalise(text: str) -> str:
    return " ".join(text.split())


class Story(BaseModel):
    """One source story and its paraphrases."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    paraphrases: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_lengths(self) -> Story:
        for i, text in enumerate(self.paraphrases):
            n = len(text.split())
            if not MIN_WORDS <= n <= MAX_WORDS:
                raise _Problem(
                    f"paraphrase {i} of story '{self.id}' has {n} words ({text[:40]!r}...)",
                    f"paraphrases must have {MIN_WORDS}-{MAX_WORDS} words (the study kept 5-80 "
                    "tokens): rewrite or drop it",
                )
        return self


class StoryClass(BaseModel):
    """One emotion class: its valence and its stories (the first is the main story)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(min_length=1)
    valence_group: Literal[-1, 0, 1]
    #: a-priori valence on -1..1; defaults to the valence group when not given
    valence_score: float = Field(ge=-1.0, le=1.0)
    stories: tuple[Story, ...]

    @model_validator(mode="before")
    @classmethod
    def _default_score(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("valence_score") is None:
            return {**data, "valence_score": data.get("valence_group")}
        return data

    @model_validator(mode="after")
    def _check_stories(self) -> StoryClass:
        if not self.stories:
            raise _Problem(f"class '{self.name}' has no stories", "give it at least one story")
        return self


@dataclass(frozen=True)
class TextTable:
    """Texts in order (class, story, source text then paraphrases) with one label per text."""

    texts: list[str]
    class_index: np.ndarray
    story_id: list[str]
    is_paraphrase: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


class StorySet(BaseModel):
    """Classes of stories in a fixed order, and where they came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    classes: tuple[StoryClass, ...]
    source: str

    @model_validator(mode="after")
    def _check_set(self) -> StorySet:
        if not self.classes:
            raise _Problem("no classes", "add at least one class")
        names = self.class_names
        if len(set(names)) != len(names):
            raise _Problem(f"a class name appears twice: {list(names)}", "merge those classes")
        ids = [s.id for c in self.classes for s in c.stories]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise _Problem(
                f"story id(s) {twice} used twice", "make story ids unique across classes"
            )
        seen: dict[str, str] = {}
        for story in (s for c in self.classes for s in c.stories):
            for text in (story.text, *story.paraphrases):
                key = _normalise(text)
                if key in seen:
                    raise _Problem(
                        f"duplicate text in stories '{seen[key]}' and '{story.id}': {text[:60]!r}",
                        "every source text and paraphrase must be distinct; drop the copy",
                    )
                seen[key] = story.id
        return self

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @property
    def class_valence_scores(self) -> np.ndarray:
        return np.array([c.valence_score for c in self.classes], dtype=float)

    @property
    def class_valence_groups(self) -> np.ndarray:
        return np.array([c.valence_group for c in self.classes], dtype=int)

    def texts(
        self, include_paraphrases: bool = True, stories: Literal["main", "all"] = "main"
    ) -> TextTable:
        """All texts to embed: the main story of each class (or all stories), with paraphrases."""
        if stories not in ("main", "all"):
            raise ValueError(f"stories must be 'main' or 'all', not {stories!r}")
        texts: list[str] = []
        labels: list[int] = []
        ids: list[str] = []
        flags: list[bool] = []
        for k, cls in enumerate(self.classes):
            for story in cls.stories if stories == "all" else cls.stories[:1]:
                own = [story.text, *(story.paraphrases if include_paraphrases else ())]
                texts += own
                labels += [k] * len(own)
                ids += [story.id] * len(own)
                flags += [False] + [True] * (len(own) - 1)
        return TextTable(texts, np.array(labels, dtype=int), ids, np.array(flags, dtype=bool))


# ------------------------------------------------------------------------------ validation
def _spec(dataset: str) -> Dataset:
    return get_dataset(dataset)  # an unknown name lists the registered ones


def _validated(model: type[BaseModel], raw: object, path: str | Path) -> Any:
    """``model.model_validate(raw)`` with pydantic's errors turned into a StoryFormatError."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _Problem):
            raise StoryFormatError(path, cause.problem, cause.fix) from None
        where = ".".join(str(p) for p in error["loc"]) or "top level"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise StoryFormatError(path, f"{where}: {error['msg']}{more}", _SCHEMA_HINT) from None


def _check_dataset(story_set: StorySet, dataset: str | None, path: str | Path) -> StorySet:
    """Check the classes against ``dataset``'s classes and put them in its order."""
    if dataset is None:
        return story_set
    spec = _spec(dataset)
    by_name = {c.name: c for c in story_set.classes}
    unknown = sorted(set(by_name) - set(spec.classes))
    missing = [name for name in spec.classes if name not in by_name]
    if unknown:
        raise StoryFormatError(
            path,
            f"unknown {dataset} class name(s) {unknown}",
            f"use the {dataset} class names {list(spec.classes)}",
        )
    if missing:
        raise StoryFormatError(
            path, f"{dataset} class(es) {missing} missing", "add a story for every class"
        )
    for name, group in zip(spec.classes, spec.class_valence, strict=True):
        if by_name[name].valence_group != group:
            raise StoryFormatError(
                path,
                f"class '{name}' has valence_group {by_name[name].valence_group}, "
                f"{dataset} says {group}",
                f"set valence_group: {group}",
            )
    ordered = tuple(by_name[name] for name in spec.classes)
    return story_set.model_copy(update={"classes": ordered})


# ----------------------------------------------------------------------------------- readers
def _read_yaml(text: str, path: str | Path) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StoryFormatError(path, f"not valid YAML: {exc}", "fix the YAML syntax") from None


def _from_class_files(files: Iterable[tuple[str, str]], source: str) -> StorySet:
    """A StorySet from (path, text) pairs of per-class YAML files, in the given order."""
    classes = []
    for path, text in files:
        raw = _read_yaml(text, path)
        if not isinstance(raw, dict):
            raise StoryFormatError(path, "expected one class as a mapping", _SCHEMA_HINT)
        classes.append(_validated(StoryClass, raw, path))
    if not classes:
        raise StoryFormatError(source, "no .yaml/.yml class files", "add one file per class")
    return _validated(StorySet, {"classes": classes, "source": source}, source)


def _parse_bool(value: str, path: Path, row: int) -> bool:
    v = value.strip().lower()
    if v in _TRUE or v in _FALSE:
        return v in _TRUE
    raise StoryFormatError(path, f"row {row}: is_paraphrase is {value!r}", "use true/false or 1/0")


def _class_field(rows: list[dict[str, str]], column: str, cast: type, path: Path) -> Any:
    """The one value of an optional per-class column (None when empty), checked consistent."""
    values = {r.get(column, "").strip() for r in rows} - {""}
    if len(values) > 1:
        raise StoryFormatError(
            path, f"class '{rows[0]['class']}' has several {column}s {sorted(values)}", "use one"
        )
    value = values.pop() if values else None
    try:
        return None if value is None else cast(value)
    except ValueError:
        raise StoryFormatError(path, f"{column} {value!r} is not a number", "fix it") from None


def _from_csv(path: Path, dataset: str | None) -> StorySet:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise StoryFormatError(
                path, f"missing column(s) {missing}", f"the header must include {CSV_COLUMNS}"
            )
        rows = list(reader)
    by_class: dict[str, list[dict[str, str]]] = {}
    stories: dict[str, dict[str, dict[str, list[str]]]] = {}
    for line, row in enumerate(rows, start=2):
        name, sid = row["class"].strip(), row["story_id"].strip()
        by_class.setdefault(name, []).append(row)
        story = stories.setdefault(name, {}).setdefault(sid, {"text": [], "paraphrases": []})
        story["paraphrases" if _parse_bool(row["is_paraphrase"], path, line) else "text"].append(
            row["text"]
        )
    spec = _spec(dataset) if dataset else None
    defaults = dict(zip(spec.classes, spec.class_valence, strict=True)) if spec else {}
    classes = []
    for name, class_rows in by_class.items():
        group = _class_field(class_rows, "valence_group", int, path)
        if group is None and name not in defaults:
            raise StoryFormatError(
                path,
                f"class '{name}' has no valence_group",
                "add a valence_group column (-1, 0 or 1) or pass the dataset the classes belong to",
            )
        for sid, story in stories[name].items():
            if len(story["text"]) != 1:
                raise StoryFormatError(
                    path,
                    f"story '{sid}' has {len(story['text'])} source rows (is_paraphrase false)",
                    "give each story exactly one source row",
                )
        classes.append(
            {
                "name": name,
                "valence_group": defaults[name] if group is None else group,
                "valence_score": _class_field(class_rows, "valence_score", float, path),
                "stories": [
                    {"id": sid, "text": s["text"][0], "paraphrases": s["paraphrases"]}
                    for sid, s in stories[name].items()
                ],
            }
        )
    return _validated(StorySet, {"classes": classes, "source": str(path)}, path)


# --------------------------------------------------------------------------------- public API
def load_stories(path: str | Path, dataset: str | None = None) -> StorySet:
    """Read a user's story set: a YAML file, a folder of per-class YAML files, or a CSV file.

    With ``dataset`` (a registered one: "faced", "seedv") the class names must be exactly that
    dataset's classes, with its valence groups; they are returned in its class order. Without
    it, classes keep the file's order (a folder: file-name order, so prefix files with 00_,
    01_, ...).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        pairs = ((str(p), p.read_text(encoding="utf-8")) for p in files)
        story_set = _from_class_files(pairs, str(path))
    elif not path.is_file():
        raise StoryFormatError(path, "does not exist", "give a .yaml/.yml/.csv file or a folder")
    elif path.suffix.lower() in (".yaml", ".yml"):
        raw = _read_yaml(path.read_text(encoding="utf-8"), path)
        if not isinstance(raw, dict) or "classes" not in raw:
            raise StoryFormatError(path, "no top-level 'classes:' list", _SCHEMA_HINT)
        story_set = _validated(StorySet, {"classes": raw["classes"], "source": str(path)}, path)
    elif path.suffix.lower() == ".csv":
        story_set = _from_csv(path, dataset)
    else:
        raise StoryFormatError(path, f"unknown story format {path.suffix!r}", "use .yaml or .csv")
    return _check_dataset(story_set, dataset, path)


def load_bundled_stories(dataset: str = REFERENCE_DATASET) -> StorySet:
    """The stories shipped with vaxis (``resources/stories``) for ``dataset``'s classes: its own
    folder (:attr:`Dataset.story_folder`; FACED's), else FACED's stories mapped onto its
    classes (:attr:`Dataset.faced_classes`; SEED-V)."""
    having = [name for name, d in DATASETS.items() if d.story_folder or d.faced_classes]
    if dataset not in having:
        listed = " and ".join(map(repr, having))
        raise ValueError(f"bundled stories exist for {listed}, not {dataset!r}")
    spec = _spec(dataset)
    if spec.story_folder is None:
        return for_dataset(load_bundled_stories(REFERENCE_DATASET), dataset)
    folder = resources.files("vaxis").joinpath("resources", "stories", spec.story_folder)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    pairs = ((str(f), f.read_text(encoding="utf-8")) for f in files)
    source = f"vaxis:stories/{spec.story_folder}"
    return _check_dataset(_from_class_files(pairs, source), dataset, str(folder))


def for_dataset(story_set: StorySet, dataset: str) -> StorySet:
    """The story set with ``dataset``'s classes, in its order.

    Classes are taken from FACED-named classes by :attr:`Dataset.faced_classes` (SEED-V: sad <-
    sadness, happy <- joy, others by name); a set already named for ``dataset`` is only checked
    and ordered.
    """
    spec = _spec(dataset)
    mapping = spec.faced_map
    names = set(story_set.class_names)
    if spec.faced_classes in ((), spec.classes) or names == set(spec.classes):
        return _check_dataset(story_set, dataset, story_set.source)
    by_name = {c.name: c for c in story_set.classes}
    missing = sorted(set(mapping.values()) - set(by_name))
    if missing:
        raise StoryFormatError(
            story_set.source,
            f"cannot build {spec.label} classes: source class(es) {missing} missing",
            f"{spec.label} classes come from {mapping}",
        )
    classes = [by_name[src].model_copy(update={"name": name}) for name, src in mapping.items()]
    mapped = StorySet(classes=tuple(classes), source=f"{story_set.source} (as {dataset})")
    return _check_dataset(mapped, dataset, story_set.source)


def save_stories(story_set: StorySet, path: str | Path) -> Path:
    """Write ``story_set`` as one YAML file (``.yaml``/``.yml``) or a CSV file (``.csv``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        data = story_set.model_dump(mode="json", exclude={"source"})
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    elif suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*CSV_COLUMNS, "valence_group", "valence_score"])
            for c in story_set.classes:
                for s in c.stories:
                    for k, text in enumerate((s.text, *s.paraphrases)):
                        writer.writerow(
                            [c.name, s.id, text, k > 0, c.valence_group, c.valence_score]
                        )
    else:
        raise ValueError(f"save stories as .yaml or .csv, not {path.suffix!r}")
    return path
