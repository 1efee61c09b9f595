"""EEG emotion decoders: one file per architecture, one registry, one training engine.

Importing this package registers every decoder: torch models in
:data:`~vaxis.decoders.base.DECODERS` (``build_decoder(name, ...)``) and scikit-learn pipelines
in :data:`~vaxis.decoders.svm.SKLEARN_DECODERS`. To add a decoder, write one file with a
``@register("name")`` class and import it here.
"""

# Importing the decoder modules registers them.
from vaxis.decoders import (  # noqa: F401
    axial,
    cbramod,
    channel_transformer,
    dgcnn,
    linear,
    mlp,
    svm,
    temporal,
)
from vaxis.decoders.base import DECODERS, Decoder, build_decoder, register
from vaxis.decoders.svm import SKLEARN_DECODERS

__all__ = ["DECODERS", "SKLEARN_DECODERS", "Decoder", "build_decoder", "register"]
