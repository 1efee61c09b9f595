"""Stage ``models``: do other language models place the emotion classes as the study's does?

With ``[model] compare`` listing more models, each gets its own V-axis (the ``[stages.axis]``
build; ``n_null`` draws and ``seed`` for the permutation p where not exact): the science and
its figures are vaxis.axis.compare_stage. With one model the stage reports a note and no figure.
"""

from __future__ import annotations

from pathlib import Path

from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, StudyError, stage
from vaxis.study.stages.axis import axis_config
from vaxis.study.stages.data import dataset_of

ONE_MODEL = "one model: list more under [model] compare to see agreement across models"


def _models(config: StudyConfig) -> list[str]:
    """The study's model and the compared ones; a ``gguf_file`` is joined to its folder."""
    name, gguf = config.model.name, config.model.gguf_file
    if gguf is not None:
        if not Path(name).is_dir():
            raise StudyError(
                f"[model] gguf_file = {gguf!r} needs name to be a folder to compare models; "
                "give name as the .gguf file's path instead"
            )
        name = str(Path(name) / gguf)
    return [name, *config.model.compare]


@stage(
    "models",
    "V-axis across models",
    requires=("axis",),
    uses=("model", "stages.axis"),
    fingerprint=dataset_of,  # the class set of the stories follows the EEG dataset
)
def models(config: StudyConfig, context: StudyContext) -> StageResult:
    """Compare the V-axes of ``[model] name`` and ``[model] compare`` (note if only one)."""
    if not config.model.compare:
        return StageResult(notes=[ONE_MODEL])
    from vaxis.axis.compare_stage import CompareConfig, run

    names, settings = _models(config), config.stages.axis
    build = axis_config(config, context).build_part()
    stage_config = CompareConfig(
        **build.model_dump(exclude={"gguf_file"}),
        models=tuple(names),
        n_null=settings.n_null,
        seed=settings.seed,
        out=context.folder("models"),
    )
    report = run(stage_config, progress=context.progress, overwrite=True)
    return StageResult.of(report, context)
