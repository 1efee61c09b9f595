"""Named study configs: ``laptop`` (the CPU-sized default) and ``paper`` (the study's protocol).

``vaxis study DATA --preset paper`` runs the study's own protocol (docs/REFERENCE.md sec. 1.11,
the recipe as a table, which a test compares with :func:`paper`): FACED's split (subjects 0-79
train, 80-99 validation, 100-122 test), the 36 rediscovery checkpoints (two architectures x
three regimes x six recipe variants), the baseline and the study's 25 interventions over its
five seeds at 100 epochs, the 10-member ensemble (depth 6, width 128, 5 seeds x {100, 150}
epochs) and the cascade; saturation and probing run on those runs. On a SEED-V root the same
recipe runs with a subject-disjoint holdout split. Where the study leaves a setting open the
preset chooses, and :data:`CHOICES` says what and why (printed with every paper run and written
into ``plan.json``; docs/REFERENCE.md sec. 1.12).

:func:`to_toml` writes a preset as a commented config file (``vaxis study --init --preset``).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from vaxis.align.config import CROSS_DATASET
from vaxis.data.datasets import DATASETS, default_protocol
from vaxis.ensemble.recipe import STUDY_EPOCHS, STUDY_SEEDS
from vaxis.study.config import (
    SYNTHETIC,
    AlignSettings,
    DataSettings,
    EnsembleSettings,
    StageSettings,
    StudyConfig,
    ZooSettings,
    ZooVariant,
    load_config,
)

#: the study's epochs for single runs (zoo and interventions)
STUDY_RUN_EPOCHS = 100
#: the FACED-sized synthetic cohort of a paper run without data: 123 subjects x 28 clips x 30 s
FACED_SUBJECTS, FACED_SECONDS = 123, 30
#: the zoo's recipe variants (our choice, docs/REFERENCE.md sec. 1.12): peak learning rate x
#: training length, each an exact config of the engine
VARIANT_LRS, VARIANT_EPOCHS = (5e-4, 1e-3, 2e-3), STUDY_EPOCHS
ZOO_ARCHITECTURES = ("cbramod-de", "axial")
ZOO_REGIMES = ("plain", "aug", "aug-kd")

CHOICES: tuple[str, ...] = (
    "zoo recipe variants (the study does not list them): peak learning rate 5e-4 / 1e-3 / "
    "2e-3 x 100 / 150 epochs, seed 42 each; 2 architectures x 3 regimes x 6 variants = 36",
    "zoo regimes: plain, +augmentation, +augmentation+distillation (the cascade's)",
    "the CBraMod-style architecture reads DE features: cbramod-de, CBraMod's criss-cross "
    "encoder over (channel, second) tokens at CBraMod's sizes",
    "interventions: on the EMOD-style axial transformer at the recipe's sizes",
    "V-axis: the laptop default's method (ridge_score, the layer chosen among those that pass "
    "the stories' class-ordering diagnosis); "
    "the study's centroid PCA-1 ([stages.axis] recipe = 'study') needs a model of the study's "
    "scale (docs/REFERENCE.md sec. 5.3)",
)
NO_SOURCE_CHOICE = (
    "cross-dataset is left out: it needs the other dataset's cohort ([stages.align] "
    "source_cohort); 24 of the study's 25 interventions run"
)


def study_interventions() -> tuple[str, ...]:
    """The study's 25 interventions: the registered ones with a published effect, in order."""
    from vaxis.align.interventions import INTERVENTIONS
    from vaxis.align.procedures import PROCEDURES

    losses = [s.name for s in INTERVENTIONS.values() if s.study_effect is not None]
    return (*losses, *(s.name for s in PROCEDURES.values() if s.study_effect is not None))


def zoo_variants() -> tuple[ZooVariant, ...]:
    """The six recipe variants of the rediscovery zoo (see :data:`CHOICES`)."""
    return tuple(
        ZooVariant(name=f"lr{lr:g}-e{epochs}", lr=lr, epochs=epochs)
        for lr in VARIANT_LRS
        for epochs in VARIANT_EPOCHS
    )


def laptop(source: str = SYNTHETIC) -> StudyConfig:
    """Today's CPU-sized default (the embedded ``default.toml``) on ``source``."""
    config = load_config(None)
    return config.model_copy(update={"data": config.data.model_copy(update={"source": source})})


def paper(source: str = SYNTHETIC, source_cohort: str | None = None) -> StudyConfig:
    """The study's protocol on ``source`` (a FACED or SEED-V root or cohort file; "synthetic":
    a FACED-sized synthetic cohort, labelled so). ``source_cohort``: the other dataset's cohort
    file, for the cross-dataset intervention (left out without one)."""
    from vaxis.study.stages.data import dataset_of

    data = DataSettings(source=source, like="faced", subjects=FACED_SUBJECTS, windows=FACED_SECONDS)
    protocol = default_protocol(dataset_of(StudyConfig(data=data)))
    interventions = tuple(
        name for name in study_interventions() if name != CROSS_DATASET or source_cohort
    )
    stages = StageSettings(
        zoo=ZooSettings(
            decoders=ZOO_ARCHITECTURES,
            regimes=ZOO_REGIMES,
            seeds=STUDY_SEEDS[:1],
            epochs=STUDY_RUN_EPOCHS,
            protocol=protocol,
            variants=zoo_variants(),
            probe_nulls=1000,
            probe_bootstrap=1000,
        ),
        align=AlignSettings(
            decoder="axial",
            interventions=interventions,
            seeds=STUDY_SEEDS,
            epochs=STUDY_RUN_EPOCHS,
            protocol=protocol,
            source_cohort=source_cohort,
        ),
        ensemble=EnsembleSettings(
            depth=6,
            shallow_depth=3,
            width=128,
            heads=8,
            channel_tokens=None,
            regime="aug-kd",
            seeds=STUDY_SEEDS,
            epochs=STUDY_EPOCHS,
            batch_size=128,
            lr=1e-3,
            protocol=protocol,
        ),
    )
    return StudyConfig(out="study-paper", data=data, stages=stages)


