"""Test helper: fingerprints of a folder's files, to assert that loaders never modify them."""

from __future__ import annotations

import hashlib
from pathlib import Path


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, keyed by path."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }
