"""FLOP accounting: the counter against closed forms, and the design note's 290 GFLOP figure."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vaxis.decoders.axial import AxialTransformer
from vaxis.decoders.base import Decoder
from vaxis.decoders.cbramod import CBraMod
from vaxis.decoders.channel_transformer import ChannelTransformer
from vaxis.decoders.dgcnn import DGCNN
from vaxis.decoders.flops import axial_flops, count_flops
from vaxis.decoders.temporal import TemporalGRU


def test_a_linear_layer_costs_two_flop_per_multiply_add_and_three_times_that_to_train() -> None:
    layer = nn.Linear(20, 30)
    assert count_flops(layer, (8, 20)) == 2 * 8 * 20 * 30
    # backward: one product for the weight gradient, one for the input gradient, except at the
    # first layer, whose input (the data) needs no gradient
    model = nn.Sequential(nn.Linear(20, 20), nn.ReLU(), layer)
    first = 2 * 8 * 20 * 20
    forward = count_flops(model, (8, 20))
    assert forward == first + 2 * 8 * 20 * 30
    assert count_flops(model, (8, 20), backward=True) == 3 * forward - first


@pytest.mark.parametrize("groups", [1, 8])
def test_convolutions_count_their_groups_forward_and_backward(groups: int) -> None:
    """Depthwise (groups = channels) costs 1/8 of dense, in backward too (torch overcounts)."""
    conv = nn.Conv2d(8, 8, kernel_size=3, padding=1, groups=groups)
    forward = 2 * 2 * 8 * 10 * 10 * (8 // groups) * 9  # per output: in/groups x 3 x 3 mult-adds
    assert count_flops(conv, (2, 8, 10, 10)) == forward
    # the data needs no gradient: backward computes only the weight gradient
    assert count_flops(conv, (2, 8, 10, 10), backward=True) == 2 * forward
    stacked = nn.Sequential(nn.Conv2d(8, 8, kernel_size=1), conv)
    first = 2 * 2 * 8 * 10 * 10 * 8
    assert count_flops(stacked, (2, 8, 10, 10), backward=True) == 2 * first + 3 * forward


AXIAL_CASES = [
    {"depth": 2, "width": 32, "heads": 4},
    {"depth": 1, "width": 16, "heads": 2, "axes": ("band",), "mlp_ratio": 2},
    {"depth": 2, "width": 32, "heads": 4, "channel_tokens": 8},
    {"depth": 1, "width": 24, "heads": 3, "axes": ("channel", "band", "channel")},
]


@pytest.mark.parametrize("hyper", AXIAL_CASES)
def test_closed_form_matches_the_counter_on_meta_and_on_real_cpu_kernels(hyper: dict) -> None:
    model = AxialTransformer(32, 5, 9, **hyper)
    shape = (3, 2, 32, 5)
    closed_forward, closed_step = axial_flops(model, 3), axial_flops(model, 3, training=True)
    assert count_flops(model, shape) == closed_forward
    assert count_flops(model, shape, backward=True) == closed_step
    # real fused CPU attention kernels, mapped to the same convention
    assert count_flops(model, shape, meta=False) == closed_forward
    assert count_flops(model, shape, backward=True, meta=False) == closed_step


def test_counting_leaves_the_model_untouched() -> None:
    model = AxialTransformer(32, 5, 9, depth=1, width=16, heads=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    count_flops(model, (2, 32, 5), backward=True)
    for key, value in model.state_dict().items():
        assert value.device.type == "cpu"
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert all(p.grad is None for p in model.parameters())


def test_study_size_axial_model_costs_about_290_gflop_per_training_step() -> None:
    """docs/REFERENCE.md sec. 5.1: depth 6, width 128, 32 x 5 tokens, batch 128: ~290 GFLOP."""
    model = AxialTransformer(32, 5, 9, depth=6, width=128, heads=8)
    step = count_flops(model, (128, 10, 32, 5), backward=True)
    assert step == axial_flops(model, 128, training=True)
    # by hand: 12 transformer layers (6 channel + 6 band) of 12 d^2 weights per token
    tokens, d = 128 * 160, 128
    dense = 12 * 2 * tokens * 12 * d * d
    attention = 6 * 4 * tokens * 32 * d + 6 * 4 * tokens * 5 * d
    assert step == 3 * (dense + attention + 2 * 128 * d * 9)
    assert abs(step / 290e9 - 1) < 0.03
    assert 3 * dense / step > 0.97  # dense layers dominate; attention is ~2%


def test_token_pooling_cuts_the_cost_by_the_channel_ratio() -> None:
    full = axial_flops(AxialTransformer(32, 5, 9, depth=6, width=128), 128, training=True)
    pooled = axial_flops(
        AxialTransformer(32, 5, 9, depth=6, width=128, channel_tokens=8), 128, training=True
    )
    # 4x fewer tokens for the dense layers; channel attention also gets 4x shorter; the
    # channel mixing itself adds a little
    assert 3.9 < full / pooled < 4.2


@pytest.mark.parametrize("cls", [DGCNN, ChannelTransformer, AxialTransformer, TemporalGRU, CBraMod])
def test_every_zoo_decoder_can_be_counted(cls: type[Decoder]) -> None:
    model = cls(32, 5, 9)
    shape = (4, 32, 500) if model.input_kind == "raw" else (4, 2, 32, 5)
    forward = count_flops(model, shape)
    step = count_flops(model, shape, backward=True)
    # backward costs 1-2 x forward: 2 x where inputs need gradients, 1 x at the first layer
    assert forward > 0 and 2 * forward <= step <= 3 * forward


def test_gru_cost_grows_linearly_with_the_seconds() -> None:
    model = TemporalGRU(32, 5, 9)
    one, ten = count_flops(model, (4, 1, 32, 5)), count_flops(model, (4, 10, 32, 5))
    head = 2 * 4 * model.feature_dim * 9
    assert ten - head == pytest.approx(10 * (one - head), rel=1e-9)
