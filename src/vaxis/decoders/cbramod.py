"""CBraMod-style criss-cross transformer over raw 1 s patches.

Architecture. Raw EEG ``(batch, channels, samples)`` (microvolts, times ``input_scale``) is cut
into patches of ``patch_size`` samples per channel. A patch embedding adds a time-domain branch
(three 1-D convolutions with 25 filters, group norm and GELU, resampled to ``width / 25`` steps)
and a spectral branch (``|rfft|`` of the patch through a linear layer), then an asymmetric
conditional positional encoding (a depthwise 19 x 7 convolution over the channel x patch grid).
Each of ``depth`` pre-norm criss-cross layers splits the width in two halves: the first attends
across channels within a patch (spatial), the second across patches within a channel (temporal),
each with ``heads / 2`` heads, in parallel; the halves are concatenated and followed by a GELU
MLP of ``feedforward`` units. By default the penultimate representation is the mean over all
channel x patch tokens (``width`` values) and the head is one linear layer (``head`` below).

Hyper-parameters: ``patch_size`` (250 = 1 s at FACED's 250 Hz; it must equal the data's
sampling rate unless ``any_patch_rate``), ``depth`` (12), ``width`` (200, a multiple of 25),
``heads`` (8, even), ``feedforward`` (800), ``dropout`` (0.1), ``input_scale`` (0.01:
microvolts to the 100 uV units CBraMod was pre-trained on), ``head``: the read-out of the
official fine-tuning code - ``avgpool`` (default: mean over tokens, one linear layer),
``all_patch_reps`` (all C x S x width token values flattened, then Linear to S x width, ELU,
Linear to width, ELU, Linear to classes; what the CBraMod maintainers say their FACED numbers
need), ``all_patch_reps_twolayer`` (flattened, Linear to width, ELU, Linear to classes) or
``all_patch_reps_onelayer`` (flattened, one Linear). The flattened heads tie the model to one
segment length. For FACED's 32 channels x 10 patches x 200 with 9 classes the heads have
1,809 (avgpool), 128,404,009 (all_patch_reps), 12,802,009 (two-layer) and 576,009 (one-layer)
parameters.

Weights start random. :meth:`CBraMod.load_pretrained` loads a local state dict: one saved from
this class, the encoder of the official release (``pretrained_weights.pth``, whose parameter
names this module keeps; its pre-training-only ``proj_out`` and ``mask_encoding`` are dropped
and the task head keeps its initial values), or a checkpoint of the official fine-tuning code
(``backbone.`` keys onto the encoder; its ``classifier.N`` head, trained for another task, is
dropped and reported). Nothing is ever downloaded. The official weights were trained on 200 Hz
data (:attr:`CBraMod.weights_sfreq`): they need ``patch_size=200`` and the default sizes above;
a run that loads them resamples raw units to 200 Hz (:mod:`vaxis.decoders.units`).

Reference: Wang et al. 2025, "CBraMod: a criss-cross brain foundation model for EEG decoding",
ICLR 2025 (arXiv:2412.07236).

Differences from the original: the time-domain branch is average-pooled to ``width / 25`` steps
so any patch size works; the default read-out is mean pooling plus one linear layer (the
flattened heads are options); default PyTorch initialisation.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import ClassVar, Literal

import torch
from torch import nn
from torch.nn import functional as F

from vaxis.decoders.base import Decoder, LoadedWeights, register, run_block
from vaxis.errors import DataFormatError

#: keys of the official pre-training checkpoint that a decoder does not use
PRETRAINING_ONLY = ("proj_out.", "patch_embedding.mask_encoding")
#: keys a weights file may lack: the task head is trained per dataset
HEAD_PREFIXES = ("classifier.", "readout.")
#: prefixes of a checkpoint saved by the official fine-tuning code (encoder, task head)
BACKBONE, FINETUNED_HEAD = "backbone.", "classifier."
OFFICIAL_SIZES = "patch_size=200, depth=12, width=200, heads=8, feedforward=800"
DEFAULT_PATCH = 250
Head = Literal["avgpool", "all_patch_reps", "all_patch_reps_onelayer", "all_patch_reps_twolayer"]


class PatchEmbedding(nn.Module):
    """(batch, channels, patches, patch_size) -> (batch, channels, patches, width)."""

    def __init__(self, patch_size: int, width: int, dropout: float) -> None:
        super().__init__()
        self.width = width
        self.proj_in = nn.Sequential(
            nn.Conv2d(1, 25, kernel_size=(1, 49), stride=(1, 25), padding=(0, 24)),
            nn.GroupNorm(5, 25),
            nn.GELU(),
            nn.Conv2d(25, 25, kernel_size=(1, 3), padding=(0, 1)),
            nn.GroupNorm(5, 25),
            nn.GELU(),
            nn.Conv2d(25, 25, kernel_size=(1, 3), padding=(0, 1)),
            nn.GroupNorm(5, 25),
            nn.GELU(),
        )
        self.resample = nn.AdaptiveAvgPool2d((None, width // 25))
        self.spectral_proj = nn.Sequential(
            nn.Linear(patch_size // 2 + 1, width), nn.Dropout(dropout)
        )
        self.positional_encoding = nn.Sequential(
            nn.Conv2d(width, width, kernel_size=(19, 7), padding=(9, 3), groups=width)
        )

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        batch, n_channels, n_patches, patch_size = patches.shape
        temporal = self.resample(self.proj_in(patches.reshape(batch, 1, -1, patch_size)))
        temporal = temporal.transpose(1, 2).reshape(batch, n_channels, n_patches, self.width)
        spectral = torch.fft.rfft(patches, dim=-1, norm="forward").abs()
        emb = temporal + self.spectral_proj(spectral)
        return emb + self.positional_encoding(emb.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class CrissCrossLayer(nn.Module):
    """Pre-norm layer: spatial and temporal attention on the two halves of the width, then MLP."""

    def __init__(self, width: int, heads: int, feedforward: int, dropout: float) -> None:
        super().__init__()
        half = width // 2
        self.self_attn_s = nn.MultiheadAttention(half, heads // 2, dropout, batch_first=True)
        self.self_attn_t = nn.MultiheadAttention(half, heads // 2, dropout, batch_first=True)
        self.linear1 = nn.Linear(width, feedforward)
        self.linear2 = nn.Linear(feedforward, width)
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.criss_cross(self.norm1(x)))
        mlp = self.linear2(self.dropout(F.gelu(self.linear1(self.norm2(x)))))
        return x + self.dropout(mlp)

    def criss_cross(self, h: torch.Tensor) -> torch.Tensor:
        batch, n_channels, n_patches, width = h.shape
        half = width // 2
        s = h[..., :half].transpose(1, 2).reshape(batch * n_patches, n_channels, half)
        t = h[..., half:].reshape(batch * n_channels, n_patches, half)
        s = self.self_attn_s(s, s, s, need_weights=False)[0]
        t = self.self_attn_t(t, t, t, need_weights=False)[0]
        s = s.reshape(batch, n_patches, n_channels, half).transpose(1, 2)
        return torch.cat((s, t.reshape(batch, n_channels, n_patches, half)), dim=-1)


class CrissCrossEncoder(nn.Module):
    """A stack of criss-cross layers (named ``encoder.layers.<i>`` as in the official weights)."""

    def __init__(self, depth: int, width: int, heads: int, feedforward: int, dropout: float):
        super().__init__()
        self.layers = nn.ModuleList(
            CrissCrossLayer(width, heads, feedforward, dropout) for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = run_block(layer, x)
        return x


class TokenMean(nn.Module):
    """(batch, channels, patches, width) -> (batch, width): the mean over all tokens."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens.mean(dim=(1, 2))


def readout(
    head: Head, n_channels: int, n_patches: int, width: int, dropout: float
) -> tuple[nn.Module, int]:
    """The layers from the token grid to the penultimate representation, and its width."""
    flat = n_channels * n_patches * width
    if head == "avgpool":
        return TokenMean(), width
    if head == "all_patch_reps_onelayer":
        return nn.Flatten(), flat
    if head == "all_patch_reps_twolayer":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(flat, width), nn.ELU(), nn.Dropout(dropout)
        ), width
    if head == "all_patch_reps":
        hidden = n_patches * width
        layers = (nn.Flatten(), nn.Linear(flat, hidden), nn.ELU(), nn.Dropout(dropout),
                  nn.Linear(hidden, width), nn.ELU(), nn.Dropout(dropout))  # fmt: skip
        return nn.Sequential(*layers), width
    raise ValueError(f"unknown head {head!r}; choose one of {', '.join(Head.__args__)}")


@register("cbramod")
class CBraMod(Decoder):
    """Criss-cross transformer over (channel, 1 s patch) tokens of raw EEG; ``n_bands`` unused."""

    input_kind = "raw"
    weights_sfreq = 200.0
    weights_hyper: ClassVar[dict[str, object]] = {"patch_size": 200}

    def __init__(
        self,
        n_channels: int,
        n_bands: int,
        n_classes: int,
        patch_size: int = DEFAULT_PATCH,
        depth: int = 12,
        width: int = 200,
        heads: int = 8,
        feedforward: int = 800,
        dropout: float = 0.1,
        input_scale: float = 0.01,
        head: Head = "avgpool",
        any_patch_rate: bool = False,
    ) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        if width % 25 or heads % 2 or (width // 2) % (heads // 2):
            raise ValueError(
                f"need width a multiple of 25, heads even and width/2 divisible by heads/2; "
                f"got width={width}, heads={heads}"
            )
        if head != "avgpool" and n_bands % patch_size:
            raise ValueError(
                f"head {head!r} flattens a fixed token grid: need samples ({n_bands}) a "
                f"multiple of patch_size={patch_size}"
            )
        self.patch_size = patch_size
        self.input_scale = input_scale
        self.patch_embedding = PatchEmbedding(patch_size, width, dropout)
        self.encoder = CrissCrossEncoder(depth, width, heads, feedforward, dropout)
        self.readout, self.feature_dim = readout(
            head, n_channels, n_bands // patch_size, width, dropout
        )
        self.classifier = nn.Linear(self.feature_dim, n_classes)

    @classmethod
    def rate_problem(cls, hyper: dict[str, object], sfreq: float) -> str | None:
        """Patches are 1 s: ``patch_size`` must equal the sampling rate (else a 200-sample
        patch of 250 Hz data runs silently on 0.8-s patches)."""
        patch = hyper.get("patch_size", DEFAULT_PATCH)
        if hyper.get("any_patch_rate") or patch == sfreq:
            return None
        return (
            f"cbramod's patches are 1 s, but patch_size={patch} samples at {sfreq:g} Hz is "
            f"{float(patch) / sfreq:g} s (hyper patch_size={sfreq:g}, or any_patch_rate=true "  # type: ignore[arg-type]
            "to run it anyway)"
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] % self.patch_size:
            raise ValueError(
                f"expected raw EEG (batch, channels, samples) with samples a multiple of "
                f"patch_size={self.patch_size}; got shape {tuple(x.shape)}"
            )
        patches = (x * self.input_scale).unflatten(-1, (-1, self.patch_size))
        features: torch.Tensor = self.readout(self.encoder(self.patch_embedding(patches)))
        return features

    def load_pretrained(self, path: str | Path) -> LoadedWeights:
        """Load weights from a local state-dict file (layouts: see the module docstring).

        A ``module.`` prefix (DataParallel) is stripped. Only tensors are unpickled
        (``weights_only=True``). Keys are checked strictly: a missing encoder key, an unexpected
        key or a wrong shape refuses the whole file (nothing is half-loaded).
        """
        path = Path(path)
        state = _read_state_dict(path)
        dropped: list[str] = []
        layout = "encoder"
        if any(key.startswith(BACKBONE) for key in state):
            layout = "official fine-tuning"
            other = sorted(k for k in state if not k.startswith((BACKBONE, FINETUNED_HEAD)))
            if other:
                raise DataFormatError(
                    path,
                    "a fine-tuning checkpoint holds backbone.* and classifier.* keys only; "
                    "unexpected:\n" + "\n".join(f"  unexpected: {k}" for k in other),
                    "save the fine-tuned model's state_dict() as the official code does",
                )
            dropped = sorted(k for k in state if k.startswith(FINETUNED_HEAD))
            state = {
                k.removeprefix(BACKBONE): v for k, v in state.items() if k.startswith(BACKBONE)
            }
        dropped += [k for k in state if k.startswith(PRETRAINING_ONLY)]
        state = {key: value for key, value in state.items() if not key.startswith(PRETRAINING_ONLY)}
        own = self.state_dict()
        problems = _mismatches(state, own)
        if problems:
            raise DataFormatError(
                path,
                "weights do not fit this model:\n" + "\n".join(problems),
                f"build the decoder with the sizes the file was saved with ({OFFICIAL_SIZES} "
                "for the official release)",
            )
        self.load_state_dict(state, strict=False)
        return LoadedWeights(layout, tuple(sorted(set(own) - set(state))), tuple(sorted(dropped)))


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a state-dict file, unpickled with ``weights_only=True``."""
    fix = f"save weights with torch.save(model.state_dict(), path); official: {OFFICIAL_SIZES}"
    if not path.is_file():
        raise DataFormatError(path, "weights file not found", fix)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise DataFormatError(
            path,
            "not a loadable torch state dict: it holds Python objects other than tensors, "
            "which are never unpickled (torch.load with weights_only=True)",
            fix,
        ) from error
    except (RuntimeError, EOFError, ValueError) as error:
        raise DataFormatError(
            path, "not a loadable torch state dict (not a torch file, or a truncated one)", fix
        ) from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataFormatError(path, "the file does not hold a state dict of tensors", fix)
    return {str(key).removeprefix("module."): value for key, value in state.items()}


def _mismatches(
    state: dict[str, torch.Tensor], own: dict[str, torch.Tensor], limit: int = 20
) -> list[str]:
    """Readable lines for missing, unexpected and wrongly shaped keys (``limit`` of each)."""
    missing = sorted(k for k in own.keys() - state.keys() if not k.startswith(HEAD_PREFIXES))
    unexpected = sorted(state.keys() - own.keys())
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(state.keys() & own.keys())
        if state[k].shape != own[k].shape
    ]
    lines = []
    for title, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
        lines += [f"  {title}: {key}" for key in keys[:limit]]
        if len(keys) > limit:
            lines.append(f"  {title}: ... and {len(keys) - limit} more")
    return lines
