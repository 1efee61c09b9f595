r"""Synthetic FACED- and SEED-V-shaped cohorts with a planted, documented answer.

Real FACED and SEED-V are large and licence-bound, so every stage of vaxis can run on a
synthetic cohort of the same shape whose generative model is known. The ground truth is saved
beside the data (:class:`GroundTruth`) so tests can check that a method recovers what was
planted, and that it finds nothing where nothing was planted (``plant_valence=False``).

Generative model (DE features on a natural-log power scale, in nats). For stimulus ``s`` of
class ``c(s)``, subject ``n``, window ``w``; every term is a channels x bands array::

    v_s = V[c(s)] + sd_w * eps_s              latent valence (eps_s ~ N(0, 1))
    a_s = A[c(s)] + sd_w * eta_s              arousal
    r_s = v_s - mean{v_t : c(t) = c(s)}       within-class valence residual
    u_s ~ N(0, 1) per channel and band        stimulus identity
    z_s = k_v v_s P_v + k_a a_s P_a + k_r r_s P_r + k_u u_s
    x[n, s, w] = mu + o_n + M_n z_s + sd_e e[n, s, w]

- ``V`` are hand-set, human-like class valence scores on [-1, 1] that follow each class's
  valence group (negative < neutral < positive); they are *not* measured ratings and never come
  from a language-model axis. ``A`` are hand-set arousal scores chosen so that, over the
  stimuli, corr(A[c(s)], V[c(s)]) ~ 0: a null cohort carries no valence through arousal.
  Both can be replaced (``class_valence_scores``, ``class_arousal_scores``, or per-stimulus
  ``stimulus_valence``, e.g. from human ratings).
- ``P_v`` weights occipital > parietal > central > frontal channels and higher bands (gamma
  most), as the study's EEG finding; ``P_a`` is fronto-central with alpha desynchronisation;
  ``P_r`` is a random pattern orthogonal to both. Each has unit root-mean-square, so a strength
  ``k`` is the typical change in nats per unit of the score.
- ``mu``: a baseline falling from ~4 nats (delta) to ~1.6 (gamma); ``o_n ~ N(0, sd_o^2)``:
  subject offsets; ``M_n = I + sd_m / sqrt(C) * G_n`` (``G_n ~ N(0, 1)``, C x C): subject-specific
  spatial mixing of all stimulus-driven signal; ``e``: AR(1) noise over windows with
  coefficient ``rho`` and unit variance.
- ``plant_valence=False`` sets ``k_v = k_r = 0`` (a null cohort: valence has no effect at all);
  ``plant_residual=False`` sets ``k_r = 0``.
- Regional residuals (``residual_groups = G > 0``, off by default): ``G`` further independent
  within-class scores ``q_s^g ~ N(0, 1)``, centred within each class, each read along
  ``P_g``, the valence pattern restricted to the ``g``-th of ``G`` contiguous channel blocks
  (unit rms over the block, zero elsewhere)::

      z_s += k_g sum_g q_s^g P_g

  so a stimulus looks more or less positive than its class in one scalp region, independently
  in each region: a decoder that reads region ``g`` errs on the stimuli that ``q^g`` pushes
  across a class boundary, one that reads another region errs on others. ``k_g`` is
  ``group_residual_strength``; ``plant_residual=False`` (or ``plant_valence=False``) removes
  these too.

Raw EEG (``raw=True``) is band-limited Gaussian noise whose variance in band ``b`` over window
``w`` is ``exp(2 x) / (2 pi e)``, the inverse of DE = 0.5 log(2 pi e var): white noise is
split into bands in the frequency domain, each band scaled to unit variance and then to the
window's target standard deviation. FACED is synthesised at 250 Hz (30 s clips of 1-s
windows); SEED-V, recorded at 1000 Hz, at 200 Hz to keep files small (bands end at 50 Hz).
SEED-V trials last 2-4 minutes in reality; here every trial has ``n_windows`` 4-s windows.
Session-to-session shifts within a SEED-V subject are not modelled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vaxis.data.cohort import SAMPLE_FIELDS, Cohort, CohortMeta
from vaxis.data.datasets import DATASETS, Dataset, DatasetName, SyntheticShape, get_dataset
from vaxis.errors import DataFormatError

#: Channel-name prefixes (longest first) -> weight of the valence pattern.
_REGION_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("PO", 0.85), ("CP", 0.55), ("TP", 0.55), ("FC", 0.3), ("FT", 0.3), ("AF", 0.15),
    ("FP", 0.15), ("CB", 1.0), ("O", 1.0), ("P", 0.7), ("C", 0.4), ("T", 0.4), ("F", 0.2),
    ("A", 0.1),
)  # fmt: skip
_TRUTH_FORMAT = "vaxis-synthetic-truth"


class SynthConfig(BaseModel):
    """Everything that determines a synthetic cohort (same config + seed -> same cohort)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: a registered dataset (:mod:`vaxis.data.datasets`) with a synthetic shape
    like: DatasetName = "faced"
    #: default: the dataset's synthetic shape (FACED 24: the demo runs in minutes; 123 is the
    #: real size; SEED-V 16)
    n_subjects: int = Field(default=24, ge=1)
    n_windows: int = Field(default=30, ge=2)
    seed: int = 0
    class_valence_scores: tuple[float, ...] = ()
    class_arousal_scores: tuple[float, ...] = ()
    #: per-stimulus valence (e.g. from human ratings); overrides the class scores
    stimulus_valence: tuple[float, ...] | None = None
    within_class_std: float = Field(default=0.15, ge=0)
    valence_strength: float = Field(default=0.12, ge=0)
    arousal_strength: float = Field(default=0.08, ge=0)
    stimulus_strength: float = Field(default=0.12, ge=0)
    residual_strength: float = Field(default=0.5, ge=0)
    #: G > 0 plants G independent regional within-class residuals (module docstring)
    residual_groups: int = Field(default=0, ge=0)
    group_residual_strength: float = Field(default=0.1, ge=0)
    subject_offset_std: float = Field(default=0.4, ge=0)
    mixing_std: float = Field(default=0.3, ge=0)
    noise_std: float = Field(default=0.7, ge=0)
    noise_ar: float = Field(default=0.7, ge=0, lt=1)
    plant_valence: bool = True
    plant_residual: bool = True
    raw: bool = False

    @model_validator(mode="before")
    @classmethod
    def _dataset_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        spec = DATASETS.get(data.get("like", "faced"))
        if spec is None or spec.synthetic is None:
            return data  # the field validators report the bad name
        defaults = {
            "n_subjects": spec.synthetic.n_subjects,
            "class_valence_scores": spec.synthetic.class_valence_scores,
            "class_arousal_scores": spec.synthetic.class_arousal_scores,
        }
        return {**data, **{k: v for k, v in defaults.items() if data.get(k) in (None, ())}}

    @model_validator(mode="after")
    def _check_lengths(self) -> SynthConfig:
        if self.spec.synthetic is None:
            raise ValueError(f"dataset {self.like!r} has no synthetic shape to generate")
        n_classes, n_stimuli = len(self.spec.classes), self.spec.n_stimuli
        for name in ("class_valence_scores", "class_arousal_scores"):
            if len(getattr(self, name)) != n_classes:
                raise ValueError(f"{name} needs {n_classes} values (one per {self.like} class)")
        if self.stimulus_valence is not None and len(self.stimulus_valence) != n_stimuli:
            raise ValueError(f"stimulus_valence needs {n_stimuli} values (one per stimulus)")
        if self.residual_groups > len(self.spec.channels):
            raise ValueError(
                f"residual_groups: at most one per channel ({len(self.spec.channels)})"
            )
        return self

    @property
    def spec(self) -> Dataset:
        return get_dataset(self.like)

    @property
    def shape(self) -> SyntheticShape:
        """The dataset's synthetic shape (checked to exist when the config was made)."""
        assert self.spec.synthetic is not None
        return self.spec.synthetic


