"""Exceptions that tell the user which file is wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError


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


class NonFiniteError(DataFormatError):
    """EEG holds NaN/Inf and the NaN policy is ``raise`` (every command offers the others)."""


class OutputPathError(DataFormatError):
    """A command's output path is not a folder it can write (refused before any work)."""


class OutOfMemory(VaxisError):
    """A run or an extraction did not fit in its device's memory; the message says what to
    change."""


def is_out_of_memory(error: BaseException) -> bool:
    """torch's OOM error, or a RuntimeError saying "out of memory" (cuDNN, older torch)."""
    import sys

    torch = sys.modules.get("torch")  # no torch imported: no torch error to recognise
    if torch is not None and isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


class OptionError(VaxisError):
    """A command-line flag or config value that cannot be read; names it, the bad value and
    what is allowed."""

    def __init__(self, flag: str, value: object, problem: str, allowed: str | None) -> None:
        self.flag, self.value = flag, value
        tail = "" if allowed is None else f" (allowed: {allowed})"  # None: problem names it
        super().__init__(f"{flag} {value!r}: {problem}{tail}")


# ------------------------------------------------------------------ pydantic errors, in words
_KINDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "dict": "a table of settings",
    "list": "a list",
    "tuple": "a list",
    "path": "a path",
}
_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _key(loc: tuple[Any, ...]) -> str:
    """``("stages", "zoo", "seeds", 0)`` -> ``stages.zoo.seeds[0]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{part}"
    return text or "settings"


def _holder(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings class that holds the last key of ``loc`` (None when not a model)."""
    from pydantic import BaseModel

    for name in loc[:-1]:
        field = None if model is None else model.model_fields.get(str(name))
        annotation = None if field is None else field.annotation
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation if is_model else None  # type: ignore[assignment]
    return model


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(item: Mapping[str, Any], model: type[BaseModel] | None) -> str:
    kind, ctx, value = str(item["type"]), dict(item.get("ctx") or {}), item.get("input")
    if kind == "extra_forbidden":
        holder = _holder(model, tuple(item["loc"]))
        return "unknown key" + (f" (allowed: {', '.join(holder.model_fields)})" if holder else "")
    if kind == "missing":
        return "missing (required)"
    if kind in ("value_error", "assertion_error"):
        return str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "literal_error":
        allowed = str(ctx.get("expected", "")).replace(" or ", ", ")
        return f"{_shown(value)} is not allowed (allowed: {allowed})"
    if bounds := [f"{_BOUNDS[k]} {ctx[k]}" for k in _BOUNDS if k in ctx]:
        return f"{_shown(value)} is not allowed (allowed: {' and '.join(bounds)})"
    if kind in ("too_short", "too_long"):
        size = ctx.get("min_length" if kind == "too_short" else "max_length")
        limit = "at least" if kind == "too_short" else "at most"
        return f"{_shown(value)} is {kind.replace('_', ' ')} (allowed: {limit} {size} item(s))"
    if (base := kind.split("_")[0]) in _KINDS:
        return f"{_shown(value)} is not allowed (allowed: {_KINDS[base]})"
    return f"{_shown(value)}: {item['msg']}"


def describe_validation(error: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """A pydantic error as one ``key: problem (allowed: ...)`` line per problem, without
    pydantic's own wording; ``model`` (the validated class) lets an unknown key list the keys
    allowed beside it."""
    return [f"{_key(tuple(item['loc']))}: {_problem(item, model)}" for item in error.errors()]
