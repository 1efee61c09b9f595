"""Study config: the commented default equals the model's defaults; TOML and YAML; errors that
name the file, the section, the key and the allowed values; ``vaxis study --init``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from vaxis.study.config import StudyConfig, StudyConfigError, default_text, load_config, parse


def test_the_commented_default_is_the_models_default() -> None:
    assert load_config() == StudyConfig()
    assert default_text().count("#") > 20  # it is commented
    assert StudyConfig().data.synthetic and StudyConfig().model.name == "smollm2"


def test_toml_and_yaml_give_the_same_config(tmp_path: Path) -> None:
    settings = {"out": "x", "data": {"subjects": 12}, "stages": {"zoo": {"epochs": 3}}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(settings))
    toml = 'out = "x"\n[data]\nsubjects = 12\n[stages.zoo]\nepochs = 3\n'
    (tmp_path / "s.toml").write_text(toml)
    from_yaml, from_toml = load_config(tmp_path / "s.yaml"), load_config(tmp_path / "s.toml")
    assert from_yaml == from_toml
    assert from_toml.stages.zoo.epochs == 3 and from_toml.data.subjects == 12
    assert from_toml.stages.zoo.seeds == StudyConfig().stages.zoo.seeds  # untouched: default


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[stages]\nbrian = 1",
            "stages.brian: unknown key (allowed: axis, brain, zoo, align, saturation, ensemble)",
        ),
        ("oops = 1", "oops: unknown key (allowed: out, data, model, compute, stages)"),
        (
            "[stages.brain]\nmodel = 'lasso'",
            "stages.brain.model: 'lasso' is not allowed (allowed: 'ridge', 'pls')",
        ),
        (
            "[stages.zoo]\ndecoders = ['linear', 'resnet']",
            "stages.zoo.decoders: unknown decoder 'resnet' (allowed: ",
        ),
        ("[stages.align]\ninterventions = ['magic']", "unknown intervention 'magic' (allowed: "),
        (
            "[compute]\nexecutor = 'gpu'",
            "compute.executor: 'gpu' is not allowed (allowed: 'serial', 'local', 'ray')",
        ),
        ("[compute]\nworkers = 0", "compute.workers: 0 is not allowed (allowed: >= 1)"),
        (
            "[compute]\naddress = 'ray://h:1'",
            "compute: address is for executor = 'ray', not 'local' (allowed executors: serial, "
            "local, ray)",
        ),
        ("[stages.ensemble]\nprotocol = 'x'", "unknown protocol 'x' (allowed: "),
        (
            "[stages.ensemble]\nseeds = [1, 1]",
            "stages.ensemble.seeds: [1, 1] is not allowed (allowed: at least one value, no",
        ),
        ("[stages.saturation]\nbootstrap = 10", "stages.saturation.bootstrap: 10 is not allowed"),
        ("[stages.axis]\nmethod = 'pca'", "unknown method 'pca' (allowed: "),
        ("[data]\nsubjects = 2", "data.subjects: 2 is not allowed (allowed: >= 4)"),
        (
            "[data]\nnan_policy = 'zero'",
            "data.nan_policy: 'zero' is not allowed (allowed: 'raise',",
        ),
    ],
)
def test_errors_name_the_key_and_what_is_allowed(text: str, expected: str) -> None:
    with pytest.raises(StudyConfigError) as caught:
        parse(text, "study.toml")
    assert str(caught.value).startswith("invalid study config study.toml:\n  ")
    assert expected in str(caught.value)
    assert "pydantic" not in str(caught.value) and "Input should" not in str(caught.value)


def test_allowed_values_list_the_registries() -> None:
    with pytest.raises(StudyConfigError) as caught:
        parse("[stages.zoo]\ndecoders = ['resnet']", "study.toml")
    assert "linear" in str(caught.value) and "mlp" in str(caught.value)


def test_interventions_include_training_procedures_and_compute_builds_the_executor() -> None:
    from vaxis.sweep import LocalExecutor, SerialExecutor

    config = parse(
        "[compute]\nexecutor = 'serial'\n[stages.align]\ninterventions = ['peft-lora', 'rsa-1']",
        "study.toml",
    )
    assert config.stages.align.interventions == ("peft-lora", "rsa-1")
    assert isinstance(config.compute.make(), SerialExecutor)
    assert isinstance(StudyConfig().compute.make(), LocalExecutor)


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StudyConfigError, match="not valid TOML"):
        parse("[data\n", "study.toml")
    with pytest.raises(StudyConfigError, match=r"\.toml, \.yaml or \.yml"):
        parse("out = 'x'", "study.ini")
    with pytest.raises(StudyConfigError, match="cannot read study config"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(StudyConfigError, match="table of settings"):
        parse("- a\n- b\n", "study.yaml")


def test_init_writes_the_default_and_refuses_to_overwrite(tmp_path: Path) -> None:
    import typer

    from vaxis.study.cli import study

    app = typer.Typer()
    app.command()(study)
    path = tmp_path / "mine.toml"
    first = CliRunner().invoke(app, ["--init", str(path)])
    assert first.exit_code == 0, first.output
    assert tomllib.loads(path.read_text()) == tomllib.loads(default_text())
    again = CliRunner().invoke(app, ["--init", str(path)])
    assert again.exit_code == 2 and "exists" in again.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[stages]\nbrian = 1\n")
    refused = CliRunner().invoke(app, [str(bad)])
    assert refused.exit_code == 2 and "stages.brian: unknown key" in refused.output


def test_stage_precision_enters_job_keys_and_compute_devices_do_not(tmp_path: Path) -> None:
    from vaxis.study.stages.zoo import plan_jobs

    cohort = tmp_path / "c.cohort.h5"
    cohort.write_bytes(b"stand-in: only its fingerprint is read")

    def jobs(text: str) -> dict[str, dict[str, object]]:
        found = plan_jobs(parse(text, "study.toml"), cohort, "faced9")
        return {
            label: {"key": job.key(), "train": job.params["train"]} for label, job in found.items()
        }

    default = jobs("")
    # the default params are those of main before precision existed: cached jobs keep their keys
    assert default["mlp/plain/seed0"]["train"] == {"decoder": "mlp", "epochs": 5, "seed": 0}
    placed = "[compute]\ndevices = ['cuda:0', 'cuda:1']\njobs_per_device = 4\ncompile = true"
    assert jobs(placed) == default
    for changed in ("precision = 'bf16'", "tf32 = true"):
        other = jobs(f"[stages.zoo]\n{changed}")
        assert other.keys() == default.keys()
        assert all(other[label]["key"] != default[label]["key"] for label in default)


def test_compute_devices_place_one_worker_per_slot_and_bad_devices_are_named() -> None:
    from vaxis.decoders.numerics import COMPILE_VARIABLE
    from vaxis.sweep import LocalExecutor

    text = "[compute]\nworkers = 2\ndevices = ['cuda:0', 'cuda:1']\njobs_per_device = 3\n"
    text += "compile = true"
    compute = parse(text, "study.toml").compute
    assert compute.executor_fields()["workers"] is None
    executor = compute.make()
    assert isinstance(executor, LocalExecutor) and executor.workers == 6
    assert executor.env == {COMPILE_VARIABLE: "1"}
    with pytest.raises(StudyConfigError, match=r"compute\.devices: unknown device 'gpu0'"):
        parse("[compute]\ndevices = ['gpu0']", "study.toml")
