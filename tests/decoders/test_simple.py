"""The simple decoders: linear (logistic), MLP, residual MLP and the FACED paper's linear SVM."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from tests.decoders.planted import planted_units
from vaxis.decoders import DECODERS, build_decoder
from vaxis.decoders.svm import SKLEARN_DECODERS, features_of
from vaxis.decoders.train import TrainConfig, evaluate, fit

SMALL: dict[str, dict[str, Any]] = {
    "linear": {},
    "mlp": {"hidden": [16, 8]},
    "resmlp": {"width": 8, "depth": 2},
}
C, B, K = 4, 3, 3


def make(name: str, seed: int = 0) -> Any:
    """A small decoder in eval mode (typed Any: tests reach into its layers)."""
    torch.manual_seed(seed)
    return build_decoder(name, C, B, K, **SMALL[name]).eval()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_forward_contract(name: str) -> None:
    """Logits are the head of the returned features; eval output is deterministic and per-sample."""
    model = make(name)
    x = torch.randn(5, 2, C, B)
    logits, features = model(x, return_features=True)
    assert logits.shape == (5, K) and features.shape == (5, model.feature_dim)
    torch.testing.assert_close(model.head(features), logits)
    torch.testing.assert_close(model(x), logits)
    # one sample alone gives the same output as inside a batch (no cross-sample leakage)
    torch.testing.assert_close(model(x[2:3]), logits[2:3])
    # same seed, same weights; another seed, other weights
    torch.testing.assert_close(make(name, seed=0)(x), logits)
    assert not torch.allclose(make(name, seed=1)(x), logits)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_seconds_are_averaged(name: str) -> None:
    """A segment and its average over seconds give the same output (these models pool time)."""
    model = make(name)
    x = torch.randn(4, 3, C, B)
    torch.testing.assert_close(model(x), model(x.mean(dim=1, keepdim=True)))


def test_linear_is_logistic_regression_on_the_averaged_features() -> None:
    model = make("linear")
    x = torch.randn(6, 2, C, B)
    w, b = model.classifier.weight, model.classifier.bias
    torch.testing.assert_close(model(x), x.mean(1).reshape(6, -1) @ w.T + b)
    assert model.feature_dim == C * B


def test_residual_blocks_with_zero_output_weights_are_the_identity() -> None:
    model = make("resmlp")
    with torch.no_grad():
        for block in model.blocks:
            block.down.weight.zero_()
            block.down.bias.zero_()
    x = torch.randn(3, 1, C, B)
    torch.testing.assert_close(model.features(x), model.norm(model.embed(x.flatten(1))))


def test_mlp_needs_a_hidden_layer() -> None:
    with pytest.raises(ValueError, match="linear"):
        build_decoder("mlp", C, B, K, hidden=[])


@pytest.mark.parametrize("name", sorted(SMALL))
def test_learns_a_planted_class_and_nothing_when_none_is_planted(name: str) -> None:
    config = TrainConfig(decoder=name, hyper=SMALL[name], epochs=15, batch_size=32, lr=1e-2,
                         warmup_epochs=1, num_threads=1)  # fmt: skip
    train, test = planted_units(seed=0), planted_units(seed=1)
    assert evaluate(fit(config, train, train).model, test)[0].balanced_accuracy > 0.9
    null_train, null_test = planted_units(separation=0, seed=2), planted_units(separation=0, seed=3)
    null = evaluate(fit(config, null_train).model, null_test)[0].balanced_accuracy
    assert null < 0.5  # chance is 1/3; 120 test samples put the 99th percentile near 0.44


def test_svm_is_standardised_linear_svc_on_averaged_features() -> None:
    svm = SKLEARN_DECODERS["svm"]()
    train, test = planted_units(seed=0), planted_units(seed=1)
    svm.fit(train.x, train.y)
    assert (svm.predict(test.x) == test.y).mean() > 0.9
    seen = features_of(svm, train.x)
    assert seen.shape == (len(train), C * B)
    np.testing.assert_allclose(seen.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(seen.std(0), 1, atol=1e-4)
    np.testing.assert_allclose(features_of(svm, test.x[:, :1].repeat(2, 1)),
                               features_of(svm, test.x[:, :1]), atol=1e-5)  # fmt: skip
    null = SKLEARN_DECODERS["svm"]().fit(planted_units(separation=0).x, train.y)
    assert (null.predict(planted_units(separation=0, seed=3).x) == test.y).mean() < 0.5


def test_simple_decoders_are_registered() -> None:
    assert set(SMALL) <= set(DECODERS)
    assert "svm" in SKLEARN_DECODERS and "svm" not in DECODERS


#: registered names this file tests; tests/decoders/test_registry.py checks completeness
COVERED = {*SMALL, "svm"}
