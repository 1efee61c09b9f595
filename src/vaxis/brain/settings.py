"""The read-out's science settings as ``[stages.brain]`` of a study config holds them.

Light on purpose (no numpy): the study's config imports it.
:class:`vaxis.brain.mapping.ReadoutConfig` derives from it (plus the settings the study keeps
at their defaults) and :class:`vaxis.brain.stage.BrainConfig` adds the paths.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vaxis.core.settings import Section


class BrainSettings(Section):
    """EEG read-out of the V-axis (vaxis.brain.mapping.ReadoutConfig)."""

    model: Literal["ridge", "pls"] = "ridge"
    #: permutations of the positions per null
    permutations: int = Field(default=1000, ge=0)
    #: random-direction draws (the positions' null of "any direction would do")
    random_directions: int = Field(default=1000, ge=0)
    #: bootstrap resamples of subjects (the leave-one-stimulus-out r's interval)
    bootstrap: int = Field(default=1000, ge=0)
    subject_folds: int = Field(default=5, ge=2)
    seed: int = 0
