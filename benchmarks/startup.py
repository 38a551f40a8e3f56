"""Start-up time of the ``hqnn`` command line: each command run N times in fresh interpreters.

Reports, per command, the median and range of wall-clock seconds and of CPU seconds (user + system
of the child process, which the load of other processes on a shared machine inflates less than
wall time). Rounds are interleaved (every command once per round), and two peers run in the same
rounds, ``import torch`` and ``import sklearn.decomposition``, so that the last column (CPU median
over ``import torch``'s) compares runs taken under different loads. ``--importtime`` adds the slowest
imports of each command, from ``python -X importtime`` (cumulative microseconds), to find what a
command loads that it does not need.

Run from the repository root, e.g.::

    python benchmarks/startup.py --runs 7 --importtime 8

Targets (issue 13): ``hqnn --version`` and ``hqnn --help`` under 0.3 s, ``hqnn validate`` under 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the command line of the console script, without installing it: ``hqnn ARGS``
LAUNCH = "import sys; from hqnn_core.cli import main; sys.argv = ['hqnn', *sys.argv[1:]]; main()"
COMMANDS: dict[str, list[str]] = {
    "hqnn --version": ["--version"],
    "hqnn --help": ["--help"],
    "hqnn backends": ["backends"],
    "hqnn validate examples/digits.yaml": ["validate", "examples/digits.yaml"],
    "hqnn validate examples/linearly_separable.yaml": ["validate", "examples/linearly_separable.yaml"],
    "hqnn validate examples/kernel.yaml": ["validate", "examples/kernel.yaml"],
    "hqnn validate examples/born_machine.yaml": ["validate", "examples/born_machine.yaml"],
}
TARGETS = {"hqnn --version": 0.3, "hqnn --help": 0.3, **{name: 1.5 for name in COMMANDS if name.startswith("hqnn validate")}}
#: what a command cannot go below while it imports them, timed in the same rounds
PEERS: dict[str, str] = {"import torch": "import torch", "import sklearn.decomposition": "import sklearn.decomposition"}


def _env() -> dict[str, str]:
    paths = [str(REPO), str(REPO / "plugins"), str(REPO / "adapters")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]), "MPLBACKEND": "Agg"}


def run_once(args: list[str], extra: tuple[str, ...] = (), code: str = LAUNCH) -> tuple[float, float, str]:
    """(wall s, CPU s, stderr) of one ``hqnn ARGS`` (or of ``python -c CODE``) in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, *extra, "-c", code, *args], cwd=REPO, env=_env(), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"hqnn {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stderr


def slowest_imports(args: list[str], top: int) -> list[tuple[int, str]]:
    """The ``top`` imports with the largest cumulative time (microseconds) in ``python -X importtime``, indented by nesting."""
    _, _, stderr = run_once(args, ("-X", "importtime"))
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.removeprefix("import time:").split("|")
            rows.append((int(cumulative), name.removeprefix(" ")))  # one space of padding; more is nesting
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per command (default 7)")
    parser.add_argument("--importtime", type=int, default=0, metavar="N", help="also list the N slowest imports of each command")
    opts = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs (load average {load}), {opts.runs} runs per command; "
          f"HQNN_DISABLE_PLUGIN_AUTOLOAD={os.environ.get('HQNN_DISABLE_PLUGIN_AUTOLOAD', '')!r}\n")
    jobs = {**{label: (args, LAUNCH) for label, args in COMMANDS.items()}, **{f"peer: {label}": ([], code) for label, code in PEERS.items()}}
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in jobs}
    for round_ in range(opts.runs + 1):  # round 0 warms the file cache; not counted
        for label, (args, code) in jobs.items():
            wall, cpu, _ = run_once(args, code=code)
            if round_:
                times[label].append((wall, cpu))
    torch_cpu = statistics.median(c for _, c in times["peer: import torch"])
    print("| command | wall median (s) | wall range (s) | CPU median (s) | CPU range (s) | CPU / import torch | target |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, rows in times.items():
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        target = TARGETS.get(label)
        print(f"| `{label}` | {statistics.median(walls):.3f} | {min(walls):.3f}–{max(walls):.3f} | {statistics.median(cpus):.3f} | "
              f"{min(cpus):.3f}–{max(cpus):.3f} | {statistics.median(cpus) / torch_cpu:.2f} | {f'< {target} s' if target else '-'} |")
    for label, args in COMMANDS.items() if opts.importtime else ():
        print(f"\nslowest imports of `{label}` (cumulative ms, -X importtime):")
        for micros, name in slowest_imports(args, opts.importtime):
            print(f"  {micros / 1000:8.1f}  {name}")


if __name__ == "__main__":
    main()
