"""A dataset is one registry entry: nothing outside its module branches on its name, and a
dataset registered in a test is usable by the generator, the cohort loader, the splits, the
decoders' units, the positions and the bundled stories without touching another file."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

import vaxis
from vaxis.axis.stories import load_bundled_stories
from vaxis.core.positions import from_class_positions, from_valence_groups, stimulus_names
from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import (
    DATASETS,
    Dataset,
    OfficialLayout,
    ReadOptions,
    SyntheticShape,
    dataset_names,
    default_protocol,
    get_dataset,
    register_dataset,
    task_names,
)
from vaxis.data.sources import (
    SourceKind,
    as_cohort_file,
    available,
    dataset_at,
    detect,
    files_fingerprint,
    open_any,
    open_features,
)
from vaxis.data.splits import SplitError, split_fold
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.data.validation import NanPolicy
from vaxis.decoders.units import default_task, make_units
from vaxis.errors import DataFormatError, describe_validation
from vaxis.study.config import DataSettings

ROOT = Path(vaxis.__file__).parent
#: where a dataset's name may be compared with: its own module
OWN_MODULES = ROOT / "data" / "datasets"


# ------------------------------------------------------------------ no branch on a name
def name_branches(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, what) for every place ``source`` compares with, tests membership in, or keys a
    dict literal by one of ``names``. Plain uses are allowed: defaults (``dataset: str =
    "faced"``), keyword arguments (``dataset="faced"``), help text and docstrings, since none of
    them decides what code runs for a dataset."""
    found = []

    def named(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in names
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(named(e) for e in node.elts)
        return False

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(map(named, [node.left, *node.comparators])):
            found.append((node.lineno, "comparison with a dataset name"))
        elif isinstance(node, ast.Dict) and any(k is not None and named(k) for k in node.keys):
            found.append((node.lineno, "dict keyed by dataset names"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "endswith", "removeprefix")
            and any(map(named, node.args))
        ):
            found.append((node.lineno, f"{node.func.attr} of a dataset name"))
    return found


def branch_names() -> set[str]:
    """Every registered dataset's name and its own tasks (binary is every dataset's)."""
    return {*dataset_names(), *(t for d in DATASETS.values() for t in d.tasks)}


def test_the_scan_finds_planted_branches_and_passes_plain_uses() -> None:
    planted = """
def f(dataset: str = "faced", task="faced9"):
    '''Docstrings may say "faced" == "seedv".'''
    load(dataset="seedv")
    if dataset == "faced":
        pass
    x = 1 if "seedv" != dataset else 2
    y = dataset in ("faced", "other")
    z = {"faced": 1, "seedv": 2}[dataset]
    w = task.startswith("seedv5")
    return task is not None
"""
    lines = sorted(line for line, _ in name_branches(planted, {"faced", "seedv", "seedv5"}))
    assert lines == [5, 7, 8, 9, 10]


def dataset_specifics(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, what) for every string (docstrings aside) that is a dataset's name or starts
    with ``<name>-`` / ``<name>_`` (a dataset-named kind such as ``"faced-raw"``), and every
    parameter, keyword, attribute or variable named ``<name>_...`` (``seedv_layout=``)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }

    def specific(text: str) -> bool:
        text = text.lower()
        return any(text == n or text.startswith((f"{n}-", f"{n}_")) for n in names)

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and specific(node.value):
                found.append((node.lineno, f"dataset-named string {node.value!r}"))
            continue
        if isinstance(node, ast.arg | ast.keyword):
            identifier = node.arg or ""
        elif isinstance(node, ast.Attribute):
            identifier = node.attr
        elif isinstance(node, ast.Name):
            identifier = node.id
        else:
            continue
        if specific(identifier):
            found.append((node.lineno, f"dataset-named identifier {identifier}"))
    return found


