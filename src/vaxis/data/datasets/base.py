"""A dataset is one registry entry: the :class:`Dataset` spec and the registry of specs.

Every loader, generator, split, task and stage asks the spec of a cohort's dataset for what
differs between datasets (channels, classes, stimuli, tasks, default protocol, synthetic shape,
official-layout readers and writers, how its classes map onto FACED's), so no code outside a
dataset's own module branches on a dataset's name. A new dataset is one module that builds a
:class:`Dataset` and calls :func:`register_dataset` (README, "Adding a dataset").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator

if TYPE_CHECKING:
    from vaxis.data.cohort import Cohort
    from vaxis.data.validation import NanPolicy

#: The valence task: negative vs positive classes, neutral left out; every dataset has it.
BINARY_TASK = "binary"
#: The dataset whose class names the bundled stories, clip descriptions and cross-dataset
#: class maps (:attr:`Dataset.faced_classes`) are written in.
REFERENCE_DATASET = "faced"

#: ``writer(cohort, folder, overwrite) -> files``: a cohort in the dataset's official layout
FeatureWriter = Callable[["Cohort", Path, bool], list[Path]]
#: ``export(config, root, overwrite) -> files``: a synthetic cohort in the official layout
SyntheticExport = Callable[[Any, Path, bool], list[Path]]
#: A dataset's options for reading its official folders, by name (``seedv_layout`` ...): the
#: registry's defaults overridden by what the caller gave (:func:`reading_options`).
ReadOptions = Mapping[str, Any]


@dataclass(frozen=True)
class OfficialLayout:
    """How :mod:`vaxis.data.sources` finds and reads a dataset's folders as downloaded.

    A folder is the dataset's feature (raw) folder when its name is one of
    ``feature_folders`` (``raw_folders``), and its root when it holds a folder named by the
    first of them. Every hook takes the folder or the root as given."""

    feature_folders: tuple[str, ...]
    raw_folders: tuple[str, ...]
    #: ``load_features(path, feature, nan_policy, options)``: the feature cohort
    load_features: Callable[[Path, str, NanPolicy, ReadOptions], Cohort]
    #: ``raw_subject_ids(path)``: subjects with raw files, from the file names
    raw_subject_ids: Callable[[Path], list[int]]
    #: ``iter_raw(path, subjects, nan_policy, options)``: raw EEG one subject at a time
    iter_raw: Callable[[Path, Iterable[int] | None, NanPolicy, ReadOptions], Iterator[Cohort]]
    #: ``load_raw(path, nan_policy, options)``: all raw EEG at once (None: the subjects of
    #: ``iter_raw`` concatenated)
    load_raw: Callable[[Path, NanPolicy, ReadOptions], Cohort] | None = None
    #: its options and their defaults: those that change what its feature files read as ...
    feature_options: Mapping[str, Any] = field(default_factory=dict)
    #: ... and what its raw files read as (recorded by resumable feature runs)
    raw_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyntheticShape:
    """How :mod:`vaxis.data.synthetic` shapes a cohort like this dataset (hand-set, human-like
    class scores on [-1, 1] in class order; see that module's docstring)."""

    class_valence_scores: tuple[float, ...]
    class_arousal_scores: tuple[float, ...]
    #: default subjects of a synthetic cohort (a demo size, not the dataset's)
    n_subjects: int
    #: rate of synthetic raw EEG (Hz)
    raw_sfreq: float


@dataclass(frozen=True)
class Dataset:
    """The facts about one dataset that every loader, generator, split and stage needs."""

    name: str
    channels: tuple[str, ...]
    classes: tuple[str, ...]
    #: valence group per class: -1 negative, 0 neutral, +1 positive
    class_valence: tuple[int, ...]
    bands: tuple[tuple[str, float, float], ...]
    sfreq: float
    window_seconds: float
    n_subjects: int
    #: class index of every stimulus (clip, trial), by 0-based stimulus id
    stimulus_labels: tuple[int, ...] = ()
    stimulus_names: tuple[str, ...] = ()
    #: session of every stimulus (empty: one session)
    stimulus_sessions: tuple[int, ...] = ()
    synthetic: SyntheticShape | None = None
    #: name in messages ("SEED-V"); empty: ``name``
    title: str = ""
    #: its multi-class tasks (target = the class); the first is the default
    tasks: tuple[str, ...] = ()
    #: default segment length of the decoders' ``segment`` unit (s)
    segment_seconds: float = 10.0
    #: the protocol a run on this dataset gets by default ...
    default_protocol: str = "holdout"
    #: ... when the cohort has this many subjects (None: always); else ``holdout``
    protocol_subjects: int | None = None
    #: split protocols that only this dataset's cohorts can use
    protocols: tuple[str, ...] = ()
    #: FACED class each class maps onto (cross-dataset use: bundled stories, class positions
    #: given by FACED names); empty: none
    faced_classes: tuple[str, ...] = ()
    #: bundled stories folder under ``resources/stories`` (None: mapped from FACED's)
    story_folder: str | None = None
    #: bundled table under ``resources`` with one text description per stimulus (None: none)
    clip_descriptions: str | None = None
    #: how its official folders are found and read (None: cohort files only)
    official: OfficialLayout | None = None
    #: writes a feature cohort in the official layout (``vaxis data features --layout``)
    write_features: FeatureWriter | None = None
    #: writes a synthetic cohort in the official layout (``vaxis data synth --layout official``)
    export_synthetic: SyntheticExport | None = None
    #: what the paper preset chooses for it where the study is silent (empty: nothing)
    paper_note: str = ""
    #: published balanced accuracies (name -> value) the ensemble report quotes
    published: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_classes, n_stimuli = len(self.classes), len(self.stimulus_labels)
        checks = (
            (len(self.class_valence) != n_classes, "class_valence needs one value per class"),
            (len(self.stimulus_names) != n_stimuli, "stimulus_names needs one name per stimulus"),
            (
                len(self.stimulus_sessions) not in (0, n_stimuli),
                "stimulus_sessions: one per stimulus",
            ),
            (len(self.faced_classes) not in (0, n_classes), "faced_classes: one per class"),
            (any(not 0 <= c < n_classes for c in self.stimulus_labels), "a label is no class"),
        )
        problems = [problem for bad, problem in checks if bad]
        if problems:
            raise ValueError(f"dataset {self.name!r}: {'; '.join(problems)}")

    @property
    def label(self) -> str:
        """The name in messages."""
        return self.title or self.name

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(b[0] for b in self.bands)

    @property
    def band_edges(self) -> tuple[tuple[float, float], ...]:
        return tuple((lo, hi) for _, lo, hi in self.bands)

    @property
    def n_stimuli(self) -> int:
        return len(self.stimulus_labels)

    @property
    def default_task(self) -> str:
        """Its first multi-class task (binary where it has none)."""
        return self.tasks[0] if self.tasks else BINARY_TASK

    @property
    def faced_map(self) -> dict[str, str]:
        """Class name -> the FACED class it maps onto (empty when it has no map)."""
        return (
            dict(zip(self.classes, self.faced_classes, strict=True)) if self.faced_classes else {}
        )


#: Name -> spec, in registration order (FACED, SEED-V, then any added).
DATASETS: dict[str, Dataset] = {}


def register_dataset(spec: Dataset) -> Dataset:
    """Add ``spec`` to the registry; a name or task taken by another dataset is refused."""
    if spec.name in DATASETS:
        raise ValueError(f"dataset {spec.name!r} is already registered")
    taken = set(spec.tasks) & {BINARY_TASK, *(t for d in DATASETS.values() for t in d.tasks)}
    if taken:
        raise ValueError(f"dataset {spec.name!r}: task(s) {sorted(taken)} already registered")
    DATASETS[spec.name] = spec
    return spec


def dataset_names() -> tuple[str, ...]:
    return tuple(DATASETS)


def get_dataset(name: str) -> Dataset:
    """The spec of ``name``; an unknown name lists the registered ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r} (allowed: {', '.join(DATASETS)})")
    return DATASETS[name]


def registered_dataset(name: str) -> str:
    """``name`` when it is a registered dataset (a settings validator)."""
    get_dataset(name)
    return name


def task_names() -> tuple[str, ...]:
    """Every task: each dataset's multi-class tasks, then binary."""
    return (*(t for d in DATASETS.values() for t in d.tasks), BINARY_TASK)


def task_dataset(task: str) -> Dataset | None:
    """The dataset a multi-class task belongs to (None for binary, which fits every dataset)."""
    if task == BINARY_TASK:
        return None
    owner = next((d for d in DATASETS.values() if task in d.tasks), None)
    if owner is None:
        raise ValueError(f"unknown task {task!r} (allowed: {', '.join(task_names())})")
    return owner


def registered_task(task: str) -> str:
    """``task`` when some dataset has it (a settings validator)."""
    task_dataset(task)
    return task


def registered_task_or_auto(task: str) -> str:
    """``auto`` (the dataset's default task) or a registered task (a settings validator)."""
    if task != "auto" and task not in task_names():
        raise ValueError(f"unknown task {task!r} (allowed: auto, {', '.join(task_names())})")
    return task


def default_protocol(dataset: str, n_subjects: int | None = None) -> str:
    """The protocol a run on ``dataset`` gets by default: its :attr:`Dataset.default_protocol`
    (for a cohort of ``n_subjects``: when that is its :attr:`Dataset.protocol_subjects`), else
    ``holdout`` (also for a dataset outside the registry)."""
    spec = DATASETS.get(dataset)
    if spec is None:
        return "holdout"
    fits = n_subjects is None or spec.protocol_subjects in (None, n_subjects)
    return spec.default_protocol if fits else "holdout"


def protocol_dataset(protocol: str) -> Dataset | None:
    """The dataset that owns ``protocol`` (None: a protocol for any cohort)."""
    return next((d for d in DATASETS.values() if protocol in d.protocols), None)


def official_datasets() -> tuple[Dataset, ...]:
    """The registered datasets with an official layout, in registration order."""
    return tuple(d for d in DATASETS.values() if d.official is not None)


def option_defaults(raw_only: bool = False) -> dict[str, Any]:
    """Every official layout's reading options (only those for raw files: ``raw_only``) and
    their defaults."""
    defaults: dict[str, Any] = {}
    for spec in official_datasets():
        assert spec.official is not None
        defaults |= spec.official.raw_options
        if not raw_only:
            defaults |= spec.official.feature_options
    return defaults


def reading_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The registry's default reading options overridden by ``options``; a name that no
    registered dataset reads is refused (a typo would otherwise be ignored)."""
    defaults = option_defaults()
    unknown = sorted(set(options or {}) - set(defaults))
    if unknown:
        raise ValueError(
            f"unknown dataset option(s) {unknown} (allowed: {', '.join(sorted(defaults))})"
        )
    return defaults | dict(options or {})


#: A settings field naming a registered dataset.
DatasetName = Annotated[str, AfterValidator(registered_dataset)]
#: A settings field naming a registered task.
TaskName = Annotated[str, AfterValidator(registered_task)]
#: A settings field naming a registered task or ``auto``.
TaskOrAuto = Annotated[str, AfterValidator(registered_task_or_auto)]
