"""FLOP accounting for decoders: a counter for any model and a closed form for the axial model.

Convention: one multiply-add = 2 FLOP; only matrix products count (linear layers, attention
scores and weighted sums, convolutions); normalisation, activations and softmax are ignored.
A training step is forward plus backward; backward repeats each product once per operand that
needs a gradient, so 2 x forward (the usual "6 N per token" rule) except where the data enters
the first layer (1 x). Fused attention kernels recompute the scores in backward; that is
hardware work, not model work, and is not counted.

:func:`count_flops` uses :class:`torch.utils.flop_counter.FlopCounterMode` with three
corrections (``CORRECTIONS``): the CPU flash-attention kernel, attention recomputation, and
grouped convolutions, whose backward torch counts as dense. By default it runs on a
``meta``-device copy of the model: no memory, no arithmetic, so even the study-size model is
counted instantly.
:func:`axial_flops` is the closed form for :class:`~vaxis.decoders.axial.AxialTransformer`; the
tests check the two agree exactly.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count, sdpa_flop_count

from vaxis.decoders.axial import AxialTransformer

aten = torch.ops.aten


Shape = tuple[int, ...]


def _attention(q: Shape, k: Shape, v: Shape, *args: object, **kwargs: object) -> int:
    return int(sdpa_flop_count(q, k, v))


def _attention_backward(grad: Shape, q: Shape, k: Shape, v: Shape, *a: object, **kw: object) -> int:
    """2 x forward: the kernels' recomputation of the scores is not model work."""
    return 2 * int(sdpa_flop_count(q, k, v))


def _convolution_backward(
    grad: Shape,
    x: Shape,
    w: Shape,
    bias: object,
    stride: object,
    padding: object,
    dilation: object,
    transposed: bool,
    output_padding: object,
    groups: int,
    output_mask: list[bool],
    **kwargs: object,
) -> int:
    """One forward's cost per requested gradient (input, weight); right for grouped kernels too."""
    per_gradient = int(conv_flop_count(list(x), list(w), list(grad), transposed))
    return per_gradient * (int(output_mask[0]) + int(output_mask[1]))


#: corrections to torch's counter: it does not know the CPU flash-attention kernel, counts the
#: kernels' recomputation in attention backward, and counts the backward of a grouped
#: (depthwise) convolution as if it were dense (``groups`` times too much)
CORRECTIONS = {
    aten.convolution_backward: _convolution_backward,
    aten._scaled_dot_product_flash_attention_for_cpu: _attention,
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _attention_backward,
    aten._scaled_dot_product_flash_attention_backward: _attention_backward,
    aten._scaled_dot_product_efficient_attention_backward: _attention_backward,
    aten._scaled_dot_product_cudnn_attention_backward: _attention_backward,
}


def count_flops(
    model: nn.Module, input_shape: tuple[int, ...], backward: bool = False, meta: bool = True
) -> int:
    """FLOP of one forward (and backward, if asked) pass of ``model`` on input of ``input_shape``.

    ``meta=True`` counts on a meta-device copy (instant, the model is untouched); ``meta=False``
    runs the model itself on CPU with random input (real kernels, including fused attention).
    """
    if meta:
        model = copy.deepcopy(model).to("meta")
    device = "meta" if meta else next(model.parameters()).device
    x = torch.randn(input_shape, device=device)
    with FlopCounterMode(display=False, custom_mapping=CORRECTIONS) as counter:
        out = model(x)
        if backward:
            out.sum().backward()
    return int(counter.get_total_flops())


def axial_flops(model: AxialTransformer, batch: int, training: bool = False) -> int:
    """Closed-form FLOP of a forward pass (x 3 for a training step) of an axial transformer."""
    d, ratio = model.width, model.mlp_ratio
    channels = model.n_channels if model.channel_tokens is None else model.channel_tokens
    tokens = batch * channels * model.n_bands
    per_layer_linear = 2 * tokens * (4 * d * d + 2 * ratio * d * d)
    sequence = {"channel": channels, "band": model.n_bands}
    # scores Q K^T and weighted sum A V: 2 products of length x head_dim per query, all heads
    attention = sum(2 * 2 * tokens * sequence[axis] * d for axis in model.layer_axes)
    mix = 0 if model.channel_tokens is None else 2 * tokens * model.n_channels * d
    head = 2 * batch * d * model.n_classes
    forward = len(model.layer_axes) * per_layer_linear + attention + mix + head
    return 3 * forward if training else forward
