"""Issue 18 item 13 (config cases): each bad input is one ``Error:`` line naming the key and the fix, and no backend call.

Before: ``train.seed: -1`` and ``shots = 10**30`` gave tracebacks, ``train.lr: .inf`` trained and then failed
writing run.json, a YAML nested 3,000 levels deep raised RecursionError, and ``--out`` under a file a raw OSError.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest
from training_helpers import write_profile

from hqnn_core.cli import main
from hqnn_plugins.torch_backend import TorchBackend


@pytest.fixture
def calls(monkeypatch):
    made: list[int] = []
    original = TorchBackend._run

    def counting(self, tasks, shots, seed):
        made.append(1)
        return original(self, tasks, shots, seed)

    monkeypatch.setattr(TorchBackend, "_run", counting)
    return made


def _run(monkeypatch, capsys, *args) -> list[str]:
    monkeypatch.setattr(sys, "argv", ["hqnn", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize(("override", "expected"), [
    ("train.seed=-1", r"train\.seed: .*greater than or equal to 0, got -1"),
    ("model.head.hidden=[-1]", r"model\.head\.hidden: .*positive integers .*e\.g\. hidden: \[16\]"),
    ("train.lr=.inf", r"train\.lr: .*finite number, got inf"),
    ("backend.shots=" + "1" + "0" * 30, r"backend\.shots: shots must be at most 1,000,000,000 per circuit.*lower it"),
    ("data.seed=-3", r"data\.seed: .*greater than or equal to 0"),
    ("limits.max_cost=.nan", r"limits\.max_cost: .*finite number"),
    ("data.x=" + "[" * 3000 + "]" * 3000, r"--set data\.x: the value is nested too deeply"),
])
def test_a_bad_value_is_one_error_line_before_any_backend_call(tmp_path, monkeypatch, capsys, calls, override, expected):
    import re

    lines = _run(monkeypatch, capsys, "train", str(write_profile(tmp_path)), "--set", override, "--out", str(tmp_path / "run"), "-q")
    assert len(lines) == 1 and lines[0].startswith("Error: ") and re.search(expected, lines[0]), lines
    assert calls == [] and not (tmp_path / "run").exists()


def test_a_profile_nested_3000_levels_deep_is_one_error_line(tmp_path, monkeypatch, capsys, calls):
    deep = tmp_path / "deep.yaml"
    deep.write_text("data: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n")
    lines = _run(monkeypatch, capsys, "train", str(deep), "-q")
    assert lines == [f"Error: {deep}: the YAML is nested too deeply to read; a profile is a few levels deep, fix the nesting."]
    assert calls == []


def test_an_out_folder_under_a_file_or_on_a_read_only_filesystem_is_one_error_line(tmp_path, monkeypatch, capsys, calls):
    (tmp_path / "afile").write_text("")
    profile = str(write_profile(tmp_path))
    lines = _run(monkeypatch, capsys, "train", profile, "--out", str(tmp_path / "afile" / "run"), "-q")
    assert len(lines) == 1 and "Error: --out: cannot create a run directory at" in lines[0] and "choose a writable folder" in lines[0]

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    lines = _run(monkeypatch, capsys, "train", profile, "-q")
    assert len(lines) == 1 and f"output.runs_dir: cannot create a run directory at {tmp_path / 'runs'}" in lines[0], lines
    assert "Read-only file system; choose a writable folder with --out or output.runs_dir" in lines[0]
    assert calls == []