def stimulus_classes(like: str) -> np.ndarray:
    """Class of every stimulus of a dataset (FACED's clip map, SEED-V's 3 x 15 trial labels)."""
    return np.array(get_dataset(like).stimulus_labels)


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """What was planted: scores per stimulus, spatial patterns, per-subject offsets and mixing."""

    config: SynthConfig
    stimulus_class: np.ndarray  # (S,)
    valence: np.ndarray  # (S,) v_s
    arousal: np.ndarray  # (S,) a_s
    residual: np.ndarray  # (S,) r_s
    identity: np.ndarray  # (S, C, B) u_s
    valence_pattern: np.ndarray  # (C, B) P_v
    arousal_pattern: np.ndarray  # (C, B) P_a
    residual_pattern: np.ndarray  # (C, B) P_r
    baseline: np.ndarray  # (C, B) mu
    subject_offsets: np.ndarray  # (N, C, B) o_n
    subject_mixing: np.ndarray  # (N, C, C) M_n
    #: which effects are present in the data (False = the null for that effect)
    planted: dict[str, bool] = field(default_factory=dict)
    group_residuals: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (S, G) q_s^g
    group_patterns: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # (G, C, B)

    def signal(self) -> np.ndarray:
        """Stimulus-driven signal z_s before subject mixing, shape (S, C, B)."""
        c = self.config
        k_v = c.valence_strength if self.planted["valence"] else 0.0
        k_r = c.residual_strength if self.planted["residual"] else 0.0
        k_g = c.group_residual_strength if self.planted.get("group_residuals") else 0.0
        signal = (
            k_v * self.valence[:, None, None] * self.valence_pattern
            + c.arousal_strength * self.arousal[:, None, None] * self.arousal_pattern
            + k_r * self.residual[:, None, None] * self.residual_pattern
            + c.stimulus_strength * self.identity
        )
        if k_g and self.group_residuals.size:
            signal = signal + k_g * np.einsum(
                "sg,gcb->scb", self.group_residuals, self.group_patterns
            )
        return signal

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``<stem>.truth.npz`` (arrays, no pickles) and ``<stem>.truth.json``."""
        npz, meta = truth_paths(stem)
        np.savez(npz, **{name: getattr(self, name) for name in _truth_arrays()})
        header = {
            "format": _TRUTH_FORMAT,
            "config": self.config.model_dump(mode="json"),
            "planted": self.planted,
        }
        meta.write_text(json.dumps(header, indent=1, sort_keys=True))
        return npz, meta


def _truth_arrays() -> tuple[str, ...]:
    return tuple(f.name for f in fields(GroundTruth) if f.name not in ("config", "planted"))


#: arrays added after the first release: absent from older truth files, which keep loading
_OPTIONAL_ARRAYS = ("group_residuals", "group_patterns")


def truth_paths(path: str | Path) -> tuple[Path, Path]:
    """``<stem>.truth.npz`` and ``<stem>.truth.json`` for a cohort path, a stem or a truth file."""
    path = Path(path)
    stem = path.name
    for suffix in (".truth.npz", ".truth.json", ".cohort.h5", ".h5"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return path.with_name(stem + ".truth.npz"), path.with_name(stem + ".truth.json")


def load_truth(path: str | Path) -> GroundTruth:
    """Read the ground truth saved beside a synthetic cohort (give the cohort or truth path)."""
    npz, meta = truth_paths(path)
    for p in (npz, meta):
        if not p.exists():
            raise DataFormatError(
                p, "no ground truth here", "only cohorts written by `vaxis data synth` have one"
            )
    header = json.loads(meta.read_text())
    if header.get("format") != _TRUTH_FORMAT:
        raise DataFormatError(meta, "not a vaxis synthetic ground-truth file")
    with np.load(npz, allow_pickle=False) as arrays:
        missing = [n for n in _truth_arrays() if n not in arrays and n not in _OPTIONAL_ARRAYS]
        if missing:
            raise DataFormatError(npz, f"missing arrays: {', '.join(missing)}", "re-create it")
        values = {name: arrays[name] for name in _truth_arrays() if name in arrays}
    config = SynthConfig.model_validate(header["config"])
    return GroundTruth(config=config, planted=dict(header["planted"]), **values)


# ----------------------------------------------------------------------------- generation
def _unit_rms(pattern: np.ndarray) -> np.ndarray:
    return pattern / np.sqrt(np.mean(pattern**2))


def _region_weights(channels: tuple[str, ...]) -> np.ndarray:
    def weight(name: str) -> float:
        upper = name.upper()
        return next(w for prefix, w in _REGION_WEIGHTS if upper.startswith(prefix))

    return np.array([weight(name) for name in channels])


def make_truth(config: SynthConfig) -> GroundTruth:
    """Draw every stimulus- and subject-level quantity (cheap; no windows, no noise)."""
    spec, rng = config.spec, np.random.default_rng([config.seed, 0])
    n_channels, n_bands = len(spec.channels), len(spec.bands)
    classes = stimulus_classes(config.like)
    jitter = config.within_class_std * rng.standard_normal((2, classes.size))
    valence = np.asarray(config.class_valence_scores)[classes] + jitter[0]
    if config.stimulus_valence is not None:
        valence = np.asarray(config.stimulus_valence, dtype=float)
    arousal = np.asarray(config.class_arousal_scores)[classes] + jitter[1]
    class_means = np.array([valence[classes == c].mean() for c in classes])
    region = _region_weights(spec.channels)
    p_v = _unit_rms(
        np.outer(region, np.linspace(0.2, 1.0, n_bands))
        + 0.2 * rng.standard_normal((n_channels, n_bands))
    )
    alpha_drop = np.where(np.arange(n_bands) == min(2, n_bands - 1), -1.0, 0.3)
    p_a = _unit_rms(
        np.outer(1.2 - region, alpha_drop) + 0.2 * rng.standard_normal((n_channels, n_bands))
    )
    basis, _ = np.linalg.qr(np.stack([p_v.ravel(), p_a.ravel()], axis=1))
    p_r = rng.standard_normal(n_channels * n_bands)
    p_r = _unit_rms((p_r - basis @ (basis.T @ p_r)).reshape(n_channels, n_bands))
    baseline = np.linspace(4.0, 1.6, n_bands) + 0.2 * rng.standard_normal((n_channels, n_bands))
    identity = rng.standard_normal((classes.size, n_channels, n_bands))
    offsets, mixing = zip(
        *(_subject_draws(config, n) for n in range(config.n_subjects)), strict=True
    )
    group_residuals, group_patterns = _group_draws(config, classes, p_v)
    return GroundTruth(
        config=config,
        stimulus_class=classes,
        valence=valence,
        arousal=arousal,
        residual=valence - class_means,
        identity=identity,
        valence_pattern=p_v,
        arousal_pattern=p_a,
        residual_pattern=p_r,
        baseline=baseline,
        subject_offsets=np.stack(offsets),
        subject_mixing=np.stack(mixing),
        planted={
            "valence": config.plant_valence and config.valence_strength > 0,
            "residual": config.plant_valence
            and config.plant_residual
            and config.residual_strength > 0,
            "arousal": config.arousal_strength > 0,
            "stimulus_identity": config.stimulus_strength > 0,
            "group_residuals": config.plant_valence
            and config.plant_residual
            and config.residual_groups > 0
            and config.group_residual_strength > 0,
        },
        group_residuals=group_residuals,
        group_patterns=group_patterns,
    )


def _group_draws(
    config: SynthConfig, classes: np.ndarray, p_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Regional residuals q (S, G), centred within class, and patterns P_g (G, C, B).

    Drawn from their own stream, so the other draws are the same with or without them.
    """
    groups = config.residual_groups
    rng = np.random.default_rng([config.seed, 3])
    scores = rng.standard_normal((classes.size, groups))
    for c in np.unique(classes):
        scores[classes == c] -= scores[classes == c].mean(axis=0)
    patterns = np.zeros((groups, *p_v.shape))
    for g, block in enumerate(channel_blocks(p_v.shape[0], groups)):
        patterns[g, block] = _unit_rms(p_v[block])
    return scores, patterns


