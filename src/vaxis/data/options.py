"""Command-line options of the data layer that every command reading EEG shares."""

from __future__ import annotations

from typing import Annotated

import typer

from vaxis.data.validation import NAN_POLICIES, NanPolicy
from vaxis.errors import OptionError

#: every command that reads a cohort offers the same choice
NanOption = Annotated[
    str,
    typer.Option(
        "--nan-policy",
        help="What to do with NaN/Inf in the EEG: raise (default; reports count and location), "
        "drop (drop affected samples) or interpolate (fill along time).",
    ),
]


def parse_nan_policy(value: str) -> NanPolicy:
    """The ``--nan-policy`` value, refused unless it is one of :data:`NAN_POLICIES`."""
    for policy in NAN_POLICIES:
        if value == policy:
            return policy
    raise OptionError("--nan-policy", value, "unknown policy", ", ".join(NAN_POLICIES))
