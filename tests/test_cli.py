"""The root command line stays quick to start: no torch, scikit-learn or matplotlib on import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from vaxis.console import fail

HEAVY = ("torch", "sklearn", "matplotlib", "transformers")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, vaxis.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"`vaxis --help` imports {loaded}: import them inside the commands"


def test_the_decoder_registry_fills_on_first_use() -> None:
    code = (
        "import sys, vaxis.decoders as d; before = 'torch' in sys.modules; "
        "print(before, sorted(d.DECODERS)[:2])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False ['axial', 'cbramod']"


def test_errors_print_brackets_literally_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Rich would read ``[ray]`` as markup and drop it from an install hint."""
    with pytest.raises(typer.Exit) as stop:
        fail("install the extra: pip install 'vaxis[ray]'")
    assert stop.value.exit_code == 2
    assert "pip install 'vaxis[ray]'" in capsys.readouterr().out
