"""SEED-V's 310 DE columns: both layouts round-trip, and the data check warns exactly when the
layout a file is read with contradicts the layout it was written in."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.data.test_seedv import tiny_cohort, trial_dicts, write_file
from vaxis.data.cohort import Cohort
from vaxis.data.datasets import SEEDV, SEEDV_CHANNELS
from vaxis.data.seedv import load_seedv_features, write_seedv_features
from vaxis.data.seedv_layout import (
    LAYOUTS,
    LayoutWarning,
    band_share,
    check_layout,
    columns_to_grid,
    grid_to_columns,
)
from vaxis.data.synthetic import SynthConfig, synthesize_features

OTHER = {"channel-major": "band-major", "band-major": "channel-major"}


def one_over_f_de(
    n: int,
    exponent: float,
    seed: int = 0,
    gradient: float = 0.0,
    alpha_peak: float = 2.0,
    interaction: float = 0.0,
) -> np.ndarray:
    """DE (n, 62, 5) of EEG with a 1/f^exponent spectrum, as the official bands would see it.

    Band power is the spectrum integrated over each SEED-V band, with an alpha bump (10 Hz)
    growing from frontal to occipital channels (the channel list runs front to back); each
    channel has a spatially smooth log-gain (a random walk, plus ``gradient`` nats from front
    to back) and fixed per-band deviations (sd ``interaction``); each window adds a broadband
    (same for all bands) and a per-band fluctuation.
    """
    rng = np.random.default_rng(seed)
    freqs = np.linspace(1.0, 50.0, 4901)
    back = np.linspace(0.0, 1.0, len(SEEDV_CHANNELS))
    spectrum = freqs**-exponent * (
        1 + alpha_peak * back[:, None] * np.exp(-((freqs - 10) ** 2) / 2)
    )
    power = np.stack(
        [
            np.trapezoid(
                spectrum[:, (freqs >= lo) & (freqs <= hi)], freqs[(freqs >= lo) & (freqs <= hi)]
            )
            for lo, hi in SEEDV.band_edges
        ],
        axis=1,
    )
    gain = np.cumsum(rng.normal(0.0, 0.05, len(SEEDV_CHANNELS))) + gradient * (back - 0.5)
    de = 0.5 * np.log(2 * np.pi * np.e * power) + gain[:, None]
    de += interaction * rng.standard_normal(de.shape)
    broadband = rng.normal(0.0, 0.3, (n, len(SEEDV_CHANNELS), 1))
    return de + broadband + rng.normal(0.0, 0.2, (n, len(SEEDV_CHANNELS), 5))


def with_de(make: str) -> Cohort:
    """A two-subject SEED-V cohort (all 45 trials) carrying the named DE fixture."""
    if make == "synthetic":
        return synthesize_features(SynthConfig(like="seedv", n_subjects=2, n_windows=2))[0]
    cohort = tiny_cohort()
    n = cohort.n_samples
    data = {
        "1/f": lambda: one_over_f_de(n, 1.0),
        "1/f^2": lambda: one_over_f_de(n, 2.0),
        "1/f, scalp drift": lambda: one_over_f_de(
            n, 1.0, gradient=1.5, alpha_peak=0.0, interaction=0.2
        ),
    }[make]()
    return cohort.with_data(data.astype(np.float32))


def load_quietly(root: Path, layout: str) -> tuple[Cohort, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cohort = load_seedv_features(root, layout=layout)  # type: ignore[arg-type]
    return cohort, [w for w in caught if issubclass(w.category, LayoutWarning)]


# ------------------------------------------------------------------------------- layouts


def test_band_major_is_reshape_5_62_transposed_and_both_layouts_invert() -> None:
    rows = np.arange(2 * 310, dtype=float).reshape(2, 310)
    cm, bm = columns_to_grid(rows, "channel-major"), columns_to_grid(rows, "band-major")
    ch, band = SEEDV_CHANNELS.index("OZ"), SEEDV.band_names.index("alpha")
    assert cm[1, ch, band] == 310 + ch * 5 + band
    assert bm[1, ch, band] == 310 + band * 62 + ch
    np.testing.assert_array_equal(bm[1], rows[1].reshape(5, 62).T)
    for layout in LAYOUTS:
        np.testing.assert_array_equal(grid_to_columns(columns_to_grid(rows, layout), layout), rows)
    with pytest.raises(ValueError, match="channel-major or band-major"):
        columns_to_grid(rows, "channels-first")  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_writer_and_loader_agree_in_either_layout(tmp_path: Path, layout: str) -> None:
    cohort = with_de("synthetic")
    (path, _) = write_seedv_features(cohort, tmp_path, layout=layout)  # type: ignore[arg-type]
    loaded, caught = load_quietly(tmp_path, layout)
    np.testing.assert_array_equal(loaded.data, cohort.data)
    assert not caught
    provenance = loaded.meta.provenance
    assert provenance["layout"] == layout
    assert provenance["columns"].startswith(
        "column = " + ("channel" if layout[0] == "c" else "band")
    )
    assert provenance["layout_check"]["verdict"] == "consistent"
    # on disk the columns really are in that layout: OZ alpha of the first window
    ch, band = SEEDV_CHANNELS.index("OZ"), SEEDV.band_names.index("alpha")
    with np.load(path) as npz:
        first = pickle.loads(npz["data"])[0][0]
    column = ch * 5 + band if layout == "channel-major" else band * 62 + ch
    first_row = np.flatnonzero(
        (cohort.subject == cohort.subjects[0]) & (cohort.stimulus == 0) & (cohort.window == 0)
    )
    assert first[column] == cohort.data[first_row[0], ch, band]


def test_band_major_file_is_read_band_major(tmp_path: Path) -> None:
    ch, band = SEEDV_CHANNELS.index("OZ"), SEEDV.band_names.index("alpha")
    data, label = trial_dicts()
    data[20][1, band * 62 + ch] = 9.0
    write_file(tmp_path, 1, data, label)
    cohort, caught = load_quietly(tmp_path, "band-major")
    (hit,) = np.argwhere(cohort.data != 0)
    assert (SEEDV_CHANNELS[hit[1]], SEEDV.band_names[hit[2]]) == ("OZ", "alpha")
    assert not caught  # one non-zero value: nothing to tell the layouts apart
    assert cohort.meta.provenance["layout_check"]["verdict"] == "inconclusive"


# --------------------------------------------------------------------------- the check


@pytest.mark.parametrize("make", ["synthetic", "1/f", "1/f^2", "1/f, scalp drift"])
@pytest.mark.parametrize("written", LAYOUTS)
def test_check_warns_for_the_wrong_layout_and_not_for_the_right_one(
    tmp_path: Path, make: str, written: str
) -> None:
    write_seedv_features(with_de(make), tmp_path, layout=written)  # type: ignore[arg-type]
    right, quiet = load_quietly(tmp_path, written)
    wrong, loud = load_quietly(tmp_path, OTHER[written])
    assert not quiet
    assert right.meta.provenance["layout_check"]["detected"] == written
    (warning,) = loud
    message = str(warning.message)
    assert f"look {written}, but they were read {OTHER[written]}" in message
    assert f"--seedv-layout {written}" in message
    assert wrong.meta.provenance["layout_check"]["verdict"] == "contradicts"


def test_a_drift_across_the_scalp_does_not_pass_for_band_major() -> None:
    """A front-to-back drift makes the band-major reading's 'bands' (contiguous channel blocks)
    differ too, but only a channel-major file has a channel-major band profile."""
    grid = one_over_f_de(300, 1.0, gradient=1.5, alpha_peak=0.0, interaction=0.2)
    rows = grid_to_columns(grid, "channel-major")  # the file
    shares = {layout: band_share(rows.mean(axis=0), layout) for layout in LAYOUTS}
    assert shares["band-major"] > shares["channel-major"] > 0.25  # both readings look banded
    check = check_layout(grid, "channel-major")
    assert check.detected == "channel-major" and not check.contradicts
    misread = check_layout(columns_to_grid(rows, "band-major"), "band-major")
    assert misread.detected == "channel-major" and misread.contradicts


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_warning_where_the_columns_carry_no_band_structure(tmp_path: Path, layout: str) -> None:
    """Random DE, and DE z-scored per column (band offsets removed), cannot tell: no warning."""
    noise = tiny_cohort()
    real = with_de("1/f^2").data
    zscored = (real - real.mean(axis=0)) / real.std(axis=0)
    for i, cohort in enumerate([noise, noise.with_data(zscored.astype(np.float32))]):
        write_seedv_features(cohort, tmp_path / str(i), layout=layout)  # type: ignore[arg-type]
        for read in LAYOUTS:
            loaded, caught = load_quietly(tmp_path / str(i), read)
            assert not caught
            check = loaded.meta.provenance["layout_check"]
            assert check["verdict"] == "inconclusive" and check["detected"] is None
            assert max(check["band_share"].values()) < 0.1


def test_band_share_of_a_pure_band_profile() -> None:
    profile = np.array([4.0, 3.1, 2.9, 2.2, 1.6])  # not monotone in steps: not assumed
    grid = np.broadcast_to(profile, (1, 62, 5))
    for layout in LAYOUTS:
        columns = grid_to_columns(grid, layout)[0]
        assert band_share(columns, layout) == pytest.approx(1.0)
        assert band_share(columns, OTHER[layout]) < 0.05  # a band-major/channel-major mix
    assert band_share(np.zeros(310), "channel-major") == 0.0


# --------------------------------------------------------------------------- command line


def test_inspect_reads_the_layout_it_is_told_and_records_the_check(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vaxis.cli import app

    write_seedv_features(with_de("1/f^2"), tmp_path, layout="band-major")
    runner = CliRunner()
    summary = {}
    for layout in LAYOUTS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            args = ["data", "inspect", str(tmp_path), "--json", "--seedv-layout", layout]
            result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        summary[layout] = json.loads(result.output)["provenance"]
        flagged = [w for w in caught if issubclass(w.category, LayoutWarning)]
        assert len(flagged) == (layout != "band-major")
    assert summary["band-major"]["layout"] == "band-major"
    assert summary["band-major"]["layout_check"]["verdict"] == "consistent"
    assert summary["channel-major"]["layout_check"]["verdict"] == "contradicts"
    bad = runner.invoke(app, ["data", "inspect", str(tmp_path), "--seedv-layout", "rows"])
    assert bad.exit_code == 2 and "channel-major or band-major" in " ".join(bad.output.split())
