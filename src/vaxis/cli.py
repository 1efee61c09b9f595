"""The `vaxis` command line: a thin typer shell over the library, one sub-app per stage."""

from __future__ import annotations

import os
import sys

import typer

from vaxis.align.cli import align
from vaxis.assets_cli import app as assets_app
from vaxis.axis.cli import app as axis_app
from vaxis.brain.cli import app as brain_app
from vaxis.data.cli import app as data_app
from vaxis.ensemble.cli import ensemble
from vaxis.probe.cli import app as probe_app
from vaxis.saturation.cli import app as saturation_app
from vaxis.study.cli import study
from vaxis.zoo.cli import train

if not sys.stderr.isatty():
    # tqdm bars of third-party loaders (transformers' per-tensor GGUF conversion) would write
    # one ever-growing line into a log file; set before anything imports tqdm
    os.environ.setdefault("TQDM_DISABLE", "1")

app = typer.Typer(
    name="vaxis",
    help=(
        "A shared valence axis across language models and human EEG.\n\n"
        "`vaxis study` runs the whole study (or any stages of it) from one config and writes "
        "results.json and report.html. "
        "Stages: `vaxis data` (cohorts, loaders, DE features); `vaxis assets` (rated text "
        "fetched at set-up); `vaxis axis` (the V-axis from a language model: build, "
        "validate, compare); `vaxis brain` (EEG read-out of the V-axis); `vaxis train` "
        "(EEG emotion decoders); `vaxis probe` (the V-axis inside trained decoders); "
        "`vaxis align` (V-axis interventions against a plain baseline, paired statistics); "
        "`vaxis saturation` (basin strength, threshold, gradient shares, ablation); "
        "`vaxis ensemble` (the study's residual-diversity ensemble and its cascade)."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command(name="study")(study)
app.add_typer(data_app, name="data")
app.add_typer(assets_app, name="assets")
app.add_typer(axis_app, name="axis")
app.add_typer(brain_app, name="brain")
app.command(name="train")(train)
app.add_typer(probe_app)  # its one command appears as `vaxis probe`
app.command(name="align")(align)
app.add_typer(saturation_app)  # `vaxis saturation`
app.command(name="ensemble")(ensemble)


if __name__ == "__main__":  # pragma: no cover
    app()
