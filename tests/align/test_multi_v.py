"""Multi-V read-out: hand-computed axes and loss, the fallbacks of every positions source, fit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.align.interventions_fixtures import tiny_batch, tiny_decoder, tiny_targets
from tests.decoders.planted import planted_units
from vaxis.align.interventions import AlignmentTargets, build_intervention
from vaxis.align.interventions.multi_v import MultiVReadout, class_axes, principal_coordinates
from vaxis.align.interventions.readout import FeatureReadout
from vaxis.core.positions import StimulusPositions, from_valence_groups
from vaxis.data.datasets import FACED
from vaxis.data.synthetic import stimulus_classes
from vaxis.decoders import build_decoder
from vaxis.decoders.train import Batch, TrainConfig, fit
from vaxis.decoders.units import Units

P = np.array([-1.0, 0.0, 1.0])
#: a second class coordinate, orthogonal to P once centred: its axis is (-1, 2, -1) / sqrt(3)
Y = np.array([0.0, 1.0, 0.0])
AXIS_2 = np.array([-1.0, 2.0, -1.0]) / np.sqrt(3)


def rdm(*columns: np.ndarray) -> np.ndarray:
    points = np.stack(columns, axis=1)
    return np.asarray(np.linalg.norm(points[:, None] - points[None, :], axis=2))


def three_class_targets(**changes: object) -> AlignmentTargets:
    """Classes at P with a 2-D LLM geometry (P, P + Y); stimulus s of class s // 2, off by
    -0.1 / +0.2 from its class; sample i shows stimulus i."""
    values: dict[str, object] = {
        "class_positions": P,
        "class_distances": rdm(P, P + Y),
        "stimulus_positions": np.repeat(P, 2) + np.tile([-0.1, 0.2], 3),
        "sample_stimulus": np.arange(6),
    }
    return AlignmentTargets(**(values | changes))  # type: ignore[arg-type]


def test_principal_coordinates_recover_a_planted_configuration() -> None:
    points = np.random.default_rng(0).standard_normal((6, 2))
    coordinates = principal_coordinates(rdm(points[:, 0], points[:, 1]))
    assert coordinates.shape == (6, 2)
    np.testing.assert_allclose(rdm(coordinates[:, 0], coordinates[:, 1]), rdm(*points.T))
    assert principal_coordinates(np.zeros((4, 4))).shape == (4, 0)  # nothing planted


def test_class_axes_are_the_geometry_orthogonal_to_v_scaled_like_v() -> None:
    # the V-correlated part of the geometry (P + Y tilts it) is regressed out: only Y remains
    np.testing.assert_allclose(class_axes(three_class_targets(), 2), AXIS_2[:, None], atol=1e-12)
    one_dimensional = three_class_targets(class_distances=None)  # |p_i - p_j| only
    assert class_axes(one_dimensional, 2).shape == (3, 0)


def test_loss_is_the_mean_mse_over_v_geometry_and_residual_axes() -> None:
    model = tiny_decoder()
    loss = MultiVReadout(three_class_targets(), 0.5, model, n_axes=3)
    assert loss.axis_names == ("v", "geometry-2", "stimulus-residual")
    with torch.no_grad():  # predictions 0: the loss is half the mean square of the targets
        loss.head.weight.zero_()
        loss.head.bias.zero_()
    v = np.repeat(P, 2) + np.tile([-0.1, 0.2], 3)
    expected_targets = np.stack([v, np.repeat(AXIS_2, 2), np.tile([-0.1, 0.2], 3)], axis=1)
    index = torch.arange(6)
    batch = Batch(x=torch.zeros(6), y=index // 2, index=index, epoch=1)
    torch.testing.assert_close(
        loss.sample_targets(batch), torch.as_tensor(expected_targets).float()
    )
    features = torch.zeros(6, model.feature_dim)
    value = loss(features, features, batch).item()
    assert value == pytest.approx(0.5 * float((expected_targets**2).mean()), rel=1e-6)
    with torch.no_grad():
        loss.head.bias.copy_(torch.tensor([1.0, 0.0, 0.0]))  # error on the V axis only
    errors = expected_targets - np.array([1.0, 0.0, 0.0])
    assert loss(features, features, batch).item() == pytest.approx(
        0.5 * float((errors**2).mean()), rel=1e-6
    )


def test_two_axes_keep_the_geometry_and_drop_the_residual() -> None:
    loss = MultiVReadout(three_class_targets(), 1.0, tiny_decoder(), n_axes=2)
    assert loss.axis_names == ("v", "geometry-2")


def test_one_axis_is_exactly_the_auxiliary_mse_head() -> None:
    targets, model = tiny_targets(), tiny_decoder()
    multi = MultiVReadout(targets, 0.5, model, n_axes=1)
    single = FeatureReadout(targets, 0.5, model)
    single.head.load_state_dict(multi.head.state_dict())
    batch = tiny_batch()
    logits, features = model(batch.x, return_features=True)
    torch.testing.assert_close(multi(logits, features, batch), single(logits, features, batch))
    with pytest.raises(ValueError, match="n_axes"):
        MultiVReadout(targets, 0.5, model, n_axes=0)


def faced_units() -> Units:
    """Two samples of each FACED class, each showing the first and last clip of its class."""
    units = planted_units(n_per_class=2, n_classes=9, shape=(1, 4, 3))
    clips = stimulus_classes("faced")
    first = [int(np.flatnonzero(clips == c)[0]) for c in range(9)]
    last = [int(np.flatnonzero(clips == c)[-1]) for c in range(9)]
    stimulus = np.where(np.arange(18) % 2 == 0, np.repeat(first, 2), np.repeat(last, 2))
    return replace(units, stimulus=stimulus, classes=FACED.classes)


def test_every_positions_source_of_the_sweep_gives_a_working_loss() -> None:
    units = faced_units()
    model = build_decoder("mlp", 4, 3, 9, hidden=[8])
    # positions=classes: stimuli sit at their class's valence group: only V, i.e. the MSE head
    groups = AlignmentTargets.from_positions(from_valence_groups("faced"), units)
    assert MultiVReadout(groups, 0.5, model).axis_names == ("v",)
    # positions=truth (per-stimulus values): V and the within-class residual
    values = np.random.default_rng(1).standard_normal(28)
    truth = StimulusPositions(
        dataset="faced", stimuli=tuple(range(28)), positions=tuple(values), source="truth"
    )
    planted = AlignmentTargets.from_positions(truth, units)
    loss = MultiVReadout(planted, 0.5, model)
    assert loss.axis_names == ("v", "stimulus-residual")
    # with 9 class embeddings (e.g. LLM centroids): V and two geometry axes
    embeddings = np.random.default_rng(2).standard_normal((9, 16))
    embedded = AlignmentTargets.from_positions(truth, units, class_embeddings=embeddings)
    assert MultiVReadout(embedded, 0.5, model).axis_names == ("v", "geometry-2", "geometry-3")
    x, index = torch.as_tensor(units.x), torch.arange(18)
    batch = Batch(x=x, y=torch.as_tensor(units.y), index=index, epoch=1)
    logits, features = model(x, return_features=True)
    assert torch.isfinite(loss(logits, features, batch))


def test_permuted_control_changes_targets_and_loss() -> None:
    targets = three_class_targets()
    model = tiny_decoder()
    torch.manual_seed(1)
    loss = build_intervention("multi-v", None, targets, model)
    torch.manual_seed(1)
    control = build_intervention("multi-v", None, targets, model, control="permuted", seed=3)
    assert isinstance(loss, MultiVReadout) and isinstance(control, MultiVReadout)
    index = torch.arange(6)
    batch = Batch(x=torch.zeros(6), y=index // 2, index=index, epoch=1)
    assert not torch.allclose(loss.sample_targets(batch), control.sample_targets(batch))
    features = torch.randn(6, model.feature_dim, generator=torch.Generator().manual_seed(0))
    assert not torch.isclose(loss(features, features, batch), control(features, features, batch))


def test_fit_trains_the_head_towards_every_planted_axis() -> None:
    units = planted_units(n_per_class=40, n_classes=3, shape=(2, 4, 3))
    targets = three_class_targets(stimulus_positions=P, sample_stimulus=units.stimulus)
    torch.manual_seed(0)
    model = build_decoder("mlp", 4, 3, 3, hidden=[16])
    aux = build_intervention("multi-v", None, targets, model)
    assert isinstance(aux, MultiVReadout) and aux.axis_names == ("v", "geometry-2")
    x = torch.as_tensor(units.x)
    wanted = torch.as_tensor(np.stack([P, AXIS_2], axis=1)[units.y]).float()

    def axis_mse() -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            return ((aux.head(model.features(x)) - wanted) ** 2).mean(dim=0)

    before = axis_mse()
    config = TrainConfig(
        decoder="mlp", hyper={"hidden": [16]}, epochs=3, batch_size=32, lr=1e-2,
        warmup_epochs=0, num_threads=1,
    )  # fmt: skip
    fit(config, units, model=model, extra_loss=aux)
    after = axis_mse()
    assert (after < 0.5 * before).all(), (before, after)
