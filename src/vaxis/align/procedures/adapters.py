"""Parameter-efficient adapters for a frozen backbone: LoRA and IA3, as small torch wrappers.

* :class:`LoRALinear` (Hu et al. 2021): ``y = W x + b + (alpha / r) B A x`` with ``A`` (r x in)
  Kaiming-uniform as in the reference implementation and ``B`` (out x r) zero, so the wrapped
  layer computes exactly the original one until ``B`` is trained.
* :class:`IA3Linear` (Liu et al. 2022): ``y = l * (W x + b)``, one learned scaling per output
  feature, initialised to ones. The original rescales keys, values and feed-forward
  activations; here every Linear output of the backbone is rescaled (our simplification).

:func:`wrap_linears` replaces every ``nn.Linear`` of a model outside its classification head
by a wrapper and freezes everything else. Layers that torch modules use through their weights
rather than by calling them (``nn.MultiheadAttention``'s ``out_proj``) are left alone: a
wrapper there would never run.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from vaxis.align.procedures.base import freeze, is_head


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable rank-``rank`` update scaled by ``alpha / rank``."""

    def __init__(self, base: nn.Linear, rank: int = 4, alpha: float = 8.0) -> None:
        super().__init__()
        if rank < 1:
            raise ValueError(f"LoRA rank must be at least 1, got {rank}")
        self.base, self.scale = base, alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = (x @ self.lora_a.T) @ self.lora_b.T
        result: torch.Tensor = self.base(x) + self.scale * update
        return result


class IA3Linear(nn.Module):
    """A frozen ``nn.Linear`` whose outputs are rescaled feature by feature (ones at start)."""

    def __init__(self, base: nn.Linear) -> None:
        super().__init__()
        self.base = base
        self.ia3_scale = nn.Parameter(torch.ones(base.out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.base(x) * self.ia3_scale
        return result


#: adapter name -> wrapper of one Linear layer
ADAPTERS: dict[str, Callable[[nn.Linear], nn.Module]] = {"lora": LoRALinear, "ia3": IA3Linear}


def wrap_linears(model: nn.Module, wrap: Callable[[nn.Linear], nn.Module]) -> list[str]:
    """Replace (in place) every called ``nn.Linear`` outside the head by ``wrap(layer)``, then
    freeze all but the wrappers' own parameters; the names of those (the trainable) ones."""
    skip = {
        id(module.out_proj)
        for module in model.modules()
        if isinstance(module, nn.MultiheadAttention)
    }
    targets = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and not is_head(name) and id(module) not in skip
    ]
    if not targets:
        raise ValueError(f"{type(model).__name__} has no Linear layer outside its head to adapt")
    adapters = set()
    for name in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        wrapper = wrap(getattr(parent, child))
        setattr(parent, child, wrapper)
        own = (p for p, _ in wrapper.named_parameters() if not p.startswith("base."))
        adapters |= {f"{name}.{p}" for p in own}
    return freeze(model, adapters.__contains__)
