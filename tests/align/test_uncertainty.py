"""Uncertainty-weighted multi-task: engine CE + aux equals Kendall's objective; it trains."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from tests.align.interventions_fixtures import tiny_batch, tiny_decoder, tiny_targets
from tests.decoders.planted import planted_units
from vaxis.align.interventions import AlignmentTargets, build_intervention
from vaxis.align.interventions.uncertainty import UncertaintyWeighted
from vaxis.decoders import build_decoder
from vaxis.decoders.train import Batch, TrainConfig, fit

#: two samples of classes 0 and 1: CE = (log 2 + log 4) / 2 = 1.5 log 2
LOGITS = torch.tensor([[0.0, 0.0, -1e4, -1e4], [math.log(3.0), 0.0, -1e4, -1e4]])
BATCH = Batch(x=torch.zeros(2), y=torch.tensor([0, 1]), index=torch.arange(2), epoch=1)
#: the head reads feature 0; class positions -1.2 and -0.5: errors 2.0 and 1.0, MSE = 2.5
FEATURES = torch.zeros(2, 8)
FEATURES[:, 0] = torch.tensor([0.8, 0.5])
CE, MSE = 1.5 * math.log(2.0), 2.5


def hand_loss(weight: float = 1.0, s_c: float = 0.0, s_v: float = 0.0) -> UncertaintyWeighted:
    targets = tiny_targets(stimulus_positions=None, sample_stimulus=None)
    loss = UncertaintyWeighted(targets, weight, tiny_decoder())
    with torch.no_grad():
        loss.head.weight.copy_(torch.tensor([[1.0] + [0.0] * 7]))
        loss.head.bias.zero_()
        loss.log_var_c.fill_(s_c)
        loss.log_var_v.fill_(s_v)
    return loss


def test_engine_ce_plus_aux_is_the_closed_form_objective() -> None:
    assert F.cross_entropy(LOGITS, BATCH.y).item() == pytest.approx(CE, rel=1e-6)
    s_c, s_v = math.log(2.0), math.log(5.0)
    loss = hand_loss(s_c=s_c, s_v=s_v)
    total = F.cross_entropy(LOGITS, BATCH.y) + loss(LOGITS, FEATURES, BATCH)
    expected = CE / 2 + s_c + 0.5 * MSE / 5 + 0.5 * s_v
    assert total.item() == pytest.approx(expected, rel=1e-6)
    # at the start (s = 0) the aux term is 0.5 MSE; a weight w scales the difference from CE
    assert hand_loss()(LOGITS, FEATURES, BATCH).item() == pytest.approx(0.5 * MSE, rel=1e-6)
    half = hand_loss(weight=0.5, s_c=s_c, s_v=s_v)(LOGITS, FEATURES, BATCH)
    assert half.item() == pytest.approx(0.5 * (expected - CE), rel=1e-6)


def test_log_variances_are_stationary_at_the_closed_form_optimum() -> None:
    loss = hand_loss(s_c=math.log(CE), s_v=math.log(MSE))
    loss(LOGITS, FEATURES, BATCH).backward()
    assert loss.log_var_v.grad is not None and loss.log_var_c.grad is not None
    assert loss.log_var_v.grad.item() == pytest.approx(0.0, abs=1e-6)
    assert loss.log_var_c.grad.item() == pytest.approx(0.0, abs=1e-6)
    start = hand_loss()  # s = 0: d/ds_v = 0.5 (1 - MSE), d/ds_c = 1 - CE
    start(LOGITS, FEATURES, BATCH).backward()
    assert start.log_var_v.grad is not None and start.log_var_c.grad is not None
    assert start.log_var_v.grad.item() == pytest.approx(0.5 * (1 - MSE), rel=1e-5)
    assert start.log_var_c.grad.item() == pytest.approx(1 - CE, rel=1e-5)


def test_permuted_control_changes_the_loss() -> None:
    targets, model, batch = tiny_targets(), tiny_decoder(), tiny_batch()
    logits, features = model(batch.x, return_features=True)
    torch.manual_seed(1)
    loss = build_intervention("uncertainty-weighted", None, targets, model)
    torch.manual_seed(1)
    control = build_intervention("uncertainty-weighted", None, targets, model, "permuted", 3)
    assert isinstance(loss, UncertaintyWeighted) and isinstance(control, UncertaintyWeighted)
    assert not torch.isclose(loss(logits, features, batch), control(logits, features, batch))
    # the classification part is the same: only MSE_V sees the (permuted) positions
    assert not torch.isclose(
        loss.readout_mse(features, batch), control.readout_mse(features, batch)
    )


def test_fit_learns_the_head_and_moves_s_v_towards_log_mse() -> None:
    units = planted_units(n_per_class=40, n_classes=3, shape=(2, 4, 3))
    positions = np.array([-1.0, 0.3, 1.0])
    targets = AlignmentTargets(
        class_positions=positions,
        stimulus_positions=positions,
        sample_stimulus=units.stimulus,
    )
    torch.manual_seed(0)
    model = build_decoder("mlp", 4, 3, 3, hidden=[16])
    aux = build_intervention("uncertainty-weighted", None, targets, model)
    assert isinstance(aux, UncertaintyWeighted)
    x, y = torch.as_tensor(units.x), torch.as_tensor(units.y)
    batch = Batch(x=x, y=y, index=torch.arange(len(units)), epoch=0)

    def head_mse() -> float:
        model.eval()
        with torch.no_grad():
            return float(aux.readout_mse(model.features(x), batch))

    before = head_mse()
    config = TrainConfig(
        decoder="mlp", hyper={"hidden": [16]}, epochs=3, batch_size=32, lr=1e-2,
        warmup_epochs=0, num_threads=1,
    )  # fmt: skip
    fit(config, units, model=model, extra_loss=aux)
    after = head_mse()
    assert after < 0.5 * before, (before, after)
    s_v = aux.log_var_v.item()
    assert s_v < 0 and abs(s_v - math.log(after)) < abs(0.0 - math.log(after))