def channel_blocks(n_channels: int, groups: int) -> list[np.ndarray]:
    """``groups`` contiguous, near-equal blocks of channel indices (scalp regions, front to
    back in the datasets' channel order)."""
    if groups < 1:
        return []
    return list(np.array_split(np.arange(n_channels), groups))


def _subject_draws(config: SynthConfig, subject: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and mixing of one subject, from its own stream: independent of n_subjects."""
    rng = np.random.default_rng([config.seed, 1, subject])
    n_channels, n_bands = len(config.spec.channels), len(config.spec.bands)
    offsets = config.subject_offset_std * rng.standard_normal((n_channels, n_bands))
    noise = rng.standard_normal((n_channels, n_channels))
    return offsets, np.eye(n_channels) + config.mixing_std / np.sqrt(n_channels) * noise


def subject_features(truth: GroundTruth, subject: int) -> np.ndarray:
    """One subject's DE features, shape (stimuli, windows, channels, bands)."""
    c = truth.config
    rng = np.random.default_rng([c.seed, 2, subject])
    mixed = np.einsum("ij,sjb->sib", truth.subject_mixing[subject], truth.signal())
    mean = truth.baseline + truth.subject_offsets[subject] + mixed  # (S, C, B)
    shocks = rng.standard_normal((c.n_windows, *mean.shape))
    noise = np.empty_like(shocks)
    noise[0] = shocks[0]
    for w in range(1, c.n_windows):  # stationary AR(1) with unit variance
        noise[w] = c.noise_ar * noise[w - 1] + np.sqrt(1 - c.noise_ar**2) * shocks[w]
    return mean[:, None] + c.noise_std * noise.transpose(1, 0, 2, 3)


def sample_labels(config: SynthConfig, subject: int, n_windows: int) -> dict[str, np.ndarray]:
    """Per-sample label arrays for one subject, stimulus-major then window."""
    classes = stimulus_classes(config.like)
    stimulus = np.repeat(np.arange(classes.size), n_windows)
    sessions = config.spec.stimulus_sessions
    session = np.array(sessions) if sessions else np.zeros(classes.size, int)
    return {
        "subject": np.full(stimulus.size, subject),
        "stimulus": stimulus,
        "window": np.tile(np.arange(n_windows), classes.size),
        "label": classes[stimulus],
        "valence": np.asarray(config.spec.class_valence)[classes[stimulus]],
        "session": session[stimulus],
    }


def synthetic_meta(config: SynthConfig, kind: Literal["raw", "features"]) -> CohortMeta:
    spec, features = config.spec, kind == "features"
    names, raw_sfreq = spec.stimulus_names, config.shape.raw_sfreq
    provenance: dict[str, Any] = {
        "generator": "vaxis.data.synthetic",
        "config": config.model_dump(mode="json"),
        "synthetic": True,
    }
    if not features:
        provenance["note"] = (
            f"band power planted per {spec.window_seconds:g}-s window in bands "
            f"{list(spec.band_edges)} at {raw_sfreq:g} Hz"
        )
    return CohortMeta(
        dataset=spec.name,
        kind=kind,
        channel_names=spec.channels,
        label_names=spec.classes,
        sfreq=1.0 / spec.window_seconds if features else raw_sfreq,
        band_names=spec.band_names if features else (),
        band_edges=spec.band_edges if features else (),
        feature="de" if features else None,
        window_seconds=spec.window_seconds if features else None,
        stimulus_names=names,
        synthetic=True,
        provenance=provenance,
    )


def synthesize_features(config: SynthConfig) -> tuple[Cohort, GroundTruth]:
    """A DE feature cohort (one sample per window) and what was planted in it."""
    truth = make_truth(config)
    data = np.concatenate(
        [
            subject_features(truth, n).reshape(-1, *truth.baseline.shape)
            for n in range(config.n_subjects)
        ]
    ).astype(np.float32)
    labels = [sample_labels(config, n, config.n_windows) for n in range(config.n_subjects)]
    samples = {name: np.concatenate([part[name] for part in labels]) for name in SAMPLE_FIELDS}
    return Cohort(data=data, meta=synthetic_meta(config, "features"), **samples), truth
