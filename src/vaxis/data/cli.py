"""`vaxis data`: make, import, inspect cohorts and compute DE features."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vaxis.checks import check_out_dir, check_out_file
from vaxis.console import SYNTHETIC_BANNER, console, fail
from vaxis.data import sources
from vaxis.data.datasets import SEEDV_BANDPASS_HZ
from vaxis.data.options import NanOption, parse_nan_policy
from vaxis.data.seedv_layout import LAYOUTS, SeedvLayout, check_layout_name
from vaxis.data.summary import CohortSummary, compact_ids, summarize
from vaxis.errors import VaxisError

app = typer.Typer(
    help=(
        "EEG cohorts: generate synthetic ones, inspect cohort files or FACED / SEED-V "
        "folders, compute differential-entropy (DE) features."
    ),
    no_args_is_help=True,
)

SeedvLayoutOption = Annotated[
    str,
    typer.Option(
        help="SEED-V feature files: how the 310 columns map to 62 channels x 5 bands: "
        "channel-major (column = channel * 5 + band; default) or band-major "
        "(band * 62 + channel). The data are checked and a warning says when they disagree.",
    ),
]
SeedvBandpassOption = Annotated[
    str,
    typer.Option(
        help="Raw SEED-V recordings: band-pass LOW,HIGH in Hz after any resampling "
        "(default CBraMod's 0.3,75; MNE's zero-phase FIR) or off.",
    ),
]
_DEFAULT_BANDPASS = ",".join(f"{edge:g}" for edge in SEEDV_BANDPASS_HZ)


def _seedv_layout(value: str) -> SeedvLayout:
    try:
        return check_layout_name(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}': choose {' or '.join(LAYOUTS)}") from None


def _seedv_bandpass(value: str) -> tuple[float, float] | None:
    if value.strip().lower() in ("off", "none"):
        return None
    try:
        low, high = (float(edge) for edge in value.split(","))
    except ValueError:
        raise typer.BadParameter(f"'{value}': give LOW,HIGH in Hz (e.g. 0.3,75) or off") from None
    if not 0 < low < high:
        raise typer.BadParameter(f"'{value}': need 0 < LOW < HIGH")
    return low, high


@app.command()
def inspect(
    path: Annotated[Path, typer.Argument(help="A *.cohort.h5 file or a FACED / SEED-V folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    nan_policy: NanOption = "raise",
    seedv_layout: SeedvLayoutOption = "channel-major",
    seedv_bandpass: SeedvBandpassOption = _DEFAULT_BANDPASS,
) -> None:
    """Summarise a cohort: subjects, shapes, labels, ratings, NaN report, provenance.

    Python: ``vaxis.data.summary.summarize(vaxis.data.sources.open_any(path))``.
    """
    try:
        options = {
            "seedv_layout": _seedv_layout(seedv_layout),
            "seedv_bandpass": _seedv_bandpass(seedv_bandpass),
        }
        cohort = sources.open_any(path, nan_policy=parse_nan_policy(nan_policy), options=options)
    except VaxisError as error:
        fail(error)
    summary = summarize(cohort)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2, default=str))
        return
    _print_summary(path, summary)


def _print_summary(path: Path, s: CohortSummary) -> None:
    if s.synthetic:
        console.print(SYNTHETIC_BANNER)
    table = Table(title=f"{path}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("dataset", f"{s.dataset} ({s.kind}){' — SYNTHETIC' if s.synthetic else ''}")
    table.add_row("samples", f"{s.n_samples} x {' x '.join(map(str, s.sample_shape))}")
    table.add_row("subjects", f"{s.n_subjects} ({compact_ids(s.subject_ids)})")
    table.add_row("samples / subject", "{} - {}".format(*s.samples_per_subject))
    table.add_row("stimuli / sessions", f"{s.n_stimuli} / {s.n_sessions}")
    table.add_row("channels", f"{len(s.channels)}: {' '.join(s.channels)}")
    if s.bands:
        table.add_row("bands", ", ".join(s.bands))
    table.add_row("labels", ", ".join(f"{k} {v}" for k, v in s.label_counts.items()))
    table.add_row("valence groups", ", ".join(f"{k} {v}" for k, v in s.valence_counts.items()))
    table.add_row(
        "ratings",
        "none"
        if s.ratings is None
        else ", ".join(f"{k} {v:.2f}" for k, v in s.ratings.items()) + " (means)",
    )
    table.add_row("NaN / Inf", s.nonfinite or "none")
    table.add_row("provenance", json.dumps(s.provenance, default=str)[:300])
    console.print(table)


@app.command()
def features(
    raw: Annotated[Path, typer.Argument(help="Raw EEG: a raw *.cohort.h5 or an official folder.")],
    out: Annotated[
        Path,
        typer.Argument(
            help="Output: a feature cohort file (*.cohort.h5), or with --layout faced a folder."
        ),
    ],
    method: Annotated[
        str, typer.Option(help="fast (vectorised FFT) or reference (official FACED filtering).")
    ] = "fast",
    layout: Annotated[
        str,
        typer.Option(
            help="cohort: one HDF5 file. faced: OUT is a folder receiving the official "
            "EEG_Features/DE/subNNN.pkl.pkl files (readable by other tools) and de.cohort.h5."
        ),
    ] = "cohort",
    nan_policy: NanOption = "raise",
    seedv_bandpass: SeedvBandpassOption = _DEFAULT_BANDPASS,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
) -> None:
    """Compute DE features from raw EEG, subject by subject (resumable: re-run to continue).

    Python: ``vaxis.data.pipeline.compute_features(raw, out)``; the official layout with
    ``vaxis.data.faced.write_faced_features(cohort, folder)`` (a dataset's
    :attr:`~vaxis.data.datasets.Dataset.write_features`).
    """
    from vaxis.data.datasets import DATASETS
    from vaxis.data.pipeline import compute_features

    writers = {name: d.write_features for name, d in DATASETS.items() if d.write_features}
    if method not in ("fast", "reference"):
        raise typer.BadParameter(f"'{method}': choose fast or reference")
    if layout != "cohort" and layout not in writers:
        raise typer.BadParameter(f"'{layout}': choose cohort or {' or '.join(writers)}")
    official = layout != "cohort"
    try:
        out = check_out_dir(out) if official else check_out_file(out)
        cohort_file = out / "de.cohort.h5" if official else out
        cohort = compute_features(
            raw,
            cohort_file,
            method=method,  # type: ignore[arg-type]
            nan_policy=parse_nan_policy(nan_policy),
            overwrite=overwrite,
            options={"seedv_bandpass": _seedv_bandpass(seedv_bandpass)},
        )
        if official:
            if cohort.meta.dataset != layout:
                needs = DATASETS[layout].label
                raise VaxisError(
                    f"--layout {layout} needs {needs} data, this is {cohort.meta.dataset}"
                )
            writers[layout](cohort, out, overwrite)
    except (VaxisError, FileExistsError, ValueError) as error:
        fail(error)
    if cohort.meta.synthetic:
        console.print(SYNTHETIC_BANNER)
    console.print(f"wrote {out}: {cohort.n_samples} samples from {cohort.subjects.size} subjects")


@app.command()
def convert(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="SRC",
            help="A FACED or SEED-V root, or the official feature or raw folder inside it.",
        ),
    ],
    out: Annotated[Path, typer.Argument(help="The cohort file to write (*.cohort.h5).")],
    nan_policy: NanOption = "raise",
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
) -> None:
    """Write an official dataset folder into one cohort file (features stay features; raw EEG
    is streamed subject by subject), which every command reads.

    Python: ``vaxis.data.sources.convert(src, out)``.
    """
    try:
        path = sources.convert(
            source, out, nan_policy=parse_nan_policy(nan_policy), overwrite=overwrite
        )
        meta = sources.load_meta(path)
    except (VaxisError, FileExistsError, ValueError) as error:
        fail(error)
    if meta.synthetic:
        console.print(SYNTHETIC_BANNER)
    console.print(f"wrote {path}: {meta.dataset} {meta.kind}")


@app.command("import")
def import_(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="SRC",
            help="A BIDS root (needs vaxis[bids]), a folder of MNE-readable recordings "
            "(.fif .edf .bdf .set .vhdr; subject from sub-<id> in the name) or one file.",
        ),
    ],
    out: Annotated[Path, typer.Argument(help="The cohort file to write (*.cohort.h5).")],
    events: Annotated[
        Path,
        typer.Option(
            help="Events mapping (.csv or .json): event (annotation name or trigger code), "
            "stimulus, label, optional class, valence (-1/0/1), description.",
        ),
    ],
    tmin: Annotated[float, typer.Option(help="Epoch start, seconds from each event.")] = 0.0,
    tmax: Annotated[
        float, typer.Option(help="Epoch end, seconds from each event (exclusive).")
    ] = 30.0,
    features: Annotated[
        str, typer.Option(help="none (write raw epochs) or de (write DE features directly).")
    ] = "none",
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
) -> None:
    """Import stimulus-labelled EEG (MNE files or BIDS) as a cohort of dataset 'custom': one
    row per mapped event, epoched TMIN <= t < TMAX, DE bands of FACED in 1 s windows.

    Python: ``vaxis.data.bids_import.import_eeg(src, out, events, tmin, tmax)``, or
    ``Cohort.from_epochs(epochs, stimulus=..., label=..., subject=...)``.
    """
    from vaxis.data.bids_import import import_eeg

    if features not in ("none", "de"):
        raise typer.BadParameter(f"'{features}': choose none or de")
    try:
        cohort, report = import_eeg(
            source,
            check_out_file(out),
            events,
            tmin=tmin,
            tmax=tmax,
            features=features,  # type: ignore[arg-type]
            overwrite=overwrite,
        )
    except (VaxisError, FileExistsError) as error:
        fail(error)
    subjects = ", ".join(f"{label}->{sid}" for label, sid in report.subjects.items())
    console.print(
        f"read {report.n_recordings} recording(s) of {len(report.subjects)} subject(s) "
        f"({subjects}): {report.n_epochs} epochs of {tmin:g}..{tmax:g} s"
    )
    if report.dropped:
        console.print(f"dropped {report.dropped} epoch(s) whose window runs outside the recording")
    if report.ignored_events:
        console.print(f"events not in the mapping (ignored): {', '.join(report.ignored_events)}")
    if cohort is None:
        console.print(f"wrote {out}: custom raw; DE features: vaxis data features {out} OUT")
    else:
        console.print(f"wrote {out}: custom DE features, {cohort.n_samples} samples")


@app.command()
def synth(
    out: Annotated[
        Path,
        typer.Option(
            help="Output: a *.cohort.h5 file (--layout cohort) or a folder (--layout official)."
        ),
    ] = Path("demo/synthetic-faced.cohort.h5"),
    like: Annotated[str, typer.Option(help="Shape the cohort like 'faced' or 'seedv'.")] = "faced",
    subjects: Annotated[
        int | None,
        typer.Option(help="Number of subjects (default 24 FACED / 16 SEED-V; FACED has 123)."),
    ] = None,
    windows: Annotated[int, typer.Option(help="Windows (seconds in FACED) per stimulus.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same cohort.")] = 0,
    raw: Annotated[bool, typer.Option(help="Also synthesize raw EEG (streamed to disk).")] = False,
    null: Annotated[
        bool,
        typer.Option(help="Plant no valence effect (a null cohort: methods must find nothing)."),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON file with any SynthConfig fields (overrides the flags)."),
    ] = None,
    layout: Annotated[
        str,
        typer.Option(help="cohort (one HDF5 file + ground truth) or official (dataset's layout)."),
    ] = "cohort",
    overwrite: Annotated[bool, typer.Option(help="Replace existing output.")] = False,
) -> None:
    """Generate a SYNTHETIC FACED- or SEED-V-shaped cohort with its ground truth saved beside it.

    The generative model (latent valence and arousal per stimulus, stimulus identity,
    subject-specific mixing and offsets, within-class residual, AR(1) noise) is documented in
    ``vaxis.data.synthetic``. Python: ``write_synthetic(SynthConfig(...), out)``.
    """
    from pydantic import ValidationError

    from vaxis.data.synthetic import SynthConfig
    from vaxis.data.synthetic_files import export_official, write_synthetic

    fields: dict[str, object] = {"like": like, "n_windows": windows, "seed": seed, "raw": raw}
    if subjects is not None:
        fields["n_subjects"] = subjects
    if null:
        fields["plant_valence"] = False
    if layout not in ("cohort", "official"):
        raise typer.BadParameter(f"'{layout}': choose cohort or official")
    try:
        out = check_out_dir(out) if layout == "official" else check_out_file(out)
        if config is not None:
            fields |= _read_mapping(config)
        settings = SynthConfig.model_validate(fields)
        with console.status("generating synthetic cohort..."):
            if layout == "official":
                written = export_official(settings, out, overwrite=overwrite)
            else:
                written = list(write_synthetic(settings, out, overwrite=overwrite).values())
    except (ValidationError, VaxisError, FileExistsError) as error:
        fail(error)
    console.print(SYNTHETIC_BANNER)
    console.print(
        f"wrote {len(written)} file(s) for {settings.n_subjects} synthetic "
        f"{settings.like} subjects under {out if layout == 'official' else out.parent}"
    )


def _read_mapping(path: Path) -> dict[str, object]:
    """A YAML or JSON file holding one mapping of settings."""
    import yaml

    if not path.is_file():
        raise VaxisError(f"{path}: config file not found")
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict):
        raise VaxisError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
    return loaded
