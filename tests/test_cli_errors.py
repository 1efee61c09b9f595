"""Every command refuses bad input at its edge, before any work, in one line that names the key
or flag, the bad value and what is allowed; it never modifies its inputs, never leaves files
behind when it refuses, and never shows a traceback or pydantic's own text.

One table: a new command (or a new way to go wrong) joins it in one line. Placeholders in a
command line: ``<in>`` the shared inputs (``clean.cohort.h5`` and ``nan.cohort.h5``, synthetic
FACED-shaped cohorts with their ground truth, ``file.txt``, and official FACED folders
``gap/`` and ``mixed/``), ``<tmp>`` the case's own
folder (the working folder too), ``<home>`` the case's ``$HOME``, ``<ro>`` a folder nobody
may write in.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.filesafety import digest
from vaxis.cli import app
from vaxis.console import console
from vaxis.data.synthetic import SynthConfig, synthesize_features


class Case(NamedTuple):
    name: str
    argv: list[str]
    phrase: str
    code: int = 2
    #: a study config written to ``<tmp>/c.toml`` before the command runs ('' : none)
    toml: str = ""
    #: whether the command may write (False: the case folder is as before, byte for byte)
    writes: bool = False
    exists: str = ""
    absent: str = ""


CLEAN, NAN, FILE = "<in>/clean.cohort.h5", "<in>/nan.cohort.h5", "<in>/file.txt"
TRUTH = ["--positions", "truth"]
ALIGN = ["align", CLEAN, *TRUTH, "--executor", "serial", "-o", "<tmp>/o"]
ENSEMBLE = ["ensemble", CLEAN, "--executor", "serial", "-o", "<tmp>/o"]
TRAIN = ["train", CLEAN, "-o", "<tmp>/o"]
STUDY = ["study", "<tmp>/c.toml", "--stages", "data", "-o", "<tmp>/o"]
NAN_FIX = "--nan-policy drop (drop affected samples) or --nan-policy interpolate"
SMALL_DATA = "[data]\nsubjects = 4\nwindows = 2\n"
#: every command that writes, with the output flag last (its value is appended)
WRITERS = {
    "brain map": ["brain", "map", CLEAN, *TRUTH, "-o"],
    "align": ["align", CLEAN, *TRUTH, "-o"],
    "ensemble": ["ensemble", CLEAN, "-o"],
    "train": ["train", CLEAN, "-o"],
    "probe": ["probe", "<in>", "--positions", "classes", "-o"],
    "saturation": ["saturation", "<in>", "-o"],
    "study": ["study", "-o"],
    "axis build": ["axis", "build", "-o"],
    "axis compare": ["axis", "compare", "smollm2", "gemma3-270m", "-o"],
}

CASES = [
    # NaN/Inf: every command that reads a cohort checks it once, with one error and one advice
    Case("nan: data inspect", ["data", "inspect", NAN], NAN_FIX),
    Case("nan: brain map", ["brain", "map", NAN, *TRUTH, "-o", "<tmp>/o"], NAN_FIX),
    Case("nan: train", ["train", NAN, "-o", "<tmp>/o"], NAN_FIX),
    Case("nan: align", ["align", NAN, *TRUTH, "-o", "<tmp>/o"], NAN_FIX),
    Case("nan: ensemble", ["ensemble", NAN, "-o", "<tmp>/o"], NAN_FIX),
    Case("nan: study refuses at the data stage, before the axis", ["study", NAN, "-o", "<tmp>/o"],
         NAN_FIX, writes=True, absent="<tmp>/o/stages/axis"),
    Case("nan: the advice works (inspect)", ["data", "inspect", NAN, "--nan-policy", "drop"],
         "samples", code=0),
    Case("nan: the advice works (study)", ["study", NAN, "--nan-policy", "interpolate",
         "--stages", "data", "-o", "<tmp>/o"], "took", code=0, writes=True,
         exists="<tmp>/o/stages/data/cohort.cohort.h5"),
    Case("nan: unknown policy", ["data", "inspect", NAN, "--nan-policy", "zero"],
         "--nan-policy 'zero': unknown policy (allowed: raise, drop, interpolate)"),
    # FACED folders: the advice is what a command-line user can do
    Case("faced: a gap in the subjects", ["data", "inspect", "<in>/gap"],
         "move the files after the gap into another folder"),
    Case("faced: mixed channel counts", ["data", "inspect", "<in>/mixed"],
         "replace the odd files by the originals from the FACED download"),
    # the whole study config is checked against every registry when it is read
    Case("config: zoo seeds = []", STUDY, "stages.zoo.seeds: [] is not allowed (allowed: at least",
         toml="[stages.zoo]\nseeds = []\n"),
    Case("config: zoo decoders = []", STUDY,
         "stages.zoo.decoders: [] is not allowed (allowed: one or more decoders of ",
         toml="[stages.zoo]\ndecoders = []\n"),
    Case("config: align interventions = []", STUDY,
         "stages.align.interventions: [] is not allowed (allowed: one or more interventions",
         toml="[stages.align]\ninterventions = []\n"),
    Case("config: ensemble epochs = [-2]", STUDY,
         "stages.ensemble.epochs: [-2] is not allowed (allowed: epoch counts >= 1)",
         toml="[stages.ensemble]\nepochs = [-2]\n"),
    Case("config: align decoder typo", STUDY,
         "stages.align.decoder: unknown torch decoder 'mpl' (allowed: axial, ",
         toml="[stages.align]\ndecoder = 'mpl'\n"),
    Case("config: one-member ensemble", STUDY,
         "stages.ensemble: seeds x epochs give a pool of 1 member (allowed: at least 2",
         toml="[stages.ensemble]\nseeds = [0]\nepochs = [4]\n"),
    Case("config: align needs two seeds", STUDY, "stages.align.seeds: [0] is not allowed",
         toml="[stages.align]\nseeds = [0]\n"),
    Case("config: align protocol typo", STUDY, "stages.align.protocol: unknown protocol 'holdot'",
         toml="[stages.align]\nprotocol = 'holdot'\n"),
    Case("config: validation corpus typo", STUDY, "unknown corpus 'vader-movie' (allowed: ",
         toml="[stages.axis]\nvalidation_data = ['vader-movie']\n"),
    Case("config: unknown key lists the allowed", STUDY,
         "stages.zoo.epoch: unknown key (allowed: precision, tf32, smoke, decoders, regimes, "
         "seeds, epochs",
         toml="[stages.zoo]\nepoch = 3\n"),
    Case("config: bounds in words", STUDY, "compute.workers: 0 is not allowed (allowed: >= 1)",
         toml="[compute]\nworkers = 0\n"),
    Case("config: --stages ''", ["study", "--stages", "", "-o", "<tmp>/o"],
         "--stages '': names no stage (allowed: one or more of data, axis"),
    # output paths
    Case("out = ''", ["study", "<tmp>/c.toml", "--stages", "data"], "out: an empty out is not",
         toml='out = ""\n'),
    Case("out = '~/x' is under $HOME", ["study", "<tmp>/c.toml", "--stages", "data"], "took",
         code=0, toml=f'out = "~/x"\n{SMALL_DATA}', writes=True,
         exists="<home>/x/stages/data/cohort.cohort.h5", absent="<tmp>/~"),
    Case("--init makes its folders", ["study", "--init", "<tmp>/cfg/nodir/x.toml"], "wrote",
         code=0, writes=True, exists="<tmp>/cfg/nodir/x.toml"),
    Case("--init refuses a non-TOML name", ["study", "--init", "<tmp>/new.txt"],
         "--init '<tmp>/new.txt': .txt: the commented default is TOML (allowed: a new .toml"),
    Case("data features leaves no parts when it refuses", ["data", "features", CLEAN,
         "<tmp>/de.cohort.h5"], "this cohort holds features, not raw EEG"),
    Case("data features: OUT under a file", ["data", "features", CLEAN, f"{FILE}/de.cohort.h5"],
         "file.txt: is a file, not a folder"),
    Case("data synth: --out under a file", ["data", "synth", "--out", f"{FILE}/s.cohort.h5"],
         "file.txt: is a file, not a folder"),
    *(Case(f"{name}: -o a file", [*argv, FILE], "file.txt: is a file, not a folder")
      for name, argv in WRITERS.items()),
    *(Case(f"{name}: -o read-only", [*argv, "<ro>/o"], "is not writable")
      for name, argv in WRITERS.items()),
    # flags: one line naming the flag, the bad value and what is allowed
    Case("align --weight NAME=0", [*ALIGN, "--interventions", "aux-mse-0.5", "--weight",
         "aux-mse-0.5=0"], "weights: aux-mse-0.5=0 is not allowed (allowed: a finite weight > 0)"),
    Case("align --weight without =", [*ALIGN, "--weight", "rsa-5"],
         "--weight 'rsa-5': not NAME=WEIGHT (allowed: NAME=WEIGHT"),
    Case("align --hyper unknown key", [*ALIGN, "--hyper", '{"nope": 1}'],
         "--hyper '{\"nope\": 1}': unknown hyper-parameter(s) 'nope' of decoder 'mlp' "
         "(allowed: hidden, dropout)"),
    Case("align --hyper not JSON", [*ALIGN, "--hyper", "{bad"],
         "--hyper '{bad': not valid JSON (at character 1) (allowed: a JSON object"),
    Case("align --seeds 0,x", [*ALIGN, "--seeds", "0,x"],
         "--seeds '0,x': 'x' is not an integer (allowed: integers separated by commas"),
    Case("align --seeds 3", [*ALIGN, "--seeds", "3"], "seeds: [3] is not allowed (allowed: at"),
    Case("ensemble --seeds 0,x", [*ENSEMBLE, "--seeds", "0,x"], "--seeds '0,x': 'x' is not an"),
    Case("ensemble --epochs 4,x", [*ENSEMBLE, "--epochs", "4,x"], "--epochs '4,x': 'x' is not"),
    Case("ensemble --epochs 0", [*ENSEMBLE, "--epochs", "0"], "epochs: [0] is not allowed"),
    Case("ensemble --hyper unknown key", [*ENSEMBLE, "--hyper", '{"hieght": 2}'],
         "unknown hyper-parameter(s) 'hieght' of decoder 'axial' (allowed: depth, width, heads"),
    Case("ensemble one member", [*ENSEMBLE, "--seeds", "0", "--epochs", "3"],
         "seeds x epochs give a pool of 1 member"),
    Case("train --seeds 0,x", [*TRAIN, "--seeds", "0,x"], "--seeds '0,x': 'x' is not an integer"),
    Case("train --hyper unknown key", [*TRAIN, "--hyper", "nope=1"],
         "--hyper 'nope=1': unknown hyper-parameter(s) 'nope' of decoder 'mlp' (allowed: hidden"),
    Case("train --folds out of range", [*TRAIN, "--folds", "9"],
         "--folds '9': this protocol has no fold 9 (allowed: 1 to 1"),
]  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean and a NaN/Inf-holding synthetic cohort (ground truth beside each), a file."""
    folder = tmp_path_factory.mktemp("inputs")
    cohort, truth = synthesize_features(SynthConfig(n_subjects=6, n_windows=2, seed=3))
    for name, data in (("clean", cohort.data), ("nan", cohort.data.copy())):
        if name == "nan":
            data[5, 3, 1], data[40, 0, 4] = np.nan, np.inf
        cohort.with_data(data).save(folder / f"{name}.cohort.h5")
        truth.save(folder / name)
    (folder / "file.txt").write_text("not a folder\n")
    # official FACED folders: DE with a gap in the subjects, raw with mixed channel counts
    for subject in (0, 2):
        _pickle(folder / f"gap/EEG_Features/DE/sub{subject:03d}.pkl.pkl", (28, 32, 30, 5))
    for subject, channels in ((0, 32), (1, 30)):
        _pickle(folder / f"mixed/Processed_data/sub{subject:03d}.pkl", (28, channels, 7500))
    return folder


