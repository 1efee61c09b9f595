"""The README's Python example runs as written and finds the planted valence."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def example() -> str:
    """The first ```python block after the README's "Python (notebook) API" heading."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python (notebook) API") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the README lost its Python example"
    return match.group(1)


def test_the_example_is_short() -> None:
    assert 10 <= len(example().strip().splitlines()) <= 20


@pytest.mark.slow
def test_the_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "example.py"
    script.write_text(example(), encoding="utf-8")
    scope = runpy.run_path(str(script))
    out = capsys.readouterr().out
    loso = scope["readout"].stat("r loso")
    assert loso.value > 0.5 and loso.p_value < 0.05  # planted valence is found
    assert "r loso:" in out and "CPU-minutes here" in out
    assert scope["jobs"]["zoo"] > 0 and (tmp_path / "notebook-study").is_dir()


def test_every_exported_name_resolves_and_import_vaxis_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vaxis; light = not {'torch', 'sklearn', 'matplotlib'} & set(sys.modules); "
        "[getattr(vaxis, n) for n in vaxis.__all__]; print(light, len(vaxis.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "40"]
