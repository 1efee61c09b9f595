"""The compute options as one group: a command decorated with ``compute_options`` gets the
five options and receives them as one ComputeOptions, mapped as every config expects."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.testing import CliRunner

from vaxis.sweep.options import DEFAULT_COMPUTE, ComputeOptions, compute_options

seen: list[tuple[int, ComputeOptions]] = []
app = typer.Typer()


@app.command()
@compute_options
def command(
    epochs: Annotated[int, typer.Option(help="Epochs.")] = 3,
    compute: ComputeOptions = DEFAULT_COMPUTE,
) -> None:
    seen.append((epochs, compute))


def test_the_options_reach_the_command_as_one_group_and_map_to_config_fields() -> None:
    seen.clear()
    args = ["--epochs", "5", "--precision", "bf16", "--tf32", "--devices", "cuda:0, cuda:1",
            "--jobs-per-device", "2", "--compile"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    epochs, compute = seen[0]
    assert epochs == 5
    assert compute.settings() == {
        "precision": "bf16", "tf32": True, "devices": ("cuda:0", "cuda:1"),
        "jobs_per_device": 2, "compile": True,
    }  # fmt: skip


def test_without_options_the_defaults_are_those_of_the_configs() -> None:
    seen.clear()
    assert CliRunner().invoke(app, []).exit_code == 0
    assert seen == [(3, ComputeOptions())]
    assert ComputeOptions().settings() == {
        "precision": "fp32", "tf32": False, "devices": (), "jobs_per_device": 1, "compile": False
    }  # fmt: skip
    help_text = CliRunner().invoke(app, ["--help"]).output
    for option in ("--precision", "--tf32", "--devices", "--jobs-per-device", "--compile"):
        assert option in help_text
    assert "--compute" not in help_text
