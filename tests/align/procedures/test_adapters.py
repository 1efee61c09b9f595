"""LoRA and IA3 wrappers: exact at initialisation, closed-form updates, only adapters train."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vaxis.align.procedures.adapters import IA3Linear, LoRALinear, wrap_linears
from vaxis.decoders import build_decoder
from vaxis.decoders.base import Decoder

WRAPPERS = {"lora": LoRALinear, "ia3": IA3Linear}


def decoder(name: str, seed: int = 0) -> Decoder:
    torch.manual_seed(seed)
    hyper: dict[str, object] = {"hidden": [16, 8]} if name == "mlp" else {"width": 8, "depth": 2}
    return build_decoder(name, 6, 5, 4, dropout=0.0, **hyper).eval()


@pytest.mark.parametrize("name", ["mlp", "resmlp"])
@pytest.mark.parametrize("kind", ["lora", "ia3"])
def test_wrapped_model_equals_the_base_model_at_initialisation(name: str, kind: str) -> None:
    base, wrapped = decoder(name), decoder(name)
    x = torch.randn(20, 2, 6, 5)
    trainable = wrap_linears(wrapped, WRAPPERS[kind])
    linears = [n for n, m in base.named_modules() if isinstance(m, nn.Linear)]
    layers = [n for n in linears if not n.startswith("classifier")]
    own = {"lora": ("lora_a", "lora_b"), "ia3": ("ia3_scale",)}[kind]
    assert len(layers) >= 2 and trainable == [f"{n}.{p}" for n in layers for p in own]
    logits, features = wrapped(x, return_features=True)
    expected_logits, expected_features = base(x, return_features=True)
    assert torch.equal(logits, expected_logits) and torch.equal(features, expected_features)


@pytest.mark.parametrize("kind", ["lora", "ia3"])
def test_only_adapter_parameters_get_gradients(kind: str) -> None:
    model = decoder("resmlp")
    expected = set(wrap_linears(model, WRAPPERS[kind]))
    model(torch.randn(10, 1, 6, 5)).logsumexp(1).sum().backward()
    assert len(expected) >= 2
    requires = {n for n, p in model.named_parameters() if p.requires_grad}
    graded = {n for n, p in model.named_parameters() if p.grad is not None}
    assert requires == expected
    # LoRA's B starts at zero, so A's gradient is zero but present; B's is not zero
    assert graded == expected
    assert all(p.grad is None for n, p in model.named_parameters() if n not in expected)


def test_lora_update_is_scaled_low_rank_product() -> None:
    torch.manual_seed(1)
    layer = LoRALinear(nn.Linear(7, 5), rank=4, alpha=8.0)
    assert layer.lora_a.shape == (4, 7) and layer.lora_b.shape == (5, 4)
    assert torch.count_nonzero(layer.lora_b) == 0 and torch.count_nonzero(layer.lora_a) > 0
    with torch.no_grad():
        layer.lora_b.normal_()
    x = torch.randn(3, 7)
    delta = 2.0 * layer.lora_b @ layer.lora_a  # alpha / rank = 2
    expected = x @ (layer.base.weight + delta).T + layer.base.bias
    torch.testing.assert_close(layer(x), expected)


def test_ia3_scales_each_output_feature() -> None:
    layer = IA3Linear(nn.Linear(4, 3))
    assert torch.equal(layer.ia3_scale, torch.ones(3))
    with torch.no_grad():
        layer.ia3_scale.copy_(torch.tensor([2.0, 0.0, -1.0]))
    x = torch.randn(6, 4)
    torch.testing.assert_close(layer(x), layer.base(x) * torch.tensor([2.0, 0.0, -1.0]))


def test_models_without_a_backbone_linear_are_refused() -> None:
    with pytest.raises(ValueError, match="no Linear layer outside its head"):
        wrap_linears(build_decoder("linear", 6, 5, 4), LoRALinear)


def test_attention_output_projections_are_left_alone() -> None:
    class Toy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.fc = nn.Linear(8, 8)
            self.classifier = nn.Linear(8, 3)

    toy = Toy()
    assert wrap_linears(toy, IA3Linear) == ["fc.ia3_scale"]
    assert type(toy.attn.out_proj) is not IA3Linear and isinstance(toy.fc, IA3Linear)
    assert not toy.attn.in_proj_weight.requires_grad and not toy.classifier.weight.requires_grad
