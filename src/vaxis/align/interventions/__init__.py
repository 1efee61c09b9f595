"""Alignment interventions: the V-axis as auxiliary supervision, one family per file.

``INTERVENTIONS`` maps a name to an :class:`InterventionSpec` (family, default weight,
parameters and, for the study's variants, the published effect on balanced accuracy);
:func:`build_intervention` turns one into the ``extra_loss`` of
:func:`vaxis.decoders.train.fit`, optionally as one of its two controls (``permuted`` targets,
``label-smoothing`` of equal weight; see :mod:`~vaxis.align.interventions.base`).

Of the study's 25 interventions (docs/REFERENCE.md sec. 1.6) 18 are registered here under
the study's names; the other 7 are training procedures rather than auxiliary losses and live in
:mod:`vaxis.align.procedures` (parameter-efficient fine-tuning with the V-axis loss: full head,
LoRA, IA3; pretrain on the V-axis then fine-tune: frozen, unfrozen; cross-dataset
FACED->SEED-V; full-data scaling). `vaxis align` runs both under one namespace
(:func:`vaxis.align.stage.registered_weights`).
``kd-1`` and ``infonce-0.1`` are extra families (no published effect). The channel-subset
read-outs, anger weighting, V-placed prototypes, multi-V and the uncertainty weighting follow our
definitions (see each family's docstring): the study does not publish their formulas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss, LabelSmoothingControl
from vaxis.align.interventions.distance_ce import DistanceWeightedCE
from vaxis.align.interventions.infonce import InfoNCELoss
from vaxis.align.interventions.kd import SimilarityDistillation
from vaxis.align.interventions.multi_v import MultiVReadout
from vaxis.align.interventions.procrustes import ProcrustesLoss
from vaxis.align.interventions.prototypes import PrototypeLoss
from vaxis.align.interventions.readout import FRONTAL, OCCIPITAL, FeatureReadout, MaskedReadout
from vaxis.align.interventions.rsa import RSALoss
from vaxis.align.interventions.uncertainty import UncertaintyWeighted
from vaxis.decoders.base import Decoder

Control = Literal["permuted", "label-smoothing"]
CONTROLS: tuple[str, ...] = ("permuted", "label-smoothing")

#: family name -> loss class (constructor ``(targets, weight, model=None, **params)``)
FAMILIES: dict[str, type[AuxLoss]] = {
    "readout": FeatureReadout,
    "masked-readout": MaskedReadout,
    "rsa": RSALoss,
    "distance-ce": DistanceWeightedCE,
    "prototypes": PrototypeLoss,
    "procrustes": ProcrustesLoss,
    "kd": SimilarityDistillation,
    "infonce": InfoNCELoss,
    "multi-v": MultiVReadout,
    "uncertainty": UncertaintyWeighted,
}


@dataclass(frozen=True)
class InterventionSpec:
    """One registered intervention: a family with a default weight and parameters."""

    name: str
    family: str
    weight: float
    params: dict[str, Any] = field(default_factory=dict)
    #: the study's name for it, and its published mean delta balanced accuracy (paired t over
    #: 5 seeds, FACED-9; docs/REFERENCE.md sec. 1.6). None for interventions the study did not run.
    study_name: str | None = None
    study_effect: float | None = None


INTERVENTIONS: dict[str, InterventionSpec] = {}


def register(spec: InterventionSpec) -> InterventionSpec:
    """Add ``spec`` to :data:`INTERVENTIONS` (names are unique, families must exist)."""
    if spec.name in INTERVENTIONS:
        raise ValueError(f"intervention '{spec.name}' is registered twice")
    if spec.family not in FAMILIES:
        raise ValueError(f"unknown family {spec.family!r}; choose one of {sorted(FAMILIES)}")
    INTERVENTIONS[spec.name] = spec
    return spec


def build_intervention(
    name: str,
    weight: float | None,
    targets: AlignmentTargets,
    model: Decoder | None = None,
    control: Control | None = None,
    seed: int = 0,
) -> AuxLoss:
    """The loss of intervention ``name`` (weight None: its default) or one of its controls.

    ``model`` is the decoder being trained (losses that run it on masked inputs need it);
    :func:`~vaxis.decoders.train.fit` trains the loss's own parameters beside the decoder's.
    """
    if name not in INTERVENTIONS:
        raise KeyError(f"unknown intervention '{name}'; choose one of: {', '.join(INTERVENTIONS)}")
    spec = INTERVENTIONS[name]
    weight = spec.weight if weight is None else float(weight)
    if control == "label-smoothing":
        return LabelSmoothingControl(targets, weight)
    if control == "permuted":
        targets = targets.permuted(seed)
    elif control is not None:
        raise ValueError(f"unknown control {control!r}; choose one of {CONTROLS}")
    family: Any = FAMILIES[spec.family]  # constructors share (targets, weight, model, **params)
    loss: AuxLoss = family(targets, weight, model=model, **spec.params)
    return loss


_MASK = {"regions": FRONTAL}
_FAA = {"regions": FRONTAL, "bands": ("alpha",), "asymmetry": True}
_ANGER = {"class_weights": {"anger": 3.0}}  # our choice: the study does not give the weight
_TOPOGRAPHY = {"channels": ("PO3",), "bands": ("gamma",)}  # the study's peak cell
_STUDY: tuple[tuple[str, str, float, dict[str, Any], str, float], ...] = (
    ("frontal-mask-0.5", "masked-readout", 0.5, _MASK, "frontal-channel mask", -0.052),
    ("frontal-mask-0.1", "masked-readout", 0.1, _MASK, "frontal-channel mask", -0.009),
    ("faa-0.5", "masked-readout", 0.5, _FAA, "frontal alpha asymmetry", -0.044),
    ("faa-0.1", "masked-readout", 0.1, _FAA, "frontal alpha asymmetry", -0.018),
    ("anger-weighted-0.5", "readout", 0.5, _ANGER, "anger-weighted", -0.054),
    ("occipital-0.1", "masked-readout", 0.1, {"regions": OCCIPITAL}, "occipital", -0.022),
    ("topography-0.1", "masked-readout", 0.1, _TOPOGRAPHY, "topography-optimal channels", -0.013),
    ("topography-0.05", "masked-readout", 0.05, _TOPOGRAPHY, "topography-optimal channels", 0.002),
    ("procrustes-0.05", "procrustes", 0.05, {}, "Procrustes", 0.001),
    ("rsa-5", "rsa", 5.0, {}, "RSA", -0.093),
    ("rsa-1", "rsa", 1.0, {}, "RSA", -0.057),
    ("distance-ce-tau5", "distance-ce", 1.0, {"tau": 5.0}, "distance-weighted CE", -0.397),
    ("aux-mse-0.5", "readout", 0.5, {}, "auxiliary MSE head", -0.043),
    ("aux-mse-0.1", "readout", 0.1, {}, "auxiliary MSE head", -0.016),
    ("class-prototypes", "prototypes", 1.0, {"level": "class"}, "EMOD-style prototypes", -0.010),
    ("stimulus-prototypes", "prototypes", 0.5, {"level": "stimulus"}, "stimulus prototypes", 0.007),
    ("multi-v", "multi-v", 0.5, {"n_axes": 3}, "multi-V", -0.043),
    ("uncertainty-weighted", "uncertainty", 1.0, {}, "uncertainty-weighted multi-task", -0.067),
)  # fmt: skip
for _name, _family, _weight, _params, _study, _effect in _STUDY:
    register(InterventionSpec(_name, _family, _weight, _params, f"{_study} (published)", _effect))
register(InterventionSpec("rsa-spearman-1", "rsa", 1.0, {"method": "spearman"}))
register(InterventionSpec("kd-1", "kd", 1.0))
register(InterventionSpec("infonce-0.1", "infonce", 0.1))

__all__ = [
    "CONTROLS",
    "FAMILIES",
    "INTERVENTIONS",
    "AlignmentTargets",
    "AuxLoss",
    "Control",
    "InterventionSpec",
    "build_intervention",
    "register",
]
