"""Exceptions that tell the user which file is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path


class VaxisError(Exception):
    """Base class for every error vaxis raises on purpose."""


class DataFormatError(VaxisError):
    """A file or folder is not in the format vaxis expects."""

    def __init__(self, path: str | Path | None, problem: str, fix: str | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        self.fix = fix
        where = f"{self.path}: " if self.path is not None else ""
        message = f"{where}{problem}"
        if fix:
            message += f"\n  fix: {fix}"
        super().__init__(message)


class UnsafePickleError(DataFormatError):
    """A pickle asked to load something other than arrays and plain containers."""
