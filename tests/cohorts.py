"""Synthetic cohort files for the tests of the stages that read a cohort by path."""

from __future__ import annotations

from pathlib import Path

from vaxis.data.synthetic import SynthConfig, synthesize_features


def write_cohort(folder: Path, n_subjects: int = 16, n_windows: int = 10) -> Path:
    """``folder/s.cohort.h5``: a FACED-like synthetic cohort (seed 0, ``n_windows`` 1-s
    windows per trial) with its planted truth beside it (``folder/s``, what ``truth``
    positions read); 16 subjects give a holdout split with 3 test subjects."""
    cohort, truth = synthesize_features(
        SynthConfig(n_subjects=n_subjects, n_windows=n_windows, seed=0)
    )
    path = folder / "s.cohort.h5"
    cohort.save(path)
    truth.save(folder / "s")
    return path


def write_official_twins(folder: Path, n_subjects: int) -> tuple[Path, Path]:
    """``(folder/FACED, folder/s.cohort.h5)``: one synthetic cohort (seed 0, the official 30 s
    per clip) written in the official FACED layout and as a cohort file, the same EEG twice."""
    from vaxis.data.synthetic_files import export_official

    synth = SynthConfig(n_subjects=n_subjects, n_windows=30, seed=0)
    export_official(synth, folder / "FACED")
    return folder / "FACED", synthesize_features(synth)[0].save(folder / "s.cohort.h5")
