"""EEG emotion decoders: one file per architecture, one registry, one training engine.

Torch models register in :data:`~vaxis.decoders.base.DECODERS` (``build_decoder(name, ...)``),
scikit-learn pipelines in :data:`~vaxis.decoders.svm.SKLEARN_DECODERS`. To add a decoder, write
one file with a ``@register("name")`` class and add its module to
:data:`~vaxis.decoders.base.BUILTIN_MODULES`.

Importing this package is cheap: the names below load torch (and every built-in decoder) on
first use, so that ``vaxis --help`` does not pay for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaxis.decoders.base import DECODERS, Decoder, build_decoder, register
    from vaxis.decoders.svm import SKLEARN_DECODERS

__all__ = ["DECODERS", "SKLEARN_DECODERS", "Decoder", "build_decoder", "register"]


def __getattr__(name: str) -> Any:
    if name == "SKLEARN_DECODERS":
        from vaxis.decoders import svm

        return svm.SKLEARN_DECODERS
    if name in __all__:
        from vaxis.decoders import base

        return getattr(base, name)
    raise AttributeError(f"module 'vaxis.decoders' has no attribute {name!r}")