def test_the_specifics_scan_finds_planted_kinds_and_keywords() -> None:
    planted = """
def f(path, seedv_layout="channel-major"):
    '''A FACED or "seedv" docstring is fine.'''
    kind = "faced-features"
    open_any(path, faced_bandpass=None)
    return SourceKind.seedv_raw, "e.g. faced.cohort.h5", "seedv"
"""
    lines = sorted(line for line, _ in dataset_specifics(planted, {"faced", "seedv"}))
    assert lines == [2, 4, 5, 6, 6]


def test_sources_names_no_dataset() -> None:
    """A dataset's official folders are hooks of its spec: sources.py names none of them."""
    path = ROOT / "data" / "sources.py"
    found = dataset_specifics(path.read_text(encoding="utf-8"), set(dataset_names()))
    offenders = [f"sources.py:{line}: {what}" for line, what in found]
    assert not offenders, "use the spec's OfficialLayout instead:\n" + "\n".join(offenders)


def test_no_dataset_name_is_branched_on_outside_its_module() -> None:
    names = branch_names()
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sorted(ROOT.rglob("*.py"))
        if OWN_MODULES not in path.parents
        for line, what in name_branches(path.read_text(encoding="utf-8"), names)
    ]
    assert not offenders, "ask the dataset's spec instead:\n" + "\n".join(offenders)


# ------------------------------------------------------------------ the registry itself
def test_an_unknown_dataset_lists_the_registered_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'deap' \(allowed: faced, seedv\)"):
        get_dataset("deap")
    with pytest.raises(ValidationError) as info:
        DataSettings(like="deap")
    assert describe_validation(info.value) == [
        "like: unknown dataset 'deap' (allowed: faced, seedv)"
    ]


def test_a_name_or_task_is_registered_once() -> None:
    faced = get_dataset("faced")
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(faced)
    with pytest.raises(ValueError, match=r"task\(s\) \['faced9'\] already registered"):
        register_dataset(Dataset(**{**vars(faced), "name": "faced-copy"}))
    assert dataset_names() == ("faced", "seedv")


def test_a_spec_that_contradicts_itself_is_refused() -> None:
    with pytest.raises(ValueError, match="class_valence needs one value per class"):
        Dataset(**{**vars(TOY), "class_valence": (-1, 1)})
    with pytest.raises(ValueError, match="a label is no class"):
        Dataset(**{**vars(TOY), "stimulus_labels": (0, 0, 1, 1, 2, 3)})


# ------------------------------------------------------------------ a third dataset
#: The toy's official layout, in a format made up here: ``TOY_FEATURES/subject-<id>.npz``
#: holding ``de`` (stimuli, windows, channels, bands); option ``toy_gain`` scales what is read.
TOY_FEATURES = "TOY_FEATURES"


def load_toy_features(
    path: Path, feature: str, nan_policy: NanPolicy, options: ReadOptions
) -> Cohort:
    folder = path if path.name.upper() == TOY_FEATURES else path / TOY_FEATURES
    parts, columns = [], []
    for file in sorted(folder.glob("subject-*.npz")):
        de = np.load(file)["de"] * options["toy_gain"]
        n_stimuli, n_windows = de.shape[:2]
        stimulus, window = np.divmod(np.arange(n_stimuli * n_windows), n_windows)
        subject_id = int(file.stem.removeprefix("subject-"))
        parts.append(de.reshape(-1, *de.shape[2:]))
        columns.append((np.full(stimulus.size, subject_id), stimulus, window))
    subject, stimulus, window = (np.concatenate(c) for c in zip(*columns, strict=True))
    label = np.asarray(TOY.stimulus_labels)[stimulus]
    meta = CohortMeta(
        dataset=TOY.name,
        kind="features",
        channel_names=TOY.channels,
        label_names=TOY.classes,
        sfreq=1.0 / TOY.window_seconds,
        band_names=TOY.band_names,
        band_edges=TOY.band_edges,
        feature=feature,
        window_seconds=TOY.window_seconds,
        stimulus_names=TOY.stimulus_names,
    )
    return Cohort(
        data=np.concatenate(parts),
        subject=subject,
        stimulus=stimulus,
        window=window,
        label=label,
        valence=np.asarray(TOY.class_valence)[label],
        session=np.zeros_like(label),
        meta=meta,
    )


