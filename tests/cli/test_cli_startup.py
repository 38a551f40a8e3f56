"""The command line starts light: ``import hqnn_core.cli`` loads no torch, and commands that need an
optional tool (pytest for ``hqnn conformance``) say which extra installs it instead of a traceback.

Each case runs in a fresh interpreter, so what it imports is what a user's ``hqnn`` would import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins"), str(REPO / "adapters")]), "COLUMNS": "80"}
    env.pop("HQNN_DISABLE_PLUGIN_AUTOLOAD", None)  # the entry-point plugins load, as for a user
    # except the example third-party plugin a development venv may hold: it registers classes, so importing it imports torch
    env["HQNN_DISABLE_PLUGINS"] = "example"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


_HEAVY = "torch numpy pydantic qiskit pennylane braket pytest matplotlib".split()


def test_importing_the_cli_and_asking_for_help_loads_no_torch_or_sdk():
    code = (
        "import sys\n"
        "import hqnn_core.cli\n"
        "from hqnn_core.cli import main\n"
        "sys.argv = ['hqnn', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {_HEAVY!r} if m in sys.modules))\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout
    for command in ("train", "validate", "conformance", "diagnose", "compare", "backends"):
        assert f"  {command} " in result.stdout  # every built-in command is listed with its help line


def test_version_loads_nothing_heavy():
    code = (
        "import sys\nfrom hqnn_core.cli import main\nsys.argv = ['hqnn', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {_HEAVY!r} if m in sys.modules))\n"
    )
    result = _python(code)
    assert "hqnn, version" in result.stdout and "LOADED []" in result.stdout, result.stderr


@pytest.mark.parametrize("example, summary, usage", [
    ("digits", "270 train / 90 test, 4 features", "estimated usage: 270 jobs, 5400 circuits, 0 shots"),
    ("linearly_separable", "240 train / 60 test, 4 features", "estimated usage: 320 jobs, 6000 circuits, 0 shots"),
    ("kernel", "240 train / 60 test, 4 features", "estimated usage: 2 jobs, 540 circuits, 0 shots"),
    ("born_machine", "14 training strings of 9 bits", "estimated usage: 121 jobs, 121 circuits, 0 shots"),
])
def test_validate_describes_the_model_without_torch_scikit_learn_or_scipy(example, summary, usage):
    """``hqnn validate`` needs the data's shape and the model's description, not fitted transforms or a torch module.

    torch (about 2 s to import), scikit-learn and SciPy (about 1.5 s) stay unloaded, and the report is the
    one the built model gave (26 parameters and 270 jobs for digits, as before the model was described).
    """
    code = (
        "import sys\nfrom hqnn_core.cli import main\nsys.argv = ['hqnn', 'validate', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('LOADED', sorted(m for m in ('torch', 'sklearn', 'scipy', 'matplotlib', 'hqnn_core.training.run', 'hqnn_core.training.trainer')"
        " if m in sys.modules))\n"
    )
    result = _python(code, str(REPO / "examples" / f"{example}.yaml"))
    assert summary in result.stdout, result.stderr  # the same summary as when it loaded the data
    assert usage in result.stdout
    if example == "digits":
        assert "gradient backprop) -> head linear; 26 parameters" in result.stdout
    assert "LOADED []" in result.stdout, result.stdout


def test_public_names_still_resolve_on_first_use():
    result = _python("import sys, hqnn_core\nassert 'torch' not in sys.modules\nprint(hqnn_core.QuantumLayer.__name__, 'torch' in sys.modules)")
    assert result.stdout.split() == ["QuantumLayer", "True"], result.stderr
    result = _python("import sys, hqnn_core.training as t\nassert 'hqnn_core.training.run' not in sys.modules\nprint(t.train.__module__)")
    assert result.stdout.split() == ["hqnn_core.training.run"], result.stderr


def test_conformance_without_pytest_names_the_extra_in_one_line():
    code = "import sys\nsys.modules['pytest'] = None  # as on a base install\nfrom hqnn_core.cli import main\nsys.argv = ['hqnn', *sys.argv[1:]]\nmain()\n"
    result = _python(code, "conformance", "--backend", "torch")
    assert result.returncode == 2
    assert result.stderr == 'Error: hqnn conformance runs its checks with pytest, which is not installed; install it with: pip install "hqnn[testing]"\n'
    assert "Traceback" not in result.stderr
