"""Which hyper-parameters a decoder takes: its constructor's keywords, read from the registry.

Checked where settings enter (``vaxis train``/``align``/``ensemble`` flags, their configs, the
study config) so that a typo is refused before any job starts, not inside one as a TypeError.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from vaxis.errors import OptionError

#: constructor arguments that the training engine fills, not the user
_FILLED = frozenset({"self", "n_channels", "n_bands", "n_classes", "seed"})


def hyper_names(decoder: str) -> tuple[str, ...] | None:
    """The keyword hyper-parameters of ``decoder`` (None: unknown decoder, or it takes any)."""
    from vaxis.decoders import DECODERS, SKLEARN_DECODERS

    if decoder in DECODERS:
        function = DECODERS[decoder].__init__
    elif decoder in SKLEARN_DECODERS:
        function = SKLEARN_DECODERS[decoder]
    else:
        return None
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return tuple(p.name for p in parameters if p.name not in _FILLED)


def hyper_problem(decoder: str, hyper: Mapping[str, object]) -> str | None:
    """What is wrong with ``hyper`` for ``decoder`` (None: nothing), naming what is allowed."""
    names = hyper_names(decoder)
    unknown = [key for key in hyper if names is not None and key not in names]
    if not unknown:
        return None
    allowed = ", ".join(names or ()) or "none"
    listed = ", ".join(repr(key) for key in unknown)
    return f"unknown hyper-parameter(s) {listed} of decoder {decoder!r} (allowed: {allowed})"


def check_hyper(decoder: str, hyper: Mapping[str, object], flag: str, shown: str) -> None:
    """Refuse hyper-parameters ``decoder`` does not take, naming ``flag`` and its value."""
    if problem := hyper_problem(decoder, hyper):
        raise OptionError(flag, shown, problem, None)
