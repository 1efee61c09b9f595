"""`vaxis axis`: build a V-axis from a language model, validate it zero-shot, compare models."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from vaxis.axis.methods import METHODS
from vaxis.checks import check_out_dir, check_out_file
from vaxis.console import console, fail
from vaxis.errors import VaxisError

if TYPE_CHECKING:
    from vaxis.axis.build import AxisBuildConfig
    from vaxis.axis.sizing import ExtractionPlan

T = TypeVar("T")

app = typer.Typer(
    help=(
        "The valence axis (V-axis) of a language model.\n\n"
        "`build` embeds emotion stories (nine FACED classes; bundled, or your own) and fits a "
        "direction in the model's hidden states; `validate` scores human-rated texts on it "
        "zero-shot against a random-direction null, a lexicon and a supervised probe; "
        "`compare` builds one axis per model and correlates their class positions. "
        "`--recipe study` is the study's recipe exactly (centroid PCA-1, penultimate layer, "
        "last token, one story per class). Models run from local files only. GGUF models "
        "(the bundled SmolLM2) are 4-bit weights dequantized to float32: every output says so."
    ),
    no_args_is_help=True,
)

# ------------------------------------------------------------------ options shared by commands
Model = Annotated[
    str,
    typer.Option(
        help="Bundled alias (smollm2, gemma3-270m), a model folder, a .gguf file, or a Hugging "
        "Face id already in the local cache."
    ),
]
GgufFile = Annotated[
    str | None, typer.Option(help="Which .gguf file inside a model folder or hub repository.")
]
Stories = Annotated[
    Path | None,
    typer.Option(
        help="Your stories: a YAML file, a folder of per-class YAML files, or a CSV "
        "(class, story_id, text, is_paraphrase). Default: the bundled stories."
    ),
]
Dataset = Annotated[str, typer.Option(help="Class set of the stories: faced (9) or seedv (5).")]
Method = Annotated[
    str,
    typer.Option(
        help=f"Direction method: {', '.join(sorted(METHODS))}. ridge_score (default) orders the "
        "bundled stories by valence on small models; centroid_pca is the study's."
    ),
]
Layer = Annotated[
    str,
    typer.Option(
        help="auto (best held-out class ordering on the stories among the layers that pass the "
        "diagnosis; never on evaluation data), "
        "penultimate (the study's), or a layer index (0 = embeddings, negative from the end)."
    ),
]
Recipe = Annotated[
    str | None,
    typer.Option(
        help="'study': the study exactly (centroid PCA-1, penultimate layer, last token, main "
        "story of each class); overrides --method, --layer, --pooling and --stories-scope."
    ),
]
Pooling = Annotated[
    str, typer.Option(help="last (last real token, the study's) or mean (tokens after the first).")
]
Scope = Annotated[
    str,
    typer.Option(
        "--stories-scope",
        help="all (three topical stories per class: less content-driven) or main (one story).",
    ),
]
Paraphrases = Annotated[
    bool, typer.Option(help="Embed each story's paraphrases too (the study used 50 per story).")
]
Holdout = Annotated[
    str,
    typer.Option(
        help="What layer scoring holds out: class (strictest), story, or auto (class when "
        "each valence sign has two classes, else story: SEED-V has one positive class)."
    ),
]
BatchSize = Annotated[int, typer.Option(help="Texts per forward pass (results do not change).")]
MaxTokens = Annotated[
    int,
    typer.Option(
        help="Padded tokens per forward pass (texts x longest text; results do not change). "
        "A batch that runs out of memory is halved and retried."
    ),
]
Device = Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 or auto (default: detect).")]
CacheDir = Annotated[
    Path | None, typer.Option(help="Hidden-state cache (default: $VAXIS_CACHE or ~/.cache/vaxis).")
]
Overwrite = Annotated[bool, typer.Option(help="Replace existing outputs.")]
Progress = Annotated[bool, typer.Option(help="Show progress bars.")]


#: CLI options whose AxisBuildConfig field has another name
_FIELD_OF_OPTION = {"paraphrases": "include_paraphrases"}


def _config(options: dict[str, Any]) -> AxisBuildConfig:
    """An AxisBuildConfig from a command's parameters (its ``locals()`` on entry): those that
    are config fields, renamed where the option's name differs, paths as strings. One mapping
    for every command that builds axes, so an option cannot reach one and miss another."""
    from vaxis.axis.build import AxisBuildConfig

    fields = {_FIELD_OF_OPTION.get(name, name): value for name, value in options.items()}
    chosen = {name: value for name, value in fields.items() if name in AxisBuildConfig.model_fields}
    for key in ("stories", "cache_dir"):
        if chosen.get(key) is not None:
            chosen[key] = str(chosen[key])
    return AxisBuildConfig(**chosen)


def _run(call: Callable[[], T]) -> T:
    """Run ``call``; print warnings as warnings and errors as one red line (exit code 2)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return call()
        except (VaxisError, ValueError, FileExistsError, ValidationError) as error:
            fail(error)
        finally:
            for warning in caught:
                console.print(f"[yellow]warning[/]: {warning.message}")


