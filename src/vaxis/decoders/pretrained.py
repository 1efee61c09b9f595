"""Starting a run from a pretrained weights file: its content hash (part of the run's key),
the refusal of decoders that cannot take weights, and the loading itself.

A decoder takes weights by overriding :meth:`~vaxis.decoders.base.Decoder.load_pretrained`
(CBraMod today) and declares the sampling rate they were trained at (``weights_sfreq``) and
the hyper-parameters they need (``weights_hyper``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.errors import DataFormatError, OptionError

if TYPE_CHECKING:
    from vaxis.decoders.base import Decoder, LoadedWeights
    from vaxis.decoders.train import TrainConfig


def file_sha256(path: Path) -> str:
    """The sha256 of a file (read in 1 MiB blocks); a missing file is a clear error."""
    if not path.is_file():
        raise DataFormatError(path, "weights file not found", "give the path of a local .pth")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_weights(model: Decoder, decoder: str, weights: str, sha256: str | None) -> LoadedWeights:
    """Load ``weights`` into ``model`` (the decoder named ``decoder``), refusing a decoder that
    takes none and a file whose content changed since the run was planned (``sha256``)."""
    from vaxis.decoders.base import weights_decoders

    path = Path(weights)
    if decoder not in weights_decoders():
        raise DataFormatError(
            path,
            f"decoder {decoder!r} takes no pretrained weights",
            f"drop the weights, or use one of: {', '.join(weights_decoders())}",
        )
    if file_sha256(path) != sha256:
        raise DataFormatError(
            path,
            "the weights file changed after the run was planned (its sha256 differs)",
            "plan the run again with this file (a different file is a different run)",
        )
    return model.load_pretrained(path)


def check_weights(names: list[str], weights: Path | None, flag: str) -> None:
    """Refuse a weights file for decoders that cannot start from one, by name."""
    from vaxis.decoders.base import weights_decoders

    refused = [name for name in names if weights is not None and name not in weights_decoders()]
    if refused:
        raise OptionError(
            flag,
            weights,
            f"decoder(s) {', '.join(refused)} take no pretrained weights",
            ", ".join(weights_decoders()),
        )


def describe_weights(config: TrainConfig, names: list[str], sfreq: float, resample: bool) -> str:
    """One line on what a run does with its weights file (the rate, the resampling)."""
    from vaxis.decoders import DECODERS

    rates = {DECODERS[name].weights_sfreq for name in names} - {None}
    line = f"weights: {config.weights} (sha256 {str(config.weights_sha256)[:12]})"
    for rate in sorted(r for r in rates if r is not None):
        if rate == sfreq:
            line += f"; trained at {rate:g} Hz, as the data"
        elif resample:
            line += f"; trained at {rate:g} Hz: raw EEG resampled {sfreq:g} -> {rate:g} Hz (MNE)"
        else:
            line += f"; trained at {rate:g} Hz, the data are at {sfreq:g} Hz"
    return line + " (what loading did is in each run's metrics.json, under weights)"
