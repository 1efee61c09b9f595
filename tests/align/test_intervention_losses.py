"""Each intervention family against a hand computation or an independent implementation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial import procrustes as scipy_procrustes
from scipy.stats import spearmanr

from tests.align.interventions_fixtures import (
    CLASS_POSITIONS,
    STIMULUS_POSITIONS,
    tiny_batch,
    tiny_decoder,
    tiny_targets,
)
from vaxis.align.interventions import build_intervention
from vaxis.align.interventions.base import class_means
from vaxis.align.interventions.infonce import InfoNCELoss
from vaxis.align.interventions.procrustes import procrustes_disparity
from vaxis.align.interventions.prototypes import PrototypeLoss
from vaxis.align.interventions.readout import (
    FRONTAL,
    OCCIPITAL,
    FeatureReadout,
    MaskedReadout,
    select_channels,
)
from vaxis.align.interventions.rsa import RSALoss, correlation_rdm
from vaxis.data.datasets import FACED, SEEDV
from vaxis.decoders.train import Batch


def batch_of(y: list[int], x: torch.Tensor | None = None) -> Batch:
    index = torch.arange(len(y))
    return Batch(x=torch.zeros(len(y)) if x is None else x, y=torch.tensor(y), index=index, epoch=1)


def numpy_rsa(means: np.ndarray, target_rdm: np.ndarray) -> float:
    """Independent reference: 1 - Pearson between upper triangles of correlation RDMs."""
    rdm = 1 - np.corrcoef(means)
    iu = np.triu_indices(len(means), k=1)
    return float(1 - np.corrcoef(rdm[iu], target_rdm[iu])[0, 1])


# ------------------------------------------------------------------------------ read-out
def test_feature_readout_is_the_class_weighted_mse_of_a_linear_head() -> None:
    targets = tiny_targets(stimulus_positions=None, sample_stimulus=None)
    model = tiny_decoder()
    readout = FeatureReadout(targets, 0.5, model, class_weights={"anger": 3.0})
    with torch.no_grad():
        readout.head.weight.copy_(torch.tensor([[1.0] + [0.0] * 7]))
        readout.head.bias.zero_()
    features = torch.zeros(3, 8)
    features[:, 0] = torch.tensor([0.0, 1.0, 2.0])
    batch = batch_of([0, 3, 3])  # anger at -1.2, joy at 1.5 twice
    errors = np.array([(0 + 1.2) ** 2, (1 - 1.5) ** 2, (2 - 1.5) ** 2])
    expected = 0.5 * (3 * errors[0] + errors[1] + errors[2]) / 5
    assert readout(features, features, batch).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="class weight for 'rage'"):
        FeatureReadout(targets, 0.5, model, class_weights={"rage": 2.0})


def test_readout_uses_stimulus_positions_when_the_targets_have_them() -> None:
    readout = FeatureReadout(tiny_targets(), 1.0, tiny_decoder())
    batch = tiny_batch()
    expected = torch.as_tensor(STIMULUS_POSITIONS[np.arange(16) % 8]).float()
    torch.testing.assert_close(readout.sample_positions(batch), expected)


def test_regions_pick_the_10_20_channels_and_their_homologues() -> None:
    names = FACED.channels
    frontal = {names[i] for i, _ in select_channels(names, FRONTAL)}
    assert frontal == {"Fp1", "Fp2", "Fz", "F3", "F4", "F7", "F8"}
    occipital = {names[i] for i, _ in select_channels(names, OCCIPITAL)}
    assert occipital == {"PO3", "PO4", "Oz", "O1", "O2"}
    pairs = {(names[i], names[j]) for i, j in select_channels(names, FRONTAL, pairs_only=True)}
    assert ("F3", "F4") in pairs and ("Fp2", "Fp1") in pairs and len(pairs) == 6
    seedv = {SEEDV.channels[i] for i, _ in select_channels(SEEDV.channels, OCCIPITAL)}
    assert {"CB1", "POZ", "PO7", "OZ"} <= seedv and "P7" not in seedv
    with pytest.raises(ValueError, match="no channel"):
        select_channels(names, ("XX",))


def test_masked_readout_sees_only_its_channels_and_bands() -> None:
    model = tiny_decoder().eval()  # no dropout: equal inputs give equal features
    readout = MaskedReadout(
        tiny_targets(), 1.0, model, regions=FRONTAL, bands=("alpha",), asymmetry=True
    )
    batch = tiny_batch()
    f3, f4, alpha = FACED.channels.index("F3"), FACED.channels.index("F4"), 2
    masked = readout.masked(batch.x)
    expected = 0.5 * (batch.x[..., f3, alpha] - batch.x[..., f4, alpha])
    torch.testing.assert_close(masked[..., f3, alpha], expected)
    torch.testing.assert_close(masked[..., f4, alpha], -expected)
    assert (
        masked[..., f3, 0].abs().sum() == 0
        and masked[..., FACED.channels.index("Fz"), :].abs().sum() == 0
    )
    unused = torch.empty(0)  # a masked read-out reads the batch input, not logits/features
    value = readout(unused, unused, batch)
    # changing anything the mask drops (occipital channels, other bands) leaves the loss alone
    x = batch.x.clone()
    x[..., FACED.channels.index("O1"), :] += 5.0
    x[..., f3, 0] += 5.0
    same = readout(unused, unused, Batch(x, batch.y, batch.index, 1))
    torch.testing.assert_close(value, same)
    x[..., f4, alpha] += 5.0  # a kept cell does change it
    changed = readout(unused, unused, Batch(x, batch.y, batch.index, 1))
    assert not torch.isclose(value, changed)
    value.backward()
    assert model.classifier.weight.grad is None  # the head of the decoder is not involved
    assert all(p.grad is not None for n, p in model.named_parameters() if "classifier" not in n)


# ------------------------------------------------------------------------------ RSA
def test_rsa_matches_an_independent_numpy_computation() -> None:
    features = torch.randn(16, 5, generator=torch.Generator().manual_seed(2), requires_grad=True)
    batch = tiny_batch()
    targets = tiny_targets(class_embeddings=None)
    loss = RSALoss(targets, 2.0)(features, features, batch)
    means = np.stack([features.detach().numpy()[batch.y.numpy() == c].mean(0) for c in range(4)])
    gaps = np.abs(CLASS_POSITIONS[:, None] - CLASS_POSITIONS[None, :])
    assert loss.item() == pytest.approx(2.0 * numpy_rsa(means, gaps), rel=1e-5)
    loss.backward()
    assert features.grad is not None and features.grad.abs().sum() > 0


def test_rsa_matches_rsatoolbox() -> None:
    rsatoolbox = pytest.importorskip("rsatoolbox")
    means = np.random.default_rng(3).standard_normal((4, 6))
    rdm = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(means), method="correlation")
    np.testing.assert_allclose(
        correlation_rdm(torch.as_tensor(means)).numpy(), rdm.get_matrices()[0], atol=1e-10
    )
    target = rsatoolbox.rdm.RDMs(
        np.abs(CLASS_POSITIONS[:, None] - CLASS_POSITIONS[None, :])[np.triu_indices(4, 1)][None]
    )
    reference = 1 - rsatoolbox.rdm.compare(rdm, target, method="corr")[0, 0]
    features = torch.as_tensor(np.repeat(means, 4, axis=0)).float()
    y = torch.arange(4).repeat_interleave(4)
    ours = RSALoss(tiny_targets(class_embeddings=None), 1.0)(
        features, features, batch_of(y.tolist())
    )
    assert ours.item() == pytest.approx(reference, rel=1e-5)


def test_rsa_is_zero_for_planted_geometry_and_spearman_approximates_ranks() -> None:
    # class means on a line at the class positions (plus an offset so correlations are defined)
    rng = np.random.default_rng(0)
    base, direction = rng.standard_normal(20), rng.standard_normal(20)
    means = np.stack([base + p * direction for p in CLASS_POSITIONS])
    features = torch.as_tensor(means).float()
    batch = batch_of([0, 1, 2, 3])
    targets = tiny_targets(class_embeddings=None, class_distances=1 - np.corrcoef(means))
    assert RSALoss(targets, 1.0)(features, features, batch).item() == pytest.approx(0, abs=1e-5)
    noisy = features + torch.as_tensor(rng.standard_normal((4, 20))).float()
    rdm = correlation_rdm(noisy).numpy()[np.triu_indices(4, 1)]
    rho = spearmanr(rdm, targets.distances()[np.triu_indices(4, 1)]).statistic
    sharp = RSALoss(targets, 1.0, method="spearman", sharpness=1e-5)
    assert sharp(noisy, noisy, batch).item() == pytest.approx(1 - rho, abs=1e-3)
    two = batch_of([0, 1])
    assert RSALoss(targets, 1.0)(features[:2], features[:2], two).item() == 0.0


# ------------------------------------------------------------------------------ soft targets
def test_distance_weighted_ce_matches_a_hand_computation() -> None:
    targets = tiny_targets(class_embeddings=None)
    logits = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    batch = tiny_batch()
    value = build_intervention("distance-ce-tau5", None, targets)(logits, logits, batch).item()
    p = CLASS_POSITIONS
    q = np.exp(-np.abs(p[None, :] - p[:, None]) / 5)
    q /= q.sum(1, keepdims=True)
    log_p = torch.log_softmax(logits, 1).numpy()
    expected = -(q[batch.y.numpy()] * log_p).sum(1).mean()
    assert value == pytest.approx(expected, rel=1e-5)


def test_similarity_distillation_is_zero_at_the_teacher_and_matches_kl() -> None:
    targets = tiny_targets(class_embeddings=None)
    kd = build_intervention("kd-1", None, targets)
    batch = tiny_batch()
    p = CLASS_POSITIONS
    teacher = np.exp(-np.abs(p[None, :] - p[:, None]))
    teacher /= teacher.sum(1, keepdims=True)
    t = teacher[batch.y.numpy()]
    perfect = torch.as_tensor(2.0 * np.log(t)).float()  # softmax(logits / T) == teacher
    assert kd(perfect, perfect, batch).item() == pytest.approx(0, abs=1e-5)
    logits = torch.randn(16, 4, generator=torch.Generator().manual_seed(4))
    student = torch.softmax(logits / 2, 1).numpy()
    expected = 4 * (t * np.log(t / student)).sum(1).mean()
    assert kd(logits, logits, batch).item() == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------------------ geometry
def test_procrustes_matches_scipy_and_ignores_rotation_and_scale() -> None:
    rng = np.random.default_rng(5)
    m, t = rng.standard_normal((4, 6)), rng.standard_normal((4, 3))
    _, _, disparity = scipy_procrustes(np.c_[t, np.zeros((4, 3))], m)
    ours = procrustes_disparity(torch.as_tensor(m), torch.as_tensor(t)).item()
    assert ours == pytest.approx(disparity, rel=1e-8)
    rotation, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    aligned = 3.0 * np.c_[t, np.zeros((4, 3))] @ rotation + 1.5
    assert procrustes_disparity(torch.as_tensor(aligned), torch.as_tensor(t)).item() == (
        pytest.approx(0, abs=1e-10)
    )


def test_procrustes_loss_uses_batch_class_means_and_has_gradients() -> None:
    targets = tiny_targets()
    features = torch.randn(16, 5, generator=torch.Generator().manual_seed(6), requires_grad=True)
    batch = tiny_batch()
    loss = build_intervention("procrustes-0.05", None, targets)(features, features, batch)
    means, present = class_means(features, batch.y)
    assert present.tolist() == [0, 1, 2, 3]
    _, _, disparity = scipy_procrustes(
        np.c_[targets.class_embeddings, np.zeros((4, 2))], means.detach().numpy()
    )
    assert loss.item() == pytest.approx(0.05 * disparity, rel=1e-5)
    loss.backward()
    assert features.grad is not None and features.grad.abs().sum() > 0


def test_prototypes_sit_at_their_positions_along_the_learned_direction() -> None:
    model = tiny_decoder()
    for level, positions in (("class", CLASS_POSITIONS), ("stimulus", STIMULUS_POSITIONS)):
        loss = PrototypeLoss(tiny_targets(), 1.0, model, level=level)
        u = torch.nn.functional.normalize(loss.direction.detach(), dim=0)
        prototypes = loss.prototypes().detach()
        np.testing.assert_allclose((prototypes @ u).numpy(), positions, atol=1e-5)
        batch = tiny_batch()
        features = torch.randn(16, 8, generator=torch.Generator().manual_seed(8))
        which = batch.y if level == "class" else batch.index % 8
        expected = ((features - prototypes[which]) ** 2).mean()
        torch.testing.assert_close(loss(features, features, batch).detach(), expected)
    with pytest.raises(ValueError, match="stimulus positions"):
        PrototypeLoss(
            tiny_targets(stimulus_positions=None, sample_stimulus=None), 1.0, model, "stimulus"
        )


def test_infonce_is_cross_entropy_of_cosines_to_the_class_embeddings() -> None:
    targets = tiny_targets()
    model = tiny_decoder()
    loss = build_intervention("infonce-0.1", 1.0, targets, model)
    assert isinstance(loss, InfoNCELoss) and targets.class_embeddings is not None
    features = torch.randn(16, 8, generator=torch.Generator().manual_seed(9))
    batch = tiny_batch()
    w, b = loss.project.weight.detach().numpy(), loss.project.bias.detach().numpy()
    z = features.numpy() @ w.T + b
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    e = targets.class_embeddings
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    scores = z @ e.T / 0.1
    log_p = scores - np.log(np.exp(scores).sum(1, keepdims=True))
    expected = -log_p[np.arange(16), batch.y.numpy()].mean()
    assert loss(features, features, batch).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="m >= 2"):
        build_intervention("infonce-0.1", 1.0, tiny_targets(class_embeddings=None), model)