# ------------------------------------------------------------------------------------- build
@app.command()
def build(
    out: Annotated[Path, typer.Option("--out", "-o", help="Axis folder to write.")],
    model: Model = "smollm2",
    gguf_file: GgufFile = None,
    stories: Stories = None,
    dataset: Dataset = "faced",
    method: Method = "ridge_score",
    layer: Layer = "auto",
    recipe: Recipe = None,
    pooling: Pooling = "last",
    stories_scope: Scope = "all",
    paraphrases: Paraphrases = True,
    holdout: Holdout = "auto",
    batch_size: BatchSize = 16,
    max_tokens_per_batch: MaxTokens = 4096,
    device: Device = None,
    cache_dir: CacheDir = None,
    allow_download: Annotated[
        bool,
        typer.Option(help="Let transformers download a hub id missing from the local cache."),
    ] = False,
    overwrite: Overwrite = False,
    progress: Progress = True,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Print the model's size and the memory, disk and time the extraction will "
            "take, loading no weights; build nothing.",
        ),
    ] = False,
) -> None:
    """Fit a V-axis on emotion stories and write OUT/: axis.json + directions.npy, build.json,
    stimulus_positions.csv (FACED clips), class_positions.png, layer_scores.png.

    Python: ``vaxis.axis.build.build_axis(AxisBuildConfig(...), out)``.
    """
    options = dict(locals())  # the parameters, before anything else is bound
    if plan:
        from vaxis.axis.build import plan_build

        _print_plan(_run(lambda: plan_build(_run(lambda: _config(options)))))
        return
    _run(lambda: check_out_dir(out))  # refused before the model loads
    from vaxis.axis.build import BUILD_FILE, build_axis, read_build
    from vaxis.axis.stage import class_table
    from vaxis.core.render import rich_table

    config = _run(lambda: _config(options))
    axis = _run(lambda: build_axis(config, out, progress=progress, overwrite=overwrite))
    _, record = read_build(out)
    table = Table(title=f"V-axis of {config.model}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("model", f"{record['model']['architecture']}, {axis.n_layers_} states")
    table.add_row("weights", record["model_note"])
    table.add_row("method / layer", f"{axis.method_} / {axis.layer_} (rule {config.layer})")
    table.add_row("stories", f"{record['stories']['source']}, {record['stories']['n_texts']} texts")
    verdict = "[green]ok[/]" if axis.diagnosis_.ok else "[red]not a valence ordering[/]"
    table.add_row("diagnosis", f"held-out Spearman {axis.diagnosis_.spearman:.2f}: {verdict}")
    table.add_row("took", f"{record['timing_s']['total']:.1f} s")
    console.print(table)
    console.print(rich_table(class_table(axis)))
    console.print(
        f"wrote {out}/: axis.json, directions.npy, {BUILD_FILE}, " + ", ".join(record["files"])
    )


def _size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000:
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.3g} TB"


def _print_plan(plan: ExtractionPlan) -> None:
    """The extraction plan as a table (nothing was loaded but the tokenizer)."""
    table = Table(title=f"Plan for {plan.model}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row(
        "model",
        f"{plan.architecture}, {plan.n_parameters:,} parameters, "
        f"{plan.n_states - 1} layers x width {plan.width}, files {_size(plan.file_bytes)}",
    )
    table.add_row("texts", f"{plan.n_texts} texts, {plan.n_tokens} tokens")
    table.add_row("device", f"{plan.device}, {plan.dtype}")
    chunks = f"{plan.n_chunks} chunk(s) of {plan.layers_per_chunk} layers"
    table.add_row(
        "memory",
        f"{_size(plan.memory_bytes)} = weights {_size(plan.weight_bytes)} + one batch "
        f"{_size(plan.batch_bytes)} + pooled states {_size(plan.chunk_bytes)} ({chunks})",
    )
    table.add_row(
        "disk",
        f"{_size(plan.disk_bytes)} of states ({plan.n_states} x {plan.n_texts} texts x "
        f"{plan.width} x 4 bytes) in the cache",
    )
    table.add_row(
        "time",
        f"~{plan.seconds:.3g} s (2 x parameters x tokens x passes = {plan.flops:.2e} FLOPs at "
        f"an assumed {plan.assumed_flops_per_s:.0e} FLOP/s on {plan.device}; 0 if cached)",
    )
    console.print(table)


