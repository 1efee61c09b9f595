"""Presets: ``paper`` is the study's recipe as docs/REFERENCE.md sec. 1.11 records it, ``laptop``
is today's default, and ``--init --preset`` writes a file that reads back to the preset."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vaxis.data.datasets import FACED
from vaxis.data.splits import FACED_STUDY_SPLIT
from vaxis.decoders.augment import Augmentation
from vaxis.decoders.distill import Distillation
from vaxis.decoders.experiment import REGIMES
from vaxis.decoders.train import TrainConfig
from vaxis.study.config import StudyConfig, default_text, load_config, parse
from vaxis.study.presets import (
    CROSS_DATASET,
    init_text,
    laptop,
    paper,
    preset,
    study_interventions,
    with_smoke,
)

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "REFERENCE.md"


def recorded_recipe() -> dict[str, str]:
    """The table of docs/REFERENCE.md sec. 1.11: setting -> value (markers like "(choice)"
    dropped)."""
    text = REFERENCE.read_text()
    section = text[text.index("### 1.11 ") : text.index("### 1.12 ")]
    rows = re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", section, re.MULTILINE)
    table = {re.sub(r" \(choice\)$", "", k): v for k, v in rows if k != "setting" and k[0] != "-"}
    assert len(table) >= 30, "the recipe table was not found"
    return table


def numbers(value: str) -> tuple[float, ...]:
    return tuple(float(v) for v in value.split(", "))


def span(value: str) -> list[int]:
    low, high = value.split("-")
    return list(range(int(low), int(high) + 1))


def test_the_paper_preset_is_the_recipe_recorded_in_the_docs() -> None:
    r, config = recorded_recipe(), paper()
    zoo, align, ensemble = config.stages.zoo, config.stages.align, config.stages.ensemble
    # split (the preset names it; the split's subjects are the study's)
    assert zoo.protocol == align.protocol == ensemble.protocol == r["split"]
    assert list(FACED_STUDY_SPLIT["train"]) == span(r["train subjects"])
    assert list(FACED_STUDY_SPLIT["val"]) == span(r["validation subjects"])
    assert list(FACED_STUDY_SPLIT["test"]) == span(r["test subjects"])
    assert FACED.segment_seconds == float(r["segment seconds"])
    # optimiser and schedule: the engine's defaults, which the preset leaves untouched
    train = TrainConfig()
    assert r["optimiser"] == "AdamW" and r["schedule"] == "cosine"
    assert (train.lr, train.weight_decay) == (float(r["learning rate"]), float(r["weight decay"]))
    assert train.warmup_epochs == int(r["warm-up epochs"])
    assert train.batch_size == ensemble.batch_size == int(r["batch size"])
    assert ensemble.lr == float(r["learning rate"])
    # augmentation and distillation of the regimes the preset trains
    aug, kd = Augmentation(), Distillation()
    assert (aug.p, aug.noise_std, aug.channel_dropout, aug.time_mask) == (
        float(r["augmentation p"]),
        float(r["augmentation noise std"]),
        float(r["augmentation channel dropout"]),
        float(r["augmentation time mask"]),
    )
    assert (kd.weight, kd.temperature, kd.prototypes) == (
        float(r["distillation weight"]),
        float(r["distillation temperature"]),
        r["distillation prototypes"],
    )
    assert REGIMES["aug-kd"]["augmentation"] == aug and REGIMES["aug-kd"]["distillation"] == kd
    # seeds and epochs
    seeds = tuple(int(s) for s in numbers(r["seeds"]))
    assert align.seeds == ensemble.seeds == seeds
    assert align.epochs == zoo.epochs == int(r["epochs"])
    assert ensemble.epochs == tuple(int(e) for e in numbers(r["ensemble epochs"]))
    # the zoo: 2 architectures x 3 regimes x 6 variants
    assert zoo.decoders == tuple(r["zoo architectures"].split(", "))
    assert zoo.regimes == tuple(r["zoo regimes"].split(", "))
    assert len(zoo.variants) == int(r["zoo recipe variants"])
    assert zoo.seeds == (int(r["zoo seed"]),)
    n = len(zoo.decoders) * len(zoo.regimes) * len(zoo.variants) * len(zoo.seeds)
    assert n == int(r["zoo checkpoints"])
    assert {v.lr for v in zoo.variants} == set(numbers(r["zoo variant learning rates"]))
    assert {v.epochs for v in zoo.variants} == {int(e) for e in numbers(r["zoo variant epochs"])}
    # interventions and ensemble
    assert align.decoder == r["align decoder"]
    assert len(study_interventions()) == int(r["align interventions"])
    assert (ensemble.depth, ensemble.width, ensemble.heads) == (
        int(r["ensemble depth"]),
        int(r["ensemble width"]),
        int(r["ensemble heads"]),
    )
    assert ensemble.channel_tokens is None  # every channel a token, as the study
    assert ensemble.regime == r["ensemble regime"]
    assert len(ensemble.seeds) * len(ensemble.epochs) == int(r["ensemble members"])
    assert ensemble.shallow_depth == int(r["cascade shallow depth"])


def test_the_recorded_recipe_table_parses_and_fails_on_drift() -> None:
    r = recorded_recipe()
    assert r["seeds"] == "42, 123, 456, 789, 2025" and r["zoo seed"] == "42"
    drifted = paper().stages.align.model_copy(update={"epochs": 150})
    assert drifted.epochs != int(r["epochs"])  # what the recipe test would catch


def test_the_study_interventions_are_its_25_and_cross_dataset_needs_a_source() -> None:
    names = study_interventions()
    assert len(names) == 25 == len(set(names))
    assert not {"kd-1", "infonce-0.1", "rsa-spearman-1"} & set(names)  # ours, not the study's
    assert CROSS_DATASET not in paper().stages.align.interventions
    with_source = paper(source_cohort="seedv.cohort.h5").stages.align
    assert with_source.interventions == names and with_source.source_cohort == "seedv.cohort.h5"


def test_the_laptop_preset_is_todays_default() -> None:
    assert laptop() == load_config(None) == StudyConfig()
    assert laptop("x.cohort.h5").data.source == "x.cohort.h5"
    assert StudyConfig().stages.zoo.variants == ()
    with pytest.raises(ValueError, match="allowed: laptop, paper"):
        preset("huge")


def test_paper_on_synthetic_data_is_faced_sized_and_on_seedv_uses_a_subject_holdout() -> None:
    config = paper()
    assert config.data.synthetic and (config.data.subjects, config.data.windows) == (123, 30)
    from vaxis.study.config import DataSettings

    seedv = paper().model_copy(update={"data": DataSettings(like="seedv")})
    from vaxis.study.presets import choices

    assert any("SEED-V" in note for note in choices(seedv))
    assert not any("SEED-V" in note for note in choices(config))


def test_init_with_a_preset_writes_a_file_that_reads_back_to_it(tmp_path: Path) -> None:
    from vaxis.study.cli import study

    text = init_text("paper")
    assert parse(text, "paper.toml") == paper()
    assert "docs/REFERENCE.md" in text and 'channel_tokens = "none"' in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert init_text("laptop") == default_text()
    app = typer.Typer()
    app.command()(study)
    path = tmp_path / "paper.toml"
    run = CliRunner().invoke(app, ["--init", str(path), "--preset", "paper"])
    assert run.exit_code == 0, run.output
    assert load_config(path) == paper()
    both = CliRunner().invoke(app, [str(path), "--preset", "paper", "--plan"])
    assert both.exit_code == 2 and "not both" in both.output


def test_smoke_keeps_every_job_and_cuts_only_its_training(tmp_path: Path) -> None:
    """--smoke: the paper's jobs (labels, split, epochs), each with the smoke limits added and
    nothing else changed; SMOKE labels the training stages and what reads them, no other."""
    from vaxis.decoders.numerics import SMOKE_LIMITS
    from vaxis.ensemble.stage import plan_jobs as ensemble_jobs
    from vaxis.study.registry import StudyContext
    from vaxis.study.results import smoked
    from vaxis.study.stages.ensemble import ensemble_config
    from vaxis.study.stages.zoo import plan_jobs

    real, smoke = paper(), with_smoke(paper())
    assert smoke.smoke and not real.smoke and smoke.out == f"{real.out}-smoke"
    assert with_smoke(smoke).out == smoke.out
    cohort = tmp_path / "c.cohort.h5"
    cohort.write_bytes(b"a cohort")
    before, after = plan_jobs(real, cohort, "faced9"), plan_jobs(smoke, cohort, "faced9")
    assert list(before) == list(after) and len(after) == 37
    for label, job in before.items():
        cut = after[label].params
        assert cut["train"] == job.params["train"] | SMOKE_LIMITS
        assert {k: v for k, v in cut.items() if k != "train"} == {
            k: v for k, v in job.params.items() if k != "train"
        }
    context = StudyContext(out=tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("vaxis.study.stages.ensemble.cohort_path", lambda *_: cohort)
        members = [
            ensemble_jobs(ensemble_config(c, context), "faced", {})[0] for c in (real, smoke)
        ]
    assert (
        list(members[0]) == list(members[1]) and len({j.key() for j in members[1].values()}) == 10
    )
    import vaxis.study.stages  # noqa: F401  (registers the stages)

    assert [n for n in ("data", "axis", "brain", "zoo", "align", "saturation", "ensemble")
            if smoked(n, smoke)] == ["zoo", "align", "saturation", "ensemble"]  # fmt: skip
    assert not any(smoked(n, real) for n in ("zoo", "align", "ensemble"))
