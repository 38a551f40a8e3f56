"""Tutorial 5: measure the simulator-to-hardware gap of a trained model, and what mitigation wins back.

Run it with ``python docs/tutorials/hardware_gap.py``. It runs two hqnn commands, as you would in
a shell: ``hqnn train`` trains the digits profile on the exact simulator, and ``hqnn compare``
evaluates the trained model on a noisy emulation of a device (``torch.noisy``: readout bit flips
and depolarizing noise after every gate), without and with error mitigation (``readout``, then
``readout`` + ``zne``). Point ``--backends`` at ``qiskit.fake:<device>`` or a QPU to measure a
real platform; the same numbers come out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PROFILE = Path(__file__).resolve().parents[2] / "examples" / "digits.yaml"
NOISE = "readout_error=0.08&depolarizing=0.02"  # 8% readout flips, 2% depolarizing per gate and wire
BACKENDS = [  # NAME?options&shots=&mitigation=a+b&label= (a query string: "+" joins mitigators)
    f"torch.noisy?{NOISE}&label=noisy",
    f"torch.noisy?{NOISE}&mitigation=readout&label=noisy-readout",
    f"torch.noisy?{NOISE}&mitigation=readout+zne&label=noisy-readout-zne",
]


def hqnn(*args: str) -> str:
    """Run an hqnn command (``python -m hqnn_core`` is the ``hqnn`` executable) and return its output."""
    proc = subprocess.run([sys.executable, "-m", "hqnn_core", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"hqnn {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        hqnn("train", str(PROFILE), "--set", "train.epochs=5", "--set", "train.baseline=false", "--out", str(run), "--quiet")
        args = ["compare", str(run), "--out", str(Path(tmp) / "compare"), "--json"]
        for spec in BACKENDS:
            args += ["--backend", spec]
        report = json.loads(hqnn(*args))
    rows = {row["label"]: row for row in report["rows"]}
    for label, row in rows.items():
        print(f"{label}: accuracy {row['test_accuracy']:.4f}, test loss {row['test_loss']:.4f}, output error {row['output_error']:.4f}")
    exact, noisy, mitigated = rows["exact (torch)"], rows["noisy"], rows["noisy-readout-zne"]
    recovered = 1 - mitigated["output_error"] / noisy["output_error"]
    print(f"output error removed by mitigation: {recovered:.2f}")
    assert exact["output_error"] == 0.0 and exact["test_accuracy"] >= 0.95
    assert noisy["output_error"] > 0.1, "the noise should visibly move the outputs"
    assert rows["noisy-readout"]["output_error"] < noisy["output_error"]
    assert recovered >= 0.5, f"readout + zne should remove at least half the output error, removed {recovered:.2f}"


if __name__ == "__main__":
    main()
