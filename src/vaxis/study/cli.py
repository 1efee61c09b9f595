"""`vaxis study`: the whole study in one command (a thin shell over ``run_study``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vaxis.checks import check_out_dir
from vaxis.console import SYNTHETIC_BANNER, console, fail
from vaxis.data.options import parse_nan_policy
from vaxis.errors import OptionError, VaxisError

if TYPE_CHECKING:
    from vaxis.study.config import StudyConfig

CONFIG_SUFFIXES = (".toml", ".yaml", ".yml")
INIT_FILE = Path("study.toml")


def study(
    target: Annotated[
        Path | None,
        typer.Argument(
            metavar="[CONFIG|DATA]",
            help="A study config (.toml, .yaml), or a FACED / SEED-V folder or *.cohort.h5 to "
            "run the default config on. Default: the embedded default (a SYNTHETIC "
            "FACED-shaped cohort and the bundled SmolLM2).",
        ),
    ] = None,
    init: Annotated[
        bool,
        typer.Option(
            "--init", help="Write the commented default config (to CONFIG or study.toml); exit."
        ),
    ] = False,
    stages: Annotated[
        str | None,
        typer.Option(help="Stages to run, comma-separated (their prerequisites run first)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Results folder (overrides the config).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    preset: Annotated[
        str | None,
        typer.Option(
            help="A named config instead of a file: laptop (the CPU-sized default) or paper "
            "(the study's protocol, docs/REFERENCE.md sec. 1.11) on DATA."
        ),
    ] = None,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan", help="Train nothing: write OUT/plan.json (every job and its cost); exit."
        ),
    ] = False,
    max_hours: Annotated[
        float | None,
        typer.Option(help="Refuse to start when the plan's estimate here exceeds this.", min=0),
    ] = None,
    gpu_tflops: Annotated[
        float,
        typer.Option(help="The GPU's peak TFLOP/s for the plan's GPU estimate.", min=0.001),
    ] = 989.0,
    smoke: Annotated[
        bool,
        typer.Option(
            "--smoke",
            help="Run every job of the config for one epoch of a few mini-batches, scored on "
            "every validation and test subject and stimulus, one unit each (the plumbing at "
            "full size, labelled SMOKE), into OUT-smoke.",
        ),
    ] = False,
    nan_policy: Annotated[
        str | None,
        typer.Option(
            "--nan-policy",
            help="NaN/Inf in the EEG: raise, drop or interpolate (overrides [data] nan_policy).",
        ),
    ] = None,
) -> None:
    """Run the study: V-axis build and validation, its agreement across models (those listed
    under [model] compare), EEG read-out, decoder zoo and probing, alignment interventions.
    Each stage is cached: a re-run skips what is done.

    Writes OUT/results.json (schema: vaxis/resources/study/results.schema.json), OUT/plots/
    (PNG and SVG) and OUT/report.html. Python: ``vaxis.study.run.run_study(StudyConfig(...))``.
    """
    from vaxis.study.config import load_config
    from vaxis.study.presets import preset as named

    if init:
        _init((target or INIT_FILE).expanduser(), preset or "laptop")
        return
    is_config = target is not None and target.suffix.lower() in CONFIG_SUFFIXES
    try:
        if preset is not None and is_config:
            problem = f"given with a config file ({target})"
            raise OptionError("--preset", preset, problem, "a config file or --preset, not both")
        if preset is not None:
            config = named(preset, str(target) if target is not None else "synthetic")
        else:
            config = load_config(target if is_config else None)
        data: dict[str, object] = {}
        if target is not None and not is_config and preset is None:
            data["source"] = str(target)
        if nan_policy is not None:
            data["nan_policy"] = parse_nan_policy(nan_policy)
        update: dict[str, object] = {"data": config.data.model_copy(update=data)}
        if out is not None:
            update["out"] = str(out.expanduser())
        config = config.model_copy(update=update)
        if smoke:
            from vaxis.study.presets import with_smoke

            config = with_smoke(config)
        check_out_dir(config.out)
        names = _stage_names(stages)
        if preset == "paper":
            from vaxis.study.presets import choices

            console.print("preset paper; choices where the study is silent:")
            for note in choices(config):
                console.print(f"  - {note}")
        if plan or max_hours is not None:
            _plan(config, names, gpu_tflops, max_hours, preset)
        if not plan:
            _run(config, names, progress)
    except (VaxisError, ValueError, FileExistsError) as error:
        fail(error)


def _plan(
    config: StudyConfig,
    names: list[str] | None,
    gpu_tflops: float,
    max_hours: float | None,
    preset: str | None,
) -> None:
    """Write and print the plan; fail when it exceeds ``max_hours`` here."""
    from vaxis.study.plan import make_plan, too_costly, write_plan
    from vaxis.study.plan_table import print_plan
    from vaxis.study.presets import choices

    console.print("planning (runs the data stage and a short throughput calibration) ...")
    plan = make_plan(config, names, gpu_tflops=gpu_tflops)
    plan["preset"] = preset
    plan["notes"] = choices(config) if preset == "paper" else []
    path = write_plan(plan, config.out)
    print_plan(plan, console)
    console.print(f"plan: {path.resolve()}")
    if max_hours is not None and (problem := too_costly(plan, max_hours)):
        fail(problem)


def _init(path: Path, preset: str) -> None:
    """Write the commented config of ``preset`` to ``path`` (a new .toml file; folders made)."""
    from vaxis.study.presets import init_text

    try:
        if path.suffix.lower() != ".toml":
            problem = f"{path.suffix or 'no suffix'}: the commented default is TOML"
            raise OptionError("--init", str(path), problem, "a new .toml file")
        if path.exists():
            raise OptionError("--init", str(path), "exists", "a new file; delete this one first")
        check_out_dir(path.parent)
    except VaxisError as error:
        fail(error)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(init_text(preset), encoding="utf-8")
    console.print(f"wrote {path}: edit it, then run `vaxis study {path}`")


def _stage_names(stages: str | None) -> list[str] | None:
    """The stages named by ``--stages`` (None: every enabled one); naming none is refused."""
    if stages is None:
        return None
    names = [name.strip() for name in stages.split(",") if name.strip()]
    if not names:
        import vaxis.study.stages  # noqa: F401  (registers the stages)
        from vaxis.study.registry import STAGES

        allowed = ", ".join(STAGES)
        raise OptionError("--stages", stages, "names no stage", f"one or more of {allowed}")
    return names


def _run(config: StudyConfig, names: list[str] | None, progress: bool) -> None:
    from vaxis.study.run import run_study

    if config.data.synthetic:
        console.print(SYNTHETIC_BANNER)
    console.print(
        f"vaxis study -> {config.out}/ (model {config.model.name}, data {config.data.source})"
    )
    result = run_study(config, names, progress=progress, say=console.print)
    console.print(f"[bold]report[/]: {result.report.resolve()}")
    console.print(f"results: {result.results.resolve()}")
    if result.synthetic:
        console.print(
            "[bold yellow]The EEG in this study is SYNTHETIC[/] (generated by vaxis, not "
            "recorded from people): the EEG figures test the software, they are not findings. "
            f"The V-axis comes from the language model {config.model.name!r} and human-rated "
            "text."
        )
    console.print(f"took {result.seconds:.0f} s")
