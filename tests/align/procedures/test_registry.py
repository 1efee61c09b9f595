"""The registry, the context and the shared pieces of every procedure."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.align.procedures.fixtures import context, faced
from vaxis.align.interventions import INTERVENTIONS
from vaxis.align.procedures import PROCEDURES, ProcedureSpec, register
from vaxis.align.procedures.base import freeze, is_head

STUDY = {
    "peft-full-head": (0.1, -0.009),
    "peft-lora": (0.1, -0.010),
    "peft-ia3": (0.1, -0.016),
    "pretrain-frozen": (1.0, -0.401),
    "pretrain-unfrozen": (1.0, -0.190),
    "full-data-scaling": (0.5, -0.045),
    "cross-dataset": (0.1, 0.002),
}


def test_every_study_procedure_is_registered_with_its_published_effect() -> None:
    assert {n: (s.weight, s.study_effect) for n, s in PROCEDURES.items()} == STUDY
    assert all(s.study_name and "(published)" in s.study_name for s in PROCEDURES.values())
    assert not set(PROCEDURES) & set(INTERVENTIONS)  # one namespace for the lead's arms
    with pytest.raises(ValueError, match="registered twice"):
        register(ProcedureSpec("peft-lora", PROCEDURES["peft-lora"].train, 0.1))


def test_the_context_refuses_unknown_controls(tmp_path: Path) -> None:
    cohort, truth = faced(n_subjects=6)
    with pytest.raises(ValueError, match="unknown control 'shuffled'"):
        context(cohort, truth, tmp_path, control="shuffled")


def test_freeze_keeps_frozen_batch_norm_statistics_too() -> None:
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 2))
    names = freeze(model, lambda name: name.startswith("1."))
    assert names == ["1.weight", "1.bias"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    model(torch.randn(8, 3) * 5 + 2).sum().backward()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "num_batches" not in k)
    assert model[0].weight.grad is None and model[1].weight.grad is not None
    with pytest.raises(ValueError, match="nothing left to train"):
        freeze(model, lambda name: False)


def test_heads_are_named_classifier() -> None:
    assert is_head("classifier") and is_head("classifier.1.weight")
    assert not is_head("classifier_extra.weight") and not is_head("body.classifier")
