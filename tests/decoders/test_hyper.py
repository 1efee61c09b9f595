"""A decoder's hyper-parameters are its constructor's keywords: typos are refused by name."""

from __future__ import annotations

import inspect

from vaxis.decoders import DECODERS, SKLEARN_DECODERS, build_decoder
from vaxis.decoders.hyper import hyper_names, hyper_problem


def test_every_registered_decoder_lists_its_keywords_and_builds_with_them() -> None:
    for name, cls in DECODERS.items():
        names = hyper_names(name)
        assert names is not None and "n_classes" not in names
        parameters = inspect.signature(cls.__init__).parameters
        defaults = {n: parameters[n].default for n in names}
        assert all(value is not inspect.Parameter.empty for value in defaults.values()), name
    assert hyper_names("svm") == ("C", "max_iter") and set(SKLEARN_DECODERS) >= {"svm"}
    assert hyper_names("no-such") is None
    build_decoder("mlp", 4, 5, 9, hidden=[8])  # a known keyword builds


def test_only_unknown_keys_are_a_problem_and_the_message_lists_the_allowed() -> None:
    assert hyper_problem("mlp", {"hidden": [8], "dropout": 0.1}) is None
    problem = hyper_problem("mlp", {"hidden": [8], "hiden": [8]})
    assert problem == (
        "unknown hyper-parameter(s) 'hiden' of decoder 'mlp' (allowed: hidden, dropout)"
    )
    assert hyper_problem("linear", {"x": 1}) == (
        "unknown hyper-parameter(s) 'x' of decoder 'linear' (allowed: none)"
    )
