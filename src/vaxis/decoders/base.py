"""What every EEG emotion decoder is: one constructor signature, one forward contract.

Input is DE features shaped ``(batch, n_seconds, n_channels, n_bands)`` -- a segment of one or
more 1 s windows. Models that do not model time average over the seconds axis first
(:meth:`Decoder.pool_seconds`). ``forward(x, return_features=True)`` returns
``(logits, features)`` where ``features`` is the penultimate representation (what probing,
saturation analysis and alignment losses read). Raw-EEG models (CBraMod-style) take
``(batch, n_channels, n_samples)`` and declare ``input_kind = "raw"``.

A decoder is registered with :func:`register` in its own module under ``vaxis.decoders``; the
registry is how the CLI, the training engine and the completeness test find it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from vaxis.errors import DataFormatError


class Decoder(nn.Module):
    """Base class: subclasses build their layers in ``__init__`` and implement ``features``."""

    #: "de" for (batch, seconds, channels, bands) DE input, "raw" for (batch, channels, samples)
    input_kind: ClassVar[Literal["de", "raw"]] = "de"
    #: width of the penultimate representation; set by subclasses in __init__
    feature_dim: int
    #: maps the penultimate representation to class logits; built by subclasses
    classifier: nn.Module
    #: sampling rate (Hz) of the data the decoder's pretrained weights were trained on (None:
    #: no such rate); raw units are resampled to it when a run loads weights
    weights_sfreq: ClassVar[float | None] = None
    #: hyper-parameters a run with pretrained weights uses unless told otherwise
    weights_hyper: ClassVar[dict[str, object]] = {}

    def __init__(self, n_channels: int, n_bands: int, n_classes: int) -> None:
        super().__init__()
        self.n_channels = n_channels
        self.n_bands = n_bands
        self.n_classes = n_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate representation (batch, feature_dim)."""
        raise NotImplementedError

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits from the penultimate representation."""
        logits: torch.Tensor = self.classifier(features)
        return logits

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = self.features(x)
        logits = self.head(features)
        return (logits, features) if return_features else logits

    def checkpoint_activations(self, enabled: bool = True) -> None:
        """Recompute each block's activations in the backward pass instead of keeping them
        (the blocks of every ``layers`` list): memory of one block instead of all, about a
        third more compute, the same numbers (:func:`run_block`)."""
        for module in self.modules():
            layers = getattr(module, "layers", None)
            if isinstance(layers, nn.ModuleList):
                for block in layers:
                    setattr(block, "checkpointed", enabled)  # noqa: B010 (read by run_block)

    def load_pretrained(self, path: str | Path) -> LoadedWeights:
        """Load a local weights file (decoders that can start from pretrained weights)."""
        raise DataFormatError(
            path,
            f"decoder {type(self).__name__} takes no pretrained weights",
            f"drop --weights, or use one of: {', '.join(weights_decoders())}",
        )

    @classmethod
    def rate_problem(cls, hyper: dict[str, object], sfreq: float) -> str | None:
        """What is wrong with running ``hyper`` on raw data at ``sfreq`` Hz (None: nothing)."""
        return None

    @staticmethod
    def pool_seconds(x: torch.Tensor) -> torch.Tensor:
        """(batch, seconds, channels, bands) -> (batch, channels, bands) by averaging seconds."""
        return x.mean(dim=1) if x.dim() == 4 else x


@dataclass(frozen=True)
class LoadedWeights:
    """What :meth:`Decoder.load_pretrained` did: the file's layout, the model keys it left at
    their initial values (the task head) and the file's keys it dropped (another task's head,
    pre-training-only layers)."""

    layout: str
    initialised: tuple[str, ...]
    dropped: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"layout": self.layout, "initialised": list(self.initialised),
                "dropped": list(self.dropped)}  # fmt: skip


def weights_decoders() -> list[str]:
    """Registered decoders that can start from a pretrained weights file."""
    return sorted(
        name for name, cls in DECODERS.items() if cls.load_pretrained is not Decoder.load_pretrained
    )


DecoderFactory = Callable[..., Decoder]
DECODERS: dict[str, type[Decoder]] = {}


def register(name: str) -> Callable[[type[Decoder]], type[Decoder]]:
    """Class decorator adding a decoder to :data:`DECODERS` under ``name``."""

    def add(cls: type[Decoder]) -> type[Decoder]:
        if name in DECODERS:
            raise ValueError(f"decoder '{name}' is registered twice")
        DECODERS[name] = cls
        return cls

    return add


def build_decoder(
    name: str, n_channels: int, n_bands: int, n_classes: int, **hyper: object
) -> Decoder:
    """Instantiate a registered decoder; unknown names list the choices."""
    if name not in DECODERS:
        raise KeyError(f"unknown decoder '{name}'; choose one of: {', '.join(sorted(DECODERS))}")
    return DECODERS[name](n_channels, n_bands, n_classes, **hyper)


def run_block(block: nn.Module, x: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    """``block(x, **kwargs)``; while training with checkpointing on
    (:meth:`Decoder.checkpoint_activations`), its activations are recomputed in backward (the
    random state is replayed, so dropout draws the same masks and the gradients are equal)."""
    if getattr(block, "checkpointed", False) and block.training and torch.is_grad_enabled():
        out: torch.Tensor = checkpoint(partial(block, **kwargs), x, use_reentrant=False)
        return out
    result: torch.Tensor = block(x, **kwargs)
    return result


#: Modules whose import registers the built-in decoders (each imports this module, which is
#: complete by then). A new decoder's module is added here.
BUILTIN_MODULES = (
    "axial",
    "cbramod",
    "cbramod_de",
    "channel_transformer",
    "dgcnn",
    "linear",
    "mlp",
    "temporal",
)
for _module in BUILTIN_MODULES:
    importlib.import_module(f"vaxis.decoders.{_module}")
