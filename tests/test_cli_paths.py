"""Every command that reads EEG takes the same sources through one resolver, and each wrong
kind of path (missing, a file that is no cohort, a folder that is no dataset, a truncated
cohort file) gets one line that says what was found and what was expected: exit 2, no
traceback, no library's own message."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cohorts import write_official_twins
from vaxis.cli import app

#: command line of each command, with {src} for the EEG path and {out} for a fresh output
COMMANDS = {
    "data inspect": ["data", "inspect", "{src}"],
    "data features": ["data", "features", "{src}", "{out}/x.cohort.h5"],
    "data convert": ["data", "convert", "{src}", "{out}/x.cohort.h5"],
    "brain map": ["brain", "map", "{src}", "--positions", "classes", "-o", "{out}"],
    "train": ["train", "{src}", "-o", "{out}"],
    "align": ["align", "{src}", "--positions", "classes", "-o", "{out}"],
    "ensemble": ["ensemble", "{src}", "--positions", "classes", "-o", "{out}"],
    "study": ["study", "{src}", "--out", "{out}", "--no-progress"],
}
#: wrong kind of path -> a phrase of what was found and of what was expected
WRONG = {
    "missing": ("nowhere", "no such file or folder", "FACED / SEED-V folder"),
    "text file": ("notes.txt", "a .txt file, not a cohort file", "expected *.cohort.h5"),
    "plain folder": ("empty", "neither a FACED root", "*.cohort.h5"),
    "truncated cohort": ("cut.cohort.h5", "not a readable HDF5 cohort file", "re-create it"),
}


def _make(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    if name == "notes.txt":
        path.write_text("not EEG")
    elif name == "empty":
        path.mkdir()
    elif name == "cut.cohort.h5":
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)  # an HDF5 signature, then nothing
    return path


@pytest.mark.parametrize("wrong", list(WRONG))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_wrong_kind_of_path_gets_what_was_found_and_expected(
    tmp_path: Path, command: str, wrong: str
) -> None:
    name, found, expected = WRONG[wrong]
    src = _make(tmp_path, name)
    out = tmp_path / "out"
    argv = [a.format(src=src, out=out) for a in COMMANDS[command]]
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert found in text and expected in text, text
    assert "Traceback" not in text and "errno" not in text.lower(), text
    assert not (out / "sweep").exists()  # refused before any work


#: the commands that read the output folder of another command (no EEG), with {src} for it
RUN_FOLDER_COMMANDS = {
    "probe": (["probe", "{src}", "--positions", "classes", "-o", "{out}"], "`vaxis train`"),
    "saturation": (["saturation", "{src}", "-o", "{out}"], "`vaxis align`"),
}
#: wrong kind of path -> what was found
RUN_FOLDER_WRONG = {
    "missing": ("nowhere", "no such file or folder"),
    "text file": ("notes.txt", "a .txt file, not a folder"),
    "plain folder": ("empty", "no "),  # no finished runs / no align report here
}


@pytest.mark.parametrize("wrong", list(RUN_FOLDER_WRONG))
@pytest.mark.parametrize("command", list(RUN_FOLDER_COMMANDS))
def test_each_wrong_run_folder_gets_what_was_found_and_expected(
    tmp_path: Path, command: str, wrong: str
) -> None:
    name, found = RUN_FOLDER_WRONG[wrong]
    argv, made_by = RUN_FOLDER_COMMANDS[command]
    src = _make(tmp_path, name)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [a.format(src=src, out=out) for a in argv])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert f"{src}" in text and found in text and made_by in text, text
    assert "Traceback" not in text, text


#: what a planned job is (its id names the cohort file; its seconds come from a timed calibration)
SAME_FROM_ANY_SOURCE = (
    "label",
    "stage",
    "decoder",
    "regime",
    "intervention",
    "seed",
    "epochs",
    "batch_size",
    "n_train",
    "flops",
    "peak_memory_bytes",
)


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["zoo", "align", "ensemble"])
def test_every_training_stage_plans_the_same_jobs_from_an_official_folder_as_from_its_file(
    tmp_path: Path, stage: str
) -> None:
    """A FACED root, the official DE folder inside it and the cohort file holding the same EEG
    are one source to every stage that trains (the resolver reads a folder once into
    ``out/data``); the jobs they plan (decoder, regime, intervention, seed, epochs, cost) are
    the same."""
    import vaxis

    root, cohort_file = write_official_twins(tmp_path, n_subjects=12)
    package = getattr(vaxis, stage)
    config_type = {"zoo": "ZooConfig", "align": "AlignConfig", "ensemble": "EnsembleConfig"}
    sources = {
        "root": root,
        "de": root / "EEG_Features" / "DE",
        "file": cohort_file,
    }
    plans = {}
    for name, source in sources.items():
        config = getattr(package, config_type[stage])(
            cohort=source, positions="classes", out=tmp_path / name
        )
        plans[name] = [
            {key: value for key, value in job.items() if key in SAME_FROM_ANY_SOURCE}
            for job in package.plan(config)
        ]
        if name != "file":
            assert next((tmp_path / name / "data").glob("faced-*.cohort.h5"))
    assert plans["root"] and plans["root"] == plans["de"] == plans["file"]


@pytest.mark.slow
def test_train_then_probe_from_an_official_folder_matches_its_cohort_file(tmp_path: Path) -> None:
    """`vaxis train FACED_ROOT` then `vaxis probe` on its output gives the probe figures (values,
    intervals, p) of the same two commands on the cohort file holding the same EEG."""
    import json

    root, cohort_file = write_official_twins(tmp_path, n_subjects=12)
    train = ["--decoder", "linear", "--epochs", "2", "--seeds", "0,1", "--executor", "serial"]
    probed = []
    for name, source in (("root", root), ("file", cohort_file)):
        runs, out = tmp_path / f"train-{name}", tmp_path / f"probe-{name}"
        for argv in (
            ["train", str(source), *train, "-o", str(runs)],
            ["probe", str(runs), "--positions", "classes", "--nulls", "50", "--bootstrap", "20",
             "-o", str(out)],
        ):  # fmt: skip
            result = CliRunner().invoke(app, argv)
            assert result.exit_code == 0, result.output
        record = json.loads((out / "probe.json").read_text())
        probed.append({k: record[k] for k in ("checkpoints", "across_checkpoints")})
    assert len(probed[0]["checkpoints"]) == 2
    assert probed[0] == probed[1]
