"""The V-axis's science settings: what ``[stages.axis]`` of a study config holds.

:class:`BuildSettings` is the part of a build the study sets (the library's
:class:`~vaxis.axis.build.AxisBuildConfig` derives from it), :class:`ValidationSettings` the
zero-shot validation's; :class:`AxisSettings` is both. Light to import: the study's config
reads it, and the registries behind the validators load only when a value is checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from vaxis.core.settings import Section, allowed


class BuildSettings(Section):
    """Which direction, at which layer, from which stories."""

    #: a registered direction method (vaxis.axis.methods)
    method: str = "ridge_score"
    #: auto (chosen from the stories), penultimate (the study's), or a layer index
    layer: Literal["auto", "penultimate"] | int = "auto"
    #: "study": the study exactly (overrides method, layer, pooling and story scope)
    recipe: Literal["study"] | None = None
    #: None: the bundled stories; else a YAML/CSV file or folder
    stories: str | None = None

    @field_validator("method")
    @classmethod
    def _method(cls, name: str) -> str:
        from vaxis.axis.methods import METHODS

        return allowed(name, list(METHODS), "method")


class ValidationSettings(Section):
    """Zero-shot validation on human-rated text (:func:`vaxis.axis.validate.validate_axis`)."""

    #: corpora by name (vaxis.axis.corpora) or the user's CSV/TSV/JSONL files
    validation_data: tuple[str, ...] = ("vader-movies", "mr")
    #: texts per corpus, a seeded stratified subsample (0: all)
    max_items: int = Field(default=400, ge=0)
    #: random directions in the null
    n_null: int = Field(default=1000, ge=1)
    #: bootstrap resamples for the 95% CI
    n_boot: int = Field(default=1000, ge=1)
    seed: int = 0

    @field_validator("validation_data")
    @classmethod
    def _corpora(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from vaxis.axis.corpora import ALIASES, CORPORA

        for name in names:
            if name.lower() not in {*CORPORA, *ALIASES} and not Path(name).expanduser().exists():
                allowed = ", ".join([*CORPORA, *ALIASES])
                raise ValueError(f"unknown corpus {name!r} (allowed: {allowed}, or a file)")
        return names


class AxisSettings(ValidationSettings, BuildSettings):
    """V-axis build and zero-shot validation: the study's ``[stages.axis]``."""