# ---------------------------------------------------------------------------------- validate
@app.command()
def validate(
    axis_dir: Annotated[Path, typer.Argument(help="An axis folder written by `vaxis axis build`.")],
    data: Annotated[
        str,
        typer.Option(
            help="Comma-separated corpora: vader-movies, vader-tweets, vader-amazon, vader-nyt, "
            "mr (alias rt), vader-lexicon, afinn; or paths to your CSV/TSV/JSONL files."
        ),
    ],
    max_items: Annotated[
        int, typer.Option(help="Texts per corpus: a seeded, stratified subsample (0: all).")
    ] = 1000,
    layers: Annotated[
        str,
        typer.Option(
            help="all (curve over layers, for inspection, not selection) or chosen (axis layer)."
        ),
    ] = "all",
    n_null: Annotated[int, typer.Option(help="Random unit directions in the null.")] = 1000,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% CI.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for subsample, null, bootstrap, folds.")] = 0,
    threshold: Annotated[
        float | None,
        typer.Option(help="Binarise ratings here for AUROC (default: the scale's middle)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default: AXIS_DIR).")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Text column of your files.")] = "text",
    label_column: Annotated[
        str | None, typer.Option(help="Binary label column of your files (default: 'label').")
    ] = None,
    score_column: Annotated[
        str | None, typer.Option(help="Rating column of your files (default: 'score').")
    ] = None,
    progress: Progress = True,
) -> None:
    """Zero-shot sentiment on human-rated texts: AUROC / Spearman per layer with a 95% CI and a
    random-direction null; beside it a lexicon baseline, a supervised probe (the ceiling) and
    an ablation. Writes validation.json and validation_layers.png.

    Python: ``vaxis.axis.validate.validate_axis(axis_dir, corpora)``.
    """
    from vaxis.axis.stage import corpus_notes, zero_shot_table
    from vaxis.axis.validate import CURVES_PLOT, VALIDATION_FILE, validate_axis
    from vaxis.core.render import rich_table

    if layers not in ("all", "chosen"):
        raise typer.BadParameter(f"'{layers}': choose all or chosen")
    corpora = [name.strip() for name in data.split(",") if name.strip()]
    _run(lambda: check_out_dir(out or axis_dir))
    report = _run(
        lambda: validate_axis(
            axis_dir,
            corpora,
            max_items=max_items or None,
            layers=layers,  # type: ignore[arg-type]
            n_null=n_null,
            n_boot=n_boot,
            seed=seed,
            threshold=threshold,
            out_dir=out,
            progress=progress,
            text_column=text_column,
            label_column=label_column,
            score_column=score_column,
        )
    )
    for note in corpus_notes(report):
        console.print(f"[yellow]note[/]: {escape(note)}")
    console.print(rich_table(zero_shot_table(report)))
    where = out or axis_dir
    plot = f", {CURVES_PLOT}" if layers == "all" else ""
    console.print(f"wrote {where}/: {VALIDATION_FILE}{plot}")


# ----------------------------------------------------------------------------------- compare
@app.command()
def compare(
    models: Annotated[list[str], typer.Argument(help="Two or more models (as for --model).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    reference: Annotated[
        Path | None,
        typer.Option(
            help="CSV 'class,valence' (e.g. human ratings of the classes); default: the "
            "stories' a-priori class valence."
        ),
    ] = None,
    positions: Annotated[
        str,
        typer.Option(
            help="held-out (each class placed by a direction fitted without it; default) or "
            "in-sample (the study's; inflated for supervised methods)."
        ),
    ] = "held-out",
    n_null: Annotated[
        int,
        typer.Option(
            help="Permutation draws where the test is not exact (the mean agreement; more "
            "than 9 classes)."
        ),
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of those draws.")] = 0,
    stories: Stories = None,
    dataset: Dataset = "faced",
    method: Method = "ridge_score",
    layer: Layer = "auto",
    recipe: Recipe = None,
    pooling: Pooling = "last",
    stories_scope: Scope = "all",
    paraphrases: Paraphrases = True,
    holdout: Holdout = "auto",
    batch_size: BatchSize = 16,
    device: Device = None,
    cache_dir: CacheDir = None,
    overwrite: Overwrite = False,
    progress: Progress = True,
) -> None:
    """Build one axis per model (loaded one at a time) and correlate their class positions:
    Pearson and Spearman matrices, mean off-diagonal, tier against a reference. Writes
    consistency.json, agreement.png and each model's axis under OUT/axes/.

    Python: ``vaxis.axis.compare_stage.run(CompareConfig(models=..., out=...))``.
    """
    options = dict(locals())  # the parameters, before anything else is bound
    _run(lambda: check_out_dir(out))  # refused before the model loads
    from vaxis.axis.compare import CONSISTENCY_FILE, HEATMAP_PLOT
    from vaxis.axis.compare_stage import CompareConfig, run
    from vaxis.core.render import print_report

    kind: Literal["held_out", "in_sample"]
    if positions == "held-out":
        kind = "held_out"
    elif positions == "in-sample":
        kind = "in_sample"
    else:
        raise typer.BadParameter(f"'{positions}': choose held-out or in-sample")
    config = _run(
        lambda: CompareConfig(
            **_config(options).model_dump(),
            models=tuple(models),
            reference=None if reference is None else str(reference),
            positions=kind,
            n_null=n_null,
            seed=seed,
            out=out,
        )
    )
    report = _run(lambda: run(config, progress=progress, overwrite=overwrite))
    print_report(report, figures=True)
    console.print(f"wrote {out}/: {CONSISTENCY_FILE}, {HEATMAP_PLOT}, axes/")


# -------------------------------------------------------------------------------- paraphrase
@app.command()
def paraphrase(
    out: Annotated[Path, typer.Option("--out", "-o", help="Story file to write (.yaml or .csv).")],
    model: Model = "smollm2",
    gguf_file: GgufFile = None,
    stories: Stories = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Check your stories' classes against faced or seedv (default: no check)."
        ),
    ] = None,
    n: Annotated[int, typer.Option(help="Paraphrases per story (existing ones count).")] = 50,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 0.95,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per output.")] = 120,
    min_tokens: Annotated[int, typer.Option(help="Shortest paraphrase kept (tokens).")] = 5,
    max_tokens: Annotated[int, typer.Option(help="Longest paraphrase kept (tokens).")] = 80,
    min_distance: Annotated[
        float, typer.Option(help="Smallest cosine distance from the source story kept.")
    ] = 0.10,
    embedder: Annotated[
        str,
        typer.Option(
            help="lm-mean (middle layer of the same model, a stand-in for a sentence embedder) "
            "or an encoder folder / alias (minilm)."
        ),
    ] = "lm-mean",
    max_attempts: Annotated[int, typer.Option(help="Outputs per story at most, times n.")] = 4,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    batch_size: BatchSize = 16,
    device: Device = None,
    cache_dir: CacheDir = None,
    overwrite: Overwrite = False,
    progress: Progress = True,
) -> None:
    """Paraphrase every story with a local instruction model (the study's recipe: keep all
    emotional content, different words and structure; kept when 5-80 tokens long and at cosine
    distance >= 0.10 from the source). Writes OUT and paraphrase_report.json beside it.

    Python: ``vaxis.axis.paraphrase.generate_paraphrases(stories, ParaphraseConfig(...), out)``.
    """
    from vaxis.axis.paraphrase import REPORT_FILE, ParaphraseConfig, generate_paraphrases
    from vaxis.axis.stories import load_bundled_stories, load_stories

    _run(lambda: check_out_file(out))
    config = _run(
        lambda: ParaphraseConfig(
            model=model,
            gguf_file=gguf_file,
            n=n,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            min_tokens=min_tokens,
            max_tokens=max_tokens,
            min_distance=min_distance,
            embedder=embedder,
            max_attempts=max_attempts,
            batch_size=batch_size,
            seed=seed,
            device=device,
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    )
    story_set = _run(
        lambda: (
            load_stories(stories, dataset) if stories else load_bundled_stories(dataset or "faced")
        )
    )
    _, report = _run(lambda: generate_paraphrases(story_set, config, out, progress, overwrite))
    table = Table(title=f"paraphrases by {model} ({report['prompt_style']} prompt)")
    for column in ("story", "had", "generated", "kept", "rejected"):
        table.add_column(column)
    for story_id, c in report["stories"].items():
        why = ", ".join(f"{k} {v}" for k, v in c["rejected"].items() if v) or "-"
        table.add_row(story_id, str(c["existing"]), str(c["generated"]), str(c["kept"]), why)
    console.print(table)
    console.print(f"[bold]weights[/]: {report['model_note']}; distances: {report['embedder']}")
    console.print(f"wrote {out} and {out.parent / REPORT_FILE}")
