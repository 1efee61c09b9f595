"""What every settings section has in common: frozen, unknown keys refused, one wording for
a name that is not allowed (``key: problem (allowed: ...)``), and "none" for unset numbers.

A stage's settings class (its science: what ``[stages.<name>]`` of a study config holds)
derives from :class:`Section`; the stage's ``Config`` adds the paths the study fills in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Section(BaseModel):
    """A frozen settings section that refuses unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def allowed(value: str, names: list[str], what: str) -> str:
    """``value`` when it is one of ``names``; else an error listing them."""
    if value not in names:
        raise ValueError(f"unknown {what} {value!r} (allowed: {', '.join(sorted(names))})")
    return value


def allowed_names(values: tuple[str, ...], names: list[str], what: str) -> tuple[str, ...]:
    """At least one of the allowed ``names``, no repeats (an empty list would run nothing)."""
    if not values or len(set(values)) != len(values):
        listed = ", ".join(sorted(names))
        raise ValueError(
            f"{list(values)} is not allowed (allowed: one or more {what}s of {listed})"
        )
    return tuple(allowed(value, names, what) for value in values)


def _none(value: Any) -> Any:
    """The string "none" read as None: TOML has no null, and these keys' default is not None."""
    return None if isinstance(value, str) and value.lower() == "none" else value


#: a key whose default is a number but that may be unset ("none" in TOML)
Unsettable = BeforeValidator(_none)


def path_setting(value: str, key: str) -> str:
    """A path setting with ``~`` expanded; an empty one would scatter files in the current
    folder, so it is refused."""
    if not value.strip():
        raise ValueError(f"an empty {key} is not allowed (allowed: a folder, e.g. {key} = 'study')")
    return str(Path(value).expanduser())
