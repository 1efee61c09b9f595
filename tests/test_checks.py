"""The edge checks every command runs: output paths, integer lists, JSON objects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vaxis.checks import check_out_dir, check_out_file, parse_ints, parse_json_object
from vaxis.errors import OptionError, OutputPathError


def test_an_output_folder_is_checked_without_creating_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = tmp_path / "a" / "b"
    assert check_out_dir(nested) == nested and not (tmp_path / "a").exists()
    assert list(tmp_path.iterdir()) == []  # the write probe is gone
    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_out_dir("~/runs") == tmp_path / "runs"
    file = tmp_path / "f.txt"
    file.write_text("x")
    with pytest.raises(OutputPathError, match=r"f\.txt: is a file, not a folder"):
        check_out_dir(file)
    with pytest.raises(OutputPathError, match=r"f\.txt is a file, so no folder can be made"):
        check_out_dir(file / "sub")
    with pytest.raises(OutputPathError, match="is a folder, not a file"):
        check_out_file(tmp_path)
    assert check_out_file(tmp_path / "new" / "x.cohort.h5") == tmp_path / "new" / "x.cohort.h5"


def test_a_folder_nobody_may_write_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    target = locked if os.geteuid() != 0 else Path("/sys")  # root ignores permissions
    with pytest.raises(OutputPathError, match="is not writable"):
        check_out_dir(target / "out")
    locked.chmod(0o755)


def test_lists_and_json_flags_name_the_flag_the_value_and_what_is_allowed() -> None:
    assert parse_ints(" 0, 1,-2 ", "--seeds") == (0, 1, -2)
    with pytest.raises(OptionError, match=r"--seeds '0,x': 'x' is not an integer \(allowed: "):
        parse_ints("0,x", "--seeds")
    assert parse_json_object('{"hidden": [64]}', "--hyper") == {"hidden": [64]}
    with pytest.raises(OptionError, match=r"--hyper '\{bad': not valid JSON \(at character 1\)"):
        parse_json_object("{bad", "--hyper")
    with pytest.raises(OptionError, match="a JSON list, not an object"):
        parse_json_object("[1]", "--hyper")
