"""The recipe's settings: one declaration per field, the study's defaults in the library and
CPU-sized ones in ``[stages.ensemble]``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vaxis.ensemble.recipe import (
    CPU_SIZED,
    STUDY_EPOCHS,
    STUDY_SEEDS,
    EnsembleConfig,
    EnsembleRecipe,
    EnsembleSettings,
)


def test_the_config_is_the_recipe_plus_plumbing_and_the_settings_add_only_the_study_keys() -> None:
    recipe = set(EnsembleRecipe.model_fields)
    assert issubclass(EnsembleConfig, EnsembleRecipe) and issubclass(
        EnsembleSettings, EnsembleRecipe
    )
    assert set(EnsembleSettings.model_fields) - recipe == {"enabled", "heads", "channel_tokens"}
    assert {"cohort", "positions", "out", "hyper", "executor"} <= set(EnsembleConfig.model_fields)


def test_library_defaults_are_the_studys_and_the_stage_defaults_cpu_sized() -> None:
    study = EnsembleConfig(cohort=Path("c.cohort.h5"))
    assert (study.depth, study.width, study.seeds, study.epochs) == (
        6,
        128,
        STUDY_SEEDS,
        STUDY_EPOCHS,
    )
    assert (study.batch_size, study.lr, study.shallow_depth) == (128, 1e-3, 3)
    cpu = EnsembleSettings()
    assert {key: getattr(cpu, key) for key in CPU_SIZED} == CPU_SIZED
    assert EnsembleSettings(depth=3).width == 32  # a partial section keeps the CPU sizes


def test_both_refuse_an_unknown_protocol_and_a_one_member_pool() -> None:
    for make in (EnsembleSettings, lambda **kw: EnsembleConfig(cohort=Path("c"), **kw)):
        with pytest.raises(ValidationError, match="unknown protocol 'x'"):
            make(protocol="x")
        with pytest.raises(ValidationError, match="a pool of 1 member"):
            make(seeds=(0,), epochs=(4,))