def write_toy_features(cohort: Cohort, root: Path) -> Path:
    folder = root / TOY_FEATURES
    folder.mkdir(parents=True)
    for subject in np.unique(cohort.subject):
        part = cohort.for_subjects([subject])
        de = part.data.reshape(TOY.n_stimuli, -1, *part.data.shape[1:])
        np.savez(folder / f"subject-{subject}.npz", de=de)
    return folder


def no_raw(
    path: Path, subjects: Iterable[int] | None, nan_policy: NanPolicy, options: ReadOptions
) -> Iterator[Cohort]:
    raise AssertionError("the toy has no raw files")


TOY_LAYOUT = OfficialLayout(
    feature_folders=(TOY_FEATURES,),
    raw_folders=("TOY_RAW",),
    load_features=load_toy_features,
    raw_subject_ids=lambda path: [],
    iter_raw=no_raw,
    feature_options={"toy_gain": 1.0},
)

TOY = Dataset(
    name="toy",
    title="Toy",
    channels=("Fz", "Cz", "Pz", "Oz"),
    classes=("sad", "calm", "glad"),
    class_valence=(-1, 0, 1),
    bands=(("theta", 4.0, 8.0), ("alpha", 8.0, 14.0), ("beta", 14.0, 30.0)),
    sfreq=128.0,
    window_seconds=1.0,
    n_subjects=6,
    stimulus_labels=(0, 0, 1, 1, 2, 2),
    stimulus_names=("sad-1", "sad-2", "calm-1", "calm-2", "glad-1", "glad-2"),
    synthetic=SyntheticShape(
        class_valence_scores=(-0.7, 0.0, 0.7),
        class_arousal_scores=(0.3, -0.6, 0.3),
        n_subjects=6,
        raw_sfreq=128.0,
    ),
    tasks=("toy3",),
    segment_seconds=2.0,
    faced_classes=("sadness", "neutral", "joy"),
    official=TOY_LAYOUT,
)


@pytest.fixture
def toy() -> Iterator[Dataset]:
    """TOY in the registry for one test (removed afterwards, whatever happened)."""
    register_dataset(TOY)
    try:
        yield TOY
    finally:
        DATASETS.pop(TOY.name)


def test_a_registered_dataset_is_synthesised_in_its_own_shape(toy: Dataset) -> None:
    config = SynthConfig(like="toy", n_windows=4, valence_strength=1.0, noise_std=0.2)
    assert config.n_subjects == 6 and config.class_valence_scores == (-0.7, 0.0, 0.7)
    cohort, truth = synthesize_features(config)
    assert cohort.meta.dataset == "toy" and cohort.meta.synthetic
    assert cohort.meta.channel_names == toy.channels and cohort.meta.label_names == toy.classes
    assert cohort.meta.stimulus_names == toy.stimulus_names == stimulus_names("toy")
    assert cohort.data.shape == (6 * 6 * 4, 4, 3)
    np.testing.assert_array_equal(cohort.label, np.asarray(toy.stimulus_labels)[cohort.stimulus])
    np.testing.assert_array_equal(cohort.valence, cohort.label - 1)
    assert not cohort.session.any()
    # the planted valence is in the data: stimulus means along the valence pattern follow it
    means = np.stack([cohort.data[cohort.stimulus == s].mean(axis=0) for s in range(6)])
    along = (means * truth.valence_pattern).sum(axis=(1, 2))
    assert np.corrcoef(along, truth.valence)[0, 1] > 0.9


