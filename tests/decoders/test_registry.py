"""Completeness: a registered decoder without a test fails the suite.

Every test module of this package that tests decoders declares the registered names it covers
in a module-level ``COVERED`` set (``test_simple.py``: linear, MLPs, SVM; ``test_zoo.py``: the
deep architectures). Adding a decoder to the registry without adding its name to a ``COVERED``
set fails here, and so does a ``COVERED`` name that nothing registers (a stale test, or a
decoder module that ``vaxis.decoders.__init__`` forgot to import).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vaxis.decoders import Decoder, build_decoder, register


def covered() -> set[str]:
    names: set[str] = set()
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        module = importlib.import_module(f"tests.decoders.{path.stem}")
        names |= set(getattr(module, "COVERED", ()))
    return names


def registered_by_the_package() -> set[str]:
    """Names registered by ``import vaxis.decoders`` alone, in a fresh interpreter (here, the
    test modules have imported decoder modules themselves)."""
    code = (
        "import json, vaxis.decoders as d; "
        "print(json.dumps(sorted(d.DECODERS) + sorted(d.SKLEARN_DECODERS)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_every_registered_decoder_has_a_test_and_every_tested_one_is_registered() -> None:
    registered, tested = registered_by_the_package(), covered()
    untested = registered - tested
    assert not untested, f"registered decoders without tests: {sorted(untested)}"
    stale = tested - registered
    assert not stale, f"tested but not imported by vaxis.decoders.__init__: {sorted(stale)}"


def test_names_are_unique_and_unknown_names_list_the_choices() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register("linear")(Decoder)
    with pytest.raises(KeyError, match="linear"):
        build_decoder("no-such-decoder", 4, 3, 2)
    assert isinstance(build_decoder("linear", 4, 3, 2), torch.nn.Module)