def with_smoke(config: StudyConfig) -> StudyConfig:
    """``config`` as a smoke run (``vaxis study --smoke``): the same jobs, split, stages and
    outputs, each job trained for one epoch of a few mini-batches and scored on every
    validation and test subject and stimulus, one unit each (SMOKE_LIMITS); written to
    ``<out>-smoke``, labelled SMOKE."""
    stages = config.stages
    update = {
        name: getattr(stages, name).model_copy(update={"smoke": True})
        for name in ("zoo", "align", "ensemble")
    }
    out = config.out if config.smoke else f"{config.out}-smoke"
    return config.model_copy(update={"out": out, "stages": stages.model_copy(update=update)})


def choices(config: StudyConfig) -> list[str]:
    """What a paper config chose where the study is silent (for outputs and the plan)."""
    from vaxis.study.stages.data import dataset_of

    notes = list(CHOICES)
    spec = DATASETS.get(dataset_of(config))
    if spec is not None and spec.paper_note:
        notes.append(spec.paper_note)  # what the preset chose for this dataset (SEED-V's split)
    if CROSS_DATASET not in config.stages.align.interventions:
        notes.append(NO_SOURCE_CHOICE)
    return notes


PRESETS: dict[str, Callable[[str], StudyConfig]] = {"laptop": laptop, "paper": paper}


def preset(name: str, source: str = SYNTHETIC) -> StudyConfig:
    """The preset ``name`` on ``source``; an unknown name lists the known ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    return PRESETS[name](source)


# ------------------------------------------------------------------------------ TOML
def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")


def _nested(value: Any) -> bool:
    """A sub-section (a settings model) or an array of tables (a tuple of them)."""
    many = isinstance(value, tuple) and bool(value) and isinstance(value[0], BaseModel)
    return isinstance(value, BaseModel) or many


def _section(model: BaseModel, path: str, lines: list[str]) -> None:
    """``model``'s own keys under ``[path]``, then its sub-sections and arrays of tables. An
    unset key whose default is a number is written "none" (TOML has no null)."""
    fields = type(model).model_fields
    own = {key: getattr(model, key) for key in fields if not _nested(getattr(model, key))}
    doc = (type(model).__doc__ or "").strip().splitlines()
    if path and own:
        lines += ["", f"[{path}]"] + ([f"# {doc[0]}"] if doc else [])
    for key, value in own.items():
        if value is None:
            unset = fields[key].default is None
            lines.append(f"# {key} = (not set)" if unset else f'{key} = "none"')
        else:
            plain = json.loads(json.dumps(value))  # tuples -> lists
            line = f"{key} = {_value(plain)}"
            if isinstance(plain, list) and len(line) > 100:  # one item a line
                line = f"{key} = [\n" + "".join(f"    {_value(v)},\n" for v in plain) + "]"
            lines.append(line)
    for key in fields:
        value, full = getattr(model, key), f"{path}.{key}" if path else key
        if isinstance(value, BaseModel):
            _section(value, full, lines)
        elif _nested(value):
            for item in value:
                lines += ["", f"[[{full}]]"]
                lines += [f"{k} = {_value(v)}" for k, v in item.model_dump(mode="json").items()]


def _comment(text: str, indent: str = "") -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, 96, subsequent_indent=indent)]


def to_toml(config: StudyConfig, title: str, notes: list[str]) -> str:
    """``config`` as a TOML file that :func:`vaxis.study.config.parse` reads back to it, with a
    header (``title`` and ``notes``) and each section's one-line description."""
    lines = _comment(title)
    lines += _comment("Unknown keys are errors; relative paths are taken from where vaxis runs.")
    for note in notes:
        lines += _comment(f"- {note}", "  ")
    _section(config, "", lines)
    return "\n".join(lines) + "\n"


def init_text(name: str) -> str:
    """What ``vaxis study --init --preset NAME`` writes: the laptop preset is the commented
    ``default.toml``; others are rendered from their config with their choices noted."""
    from vaxis.study.config import default_text

    if name == "laptop":
        return default_text()
    config = preset(name)
    title = (
        f"vaxis study, preset {name!r} (`vaxis study THIS_FILE`); the study's recipe is "
        "docs/REFERENCE.md sec. 1.11. Set [data] source to your FACED or SEED-V folder "
        "(synthetic: a FACED-sized SYNTHETIC cohort). Choices where the study is silent:"
    )
    return to_toml(config, title, choices(config))
