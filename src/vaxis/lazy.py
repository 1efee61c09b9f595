"""Lazy re-exports for package ``__init__`` files: ``vaxis.probe.run`` and the like resolve on
first use, so importing a package (as the CLI does for ``--help``) loads no torch,
scikit-learn or matplotlib."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[attr]`` (a module of ``package``) on use."""

    def get(attr: str) -> Any:
        if attr not in names:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        return getattr(importlib.import_module(f"{package}.{names[attr]}"), attr)

    return get