def _pickle(path: Path, shape: tuple[int, ...]) -> None:
    """An array file as FACED ships it (a pickled numpy array)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(np.zeros(shape, np.float32)))


@pytest.fixture(scope="module")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder no file can be made in (for root, who ignores permissions: /sys)."""
    folder = tmp_path_factory.mktemp("readonly")
    folder.chmod(0o555)
    try:
        handle, probe = tempfile.mkstemp(dir=folder)
    except OSError:
        yield folder
    else:
        os.close(handle)
        os.unlink(probe)
        yield Path("/sys")
    folder.chmod(0o755)


def _fill(text: str, places: dict[str, Path]) -> str:
    for key, path in places.items():
        text = text.replace(f"<{key}>", str(path))
    return text


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_command_line_refuses_bad_input_at_its_edge(
    case: Case,
    inputs: Path,
    read_only: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path_factory.mktemp("home")
    places = {"in": inputs, "tmp": tmp_path, "home": home, "ro": read_only}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(console, "width", 2000)  # one message, one line, however long its paths
    written = {tmp_path / "c.toml"} if case.toml else set()
    for path in written:
        path.write_text(case.toml)
    inputs_before, case_before = digest(inputs), digest(tmp_path)
    result = CliRunner().invoke(app, [_fill(arg, places) for arg in case.argv])
    text = " ".join(result.output.split())
    assert result.exit_code == case.code, text
    assert _fill(case.phrase, places) in text
    for internal in ("Traceback", "pydantic", "Value error", "Input should"):
        assert internal not in text
    assert digest(inputs) == inputs_before  # inputs are never modified
    if not case.writes:
        after = {str(p) for p in tmp_path.rglob("*")}
        assert after == {str(path) for path in written}, "refused, yet wrote"
        assert digest(tmp_path) == case_before
    if case.exists:
        assert Path(_fill(case.exists, places)).exists()
    if case.absent:
        assert not Path(_fill(case.absent, places)).exists()
