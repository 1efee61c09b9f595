"""Intervention registry, targets and controls: every entry builds and trains, controls are fair."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from tests.align.interventions_fixtures import (
    CLASS_POSITIONS,
    tiny_batch,
    tiny_decoder,
    tiny_targets,
)
from tests.decoders.planted import planted_units
from vaxis.align.interventions import (
    INTERVENTIONS,
    AlignmentTargets,
    Control,
    InterventionSpec,
    build_intervention,
    register,
)
from vaxis.align.interventions.readout import FeatureReadout
from vaxis.core.positions import StimulusPositions
from vaxis.data.datasets import FACED
from vaxis.decoders import build_decoder
from vaxis.decoders.train import TrainConfig, fit
from vaxis.errors import DataFormatError

STUDY_EFFECTS = {
    "frontal-mask-0.5": -0.052, "frontal-mask-0.1": -0.009, "faa-0.5": -0.044,
    "faa-0.1": -0.018, "anger-weighted-0.5": -0.054, "occipital-0.1": -0.022,
    "topography-0.1": -0.013, "topography-0.05": 0.002, "procrustes-0.05": 0.001,
    "rsa-5": -0.093, "rsa-1": -0.057, "distance-ce-tau5": -0.397, "aux-mse-0.5": -0.043,
    "aux-mse-0.1": -0.016, "class-prototypes": -0.010, "stimulus-prototypes": 0.007,
    "multi-v": -0.043, "uncertainty-weighted": -0.067,
}  # fmt: skip


def run_loss(name: str, targets: AlignmentTargets, control: Control | None = None) -> torch.Tensor:
    model = tiny_decoder()
    torch.manual_seed(1)  # same initial head/projection for every build
    loss = build_intervention(name, None, targets, model, control=control)
    batch = tiny_batch()
    logits, features = model(batch.x, return_features=True)
    return loss(logits, features, batch)


# ------------------------------------------------------------------------------ registry
@pytest.mark.parametrize("control", [None, "permuted", "label-smoothing"])
@pytest.mark.parametrize("name", sorted(INTERVENTIONS))
def test_every_intervention_builds_runs_and_trains_the_decoder(
    name: str, control: Control | None
) -> None:
    model = tiny_decoder()
    loss = build_intervention(name, None, tiny_targets(), model, control=control)
    batch = tiny_batch()
    logits, features = model(batch.x, return_features=True)
    value = loss(logits, features, batch)
    assert value.shape == () and torch.isfinite(value) and value.item() != 0.0
    value.backward()
    decoder_grad = sum(float(p.grad.abs().sum()) for p in model.parameters() if p.grad is not None)
    assert decoder_grad > 0
    for parameter in loss.parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0


def test_study_variants_carry_the_published_effects() -> None:
    published = {n: s.study_effect for n, s in INTERVENTIONS.items() if s.study_effect is not None}
    assert published == STUDY_EFFECTS
    for name in published:
        assert (INTERVENTIONS[name].study_name or "").endswith("(published)")
    assert INTERVENTIONS["rsa-5"].weight == 5.0 and INTERVENTIONS["aux-mse-0.1"].weight == 0.1
    assert INTERVENTIONS["distance-ce-tau5"].params == {"tau": 5.0}


def test_registry_refuses_unknown_names_families_and_controls() -> None:
    with pytest.raises(KeyError, match="unknown intervention"):
        build_intervention("no-such", None, tiny_targets())
    with pytest.raises(ValueError, match="registered twice"):
        register(InterventionSpec("rsa-1", "rsa", 1.0))
    with pytest.raises(ValueError, match="unknown family"):
        register(InterventionSpec("new-one", "no-family", 1.0))
    with pytest.raises(ValueError, match="unknown control"):
        build_intervention("rsa-1", None, tiny_targets(), control="shuffle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs the decoder"):
        build_intervention("aux-mse-0.1", None, tiny_targets())


def test_weight_override_scales_the_loss() -> None:
    targets = tiny_targets()
    batch = tiny_batch()
    logits = torch.randn(16, 4)
    base = build_intervention("distance-ce-tau5", None, targets)(logits, logits, batch)
    tenfold = build_intervention("distance-ce-tau5", 10.0, targets)(logits, logits, batch)
    assert torch.isclose(tenfold, 10 * base)


# ------------------------------------------------------------------------------ targets
def test_targets_distances_are_position_gaps_or_embedding_correlations() -> None:
    plain = tiny_targets(class_embeddings=None)
    gaps = np.abs(CLASS_POSITIONS[:, None] - CLASS_POSITIONS[None, :])
    np.testing.assert_allclose(plain.distances(), gaps)
    np.testing.assert_allclose(plain.geometry(), CLASS_POSITIONS[:, None])
    embedded = tiny_targets()
    e = embedded.class_embeddings
    assert e is not None
    np.testing.assert_allclose(embedded.distances()[0, 1], 1 - np.corrcoef(e[0], e[1])[0, 1])


def test_targets_reject_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="at least two finite"):
        tiny_targets(class_positions=np.array([0.0, np.nan, 1.0, 2.0]))
    with pytest.raises(ValueError, match="together"):
        tiny_targets(sample_stimulus=None)
    with pytest.raises(ValueError, match="4 rows"):
        tiny_targets(class_embeddings=np.zeros((3, 2)))


def test_targets_from_positions_are_standardised_and_aligned_to_training_samples() -> None:
    units = planted_units(n_per_class=5, n_classes=3, shape=(2, 4, 3))
    record = StimulusPositions(
        dataset="faced", stimuli=(0, 1, 2), positions=(2.0, 4.0, 9.0), source="test"
    )
    targets = AlignmentTargets.from_positions(record, units)
    expected = (np.array([2.0, 4.0, 9.0]) - 5.0) / np.sqrt(26 / 3)
    np.testing.assert_allclose(targets.class_positions, expected)
    np.testing.assert_allclose(np.asarray(targets.stimulus_positions), expected)
    np.testing.assert_array_equal(np.asarray(targets.sample_stimulus), units.stimulus)
    assert targets.source == "test" and targets.band_names == ()  # 3 planted bands, not 5
    assert targets.channel_names == ()  # 4 planted channels: FACED's 32 names do not apply
    named = AlignmentTargets.from_positions(record, units, channel_names=FACED.channels[:4])
    assert named.channel_names == ("Fp1", "Fp2", "Fz", "F3")
    missing = record.model_copy(update={"stimuli": (0, 1, 5)})
    with pytest.raises(DataFormatError, match="no entry for stimuli"):
        AlignmentTargets.from_positions(missing, units)


# ------------------------------------------------------------------------------ controls
def test_permuted_targets_are_a_seeded_non_identity_permutation_of_the_classes() -> None:
    targets = tiny_targets()
    first, again, other = targets.permuted(3), targets.permuted(3), targets.permuted(4)
    np.testing.assert_array_equal(first.class_positions, again.class_positions)
    assert not np.array_equal(first.class_positions, targets.class_positions)
    assert sorted(first.class_positions) == sorted(targets.class_positions)
    order = [list(CLASS_POSITIONS).index(p) for p in first.class_positions]
    assert targets.class_embeddings is not None and targets.stimulus_positions is not None
    assert first.stimulus_positions is not None and other.stimulus_positions is not None
    np.testing.assert_array_equal(first.class_embeddings, targets.class_embeddings[order])
    np.testing.assert_allclose(first.distances(), targets.distances()[order][:, order])
    assert sorted(first.stimulus_positions) == sorted(targets.stimulus_positions)
    assert not np.array_equal(first.stimulus_positions, targets.stimulus_positions)
    assert not np.array_equal(first.stimulus_positions, other.stimulus_positions)


@pytest.mark.parametrize("name", sorted(INTERVENTIONS))
def test_permuted_control_changes_the_loss_only_when_targets_are_asymmetric(name: str) -> None:
    targets = tiny_targets()
    assert not torch.isclose(run_loss(name, targets), run_loss(name, targets, "permuted"))
    invariant = tiny_targets(  # every class and stimulus looks the same to the LLM
        class_positions=np.full(4, 0.5),
        stimulus_positions=np.full(8, 0.5),
        class_embeddings=np.tile([1.0, 2.0, 4.0], (4, 1)),
    )
    torch.testing.assert_close(run_loss(name, invariant), run_loss(name, invariant, "permuted"))


def test_label_smoothing_control_matches_torch_label_smoothing() -> None:
    w = 0.3
    logits, y = torch.randn(16, 4, generator=torch.Generator().manual_seed(0)), tiny_batch().y
    control = build_intervention("rsa-1", w, tiny_targets(), control="label-smoothing")
    total = F.cross_entropy(logits, y) + control(logits, logits, tiny_batch())
    expected = (1 + w) * F.cross_entropy(logits, y, label_smoothing=w / (1 + w))
    torch.testing.assert_close(total, expected)


# ------------------------------------------------------------------------------ end to end
def test_fit_with_aux_mse_trains_the_head_with_the_decoder() -> None:
    units = planted_units(n_per_class=40, n_classes=3, shape=(2, 4, 3))
    targets = AlignmentTargets(
        class_positions=np.array([-1.0, 0.3, 1.0]),
        stimulus_positions=np.array([-1.0, 0.3, 1.0]),
        sample_stimulus=units.stimulus,
    )
    torch.manual_seed(0)
    model = build_decoder("mlp", 4, 3, 3, hidden=[16])
    aux = build_intervention("aux-mse-0.1", None, targets, model)
    assert isinstance(aux, FeatureReadout)
    x, v = torch.as_tensor(units.x), torch.as_tensor(targets.class_positions[units.y]).float()

    def head_mse() -> float:
        model.eval()
        with torch.no_grad():
            return float(((aux.predict(model.features(x)) - v) ** 2).mean())

    before, head_before = head_mse(), aux.head.weight.detach().clone()
    config = TrainConfig(
        decoder="mlp", hyper={"hidden": [16]}, epochs=2, batch_size=32, lr=1e-2,
        warmup_epochs=0, num_threads=1,
    )  # fmt: skip
    result = fit(config, units, model=model, extra_loss=aux)
    assert result.completed and len(result.history) == 2
    assert not torch.equal(aux.head.weight, head_before), "fit must train the loss's own head"
    assert head_mse() < 0.5 * before
