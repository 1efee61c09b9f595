"""Checks every command runs at its edge, before any work: the output path it will write and
the flags that hold lists or JSON. Each refusal names the path or flag, the bad value and what
is allowed, so that nothing fails later inside a training job."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from vaxis.errors import OptionError, OutputPathError

_INT = re.compile(r"[+-]?\d+")


def check_out_dir(path: str | Path) -> Path:
    """``path`` (``~`` expanded) when a folder can be written there, else refuse naming it.

    The path may not exist yet; then its nearest existing parent must be a folder that accepts
    a new file (tried for real: permissions alone miss read-only mounts). Creates nothing.
    """
    path = Path(path).expanduser()
    if not str(path).strip():
        raise OutputPathError(path, "an empty output path", "name an output folder")
    if path.exists() and not path.is_dir():
        raise OutputPathError(path, "is a file, not a folder", "choose a folder for the output")
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(
            path, f"{ancestor} is a file, so no folder can be made in it", "choose another path"
        )
    try:
        handle, probe = tempfile.mkstemp(prefix=".vaxis-write-check-", dir=ancestor)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputPathError(
            path, f"{ancestor} is not writable ({reason})", "choose a folder you can write to"
        ) from None
    os.close(handle)
    os.unlink(probe)
    return path


def check_out_file(path: str | Path) -> Path:
    """``path`` (``~`` expanded) when a file can be written there (its folder is checked by
    :func:`check_out_dir`), else refuse naming it."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise OutputPathError(path, "is a folder, not a file", "name the output file")
    check_out_dir(path.parent)
    return path


def parse_ints(value: str, flag: str) -> tuple[int, ...]:
    """``"0,1,2"`` -> ``(0, 1, 2)``; anything but comma-separated integers is refused."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    bad = [item for item in items if not _INT.fullmatch(item)]
    if bad:
        allowed = "integers separated by commas, e.g. 0,1,2"
        raise OptionError(flag, value, f"{bad[0]!r} is not an integer", allowed)
    return tuple(int(item) for item in items)


def parse_json_object(value: str, flag: str) -> dict[str, Any]:
    """A flag holding one JSON object, e.g. ``'{"hidden": [64]}'``."""
    allowed = "a JSON object, e.g. '{\"hidden\": [64]}'"
    try:
        loaded = json.loads(value)
    except json.JSONDecodeError as error:
        problem = f"not valid JSON (at character {error.pos})"
        raise OptionError(flag, value, problem, allowed) from None
    if not isinstance(loaded, dict):
        raise OptionError(flag, value, f"a JSON {type(loaded).__name__}, not an object", allowed)
    return loaded