def test_a_registered_dataset_loads_splits_and_trains_on_its_own_task(
    toy: Dataset, tmp_path: Path
) -> None:
    cohort, _ = synthesize_features(SynthConfig(like="toy", n_windows=4))
    path = cohort.save(tmp_path / "toy.cohort.h5")
    assert dataset_at(path) == "toy"
    assert as_cohort_file(path, tmp_path / "work")[0] == path
    loaded = open_features(path)
    np.testing.assert_array_equal(loaded.data, cohort.data)
    assert loaded.meta.dataset == "toy" and loaded.meta.stimulus_names == toy.stimulus_names

    assert default_protocol("toy", 6) == "holdout" and "toy3" in task_names()
    for protocol in ("holdout", "stimuli-out", "subjects-x-stimuli"):
        split_fold(loaded, protocol).check_disjoint(loaded)
    with pytest.raises(SplitError, match="'seedv-trials' is a SEED-V protocol"):
        split_fold(loaded, "seedv-trials")

    units = make_units(loaded, default_task("toy"))  # toy3, 2-s segments
    assert units.task == "toy3" and units.classes == toy.classes and units.seconds == 2.0
    assert len(units) == 6 * 6 * 2 and units.x.shape[1:] == (2, 4, 3)
    np.testing.assert_array_equal(units.y, units.label)
    binary = make_units(loaded, "binary")
    assert set(np.unique(binary.label)) == {0, 2}  # calm (neutral) left out
    with pytest.raises(DataFormatError, match="task 'faced9' is for faced but the cohort is toy"):
        make_units(loaded, "faced9")


def test_a_registered_dataset_takes_positions_and_stories_by_faced_names(toy: Dataset) -> None:
    groups = from_valence_groups("toy")
    assert groups.positions == (-1.0, -1.0, 0.0, 0.0, 1.0, 1.0)
    by_faced = from_class_positions("toy", {"sadness": -0.8, "neutral": 0.1, "joy": 0.9})
    assert by_faced.class_names == toy.classes and by_faced.class_positions == (-0.8, 0.1, 0.9)
    stories = load_bundled_stories("toy")
    faced = {c.name: c for c in load_bundled_stories("faced").classes}
    assert stories.class_names == toy.classes
    for cls, source in zip(stories.classes, toy.faced_classes, strict=True):
        assert cls.stories == faced[source].stories


def test_a_registered_dataset_reads_its_official_folder_with_no_edit_to_sources(
    toy: Dataset, tmp_path: Path
) -> None:
    cohort, _ = synthesize_features(SynthConfig(like="toy", n_windows=3))
    folder = write_toy_features(cohort, tmp_path / "download")
    root = folder.parent
    toy_features = SourceKind("features", "toy")
    assert detect(root) == detect(folder) == toy_features and toy_features.value == "toy-features"
    assert available(root) == [toy_features]
    assert dataset_at(root) == dataset_at(folder) == "toy"

    for read in (open_features(root), open_any(folder)):
        assert read.meta.dataset == "toy" and read.meta.channel_names == toy.channels
        np.testing.assert_array_equal(read.data, cohort.data)
        np.testing.assert_array_equal(read.label, cohort.label)
        np.testing.assert_array_equal(read.stimulus, cohort.stimulus)
        np.testing.assert_array_equal(read.subject, cohort.subject)
    # its option travels through the generic functions; a name no dataset reads is refused
    doubled = open_features(root, options={"toy_gain": 2.0})
    np.testing.assert_allclose(doubled.data, 2.0 * cohort.data)
    with pytest.raises(ValueError, match=r"unknown dataset option\(s\) \['toy_gian'\]"):
        open_features(root, options={"toy_gian": 2.0})

    target, stored = as_cohort_file(root, tmp_path / "work")
    assert target.name == f"toy-{files_fingerprint(root)}.cohort.h5"
    np.testing.assert_array_equal(stored.data, cohort.data)
    assert as_cohort_file(root, tmp_path / "work")[0] == target  # reused while unchanged

    with pytest.raises(DataFormatError, match=r"nor a Toy root \(TOY_FEATURES/, TOY_RAW/\)"):
        detect(tmp_path / "work")
