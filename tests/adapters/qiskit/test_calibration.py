"""Calibration snapshots of IBM fake devices: recorded by a run, and per-qubit deltas between two devices in ``hqnn compare``."""

import pytest

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_ibm_runtime")

import torch  # noqa: E402
import yaml  # noqa: E402
from qiskit_ibm_runtime.fake_provider import FakeLimaV2, FakeManilaV2  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402
from hqnn_core.training import train  # noqa: E402
from hqnn_core.training.compare import compare_run, parse_backend_spec  # noqa: E402
from hqnn_qiskit.backend import FakeDeviceBackend  # noqa: E402

pytestmark = [pytest.mark.vendor, pytest.mark.shots]

PROFILE = {
    "data": {"source": "digits", "classes": [0, 1], "pca": 2, "standardize": False, "angle_range": [0.0, 3.14159], "max_train": 8, "max_test": 8},
    "model": {"quantum": {"n_qubits": 2, "layers": 1}},
    "backend": {"name": "qiskit.fake:manila", "shots": 64, "options": {"seed": 1}},
    "train": {"optimizer": "adam", "lr": 0.05, "epochs": 1, "batch_size": 8, "seed": 0, "baseline": False},
    "output": {"plots": False},
}


def _expected(device, qubit: int) -> dict[str, float]:
    """T1, T2 and readout error from the device's BackendProperties (not the target compare reads)."""
    props = device.properties()
    return {"T1": props.t1(qubit), "T2": props.t2(qubit), "readout_error": props.readout_error(qubit)}


def test_two_fake_devices_show_per_qubit_calibration_deltas(tmp_path):
    path = tmp_path / "manila.yaml"
    path.write_text(yaml.safe_dump({**PROFILE, "output": {"plots": False, "runs_dir": str(tmp_path / "runs")}}))
    run = train(path, out=tmp_path / "run", quiet=True)
    recorded = run.record["calibration"]
    manila, lima = FakeManilaV2(), FakeLimaV2()
    assert [q["wire"] for q in recorded["qubits"]] == [0, 1] and recorded["taken_at"]
    for q in recorded["qubits"]:
        for name, value in _expected(manila, q["physical"]).items():
            assert q[name] == pytest.approx(value, rel=1e-9), name
        assert 0 < q["gate_error_1q"] < 0.01 and 0 < q["gate_error_2q"] < 0.1

    report = compare_run(run.run_dir, [parse_backend_spec("qiskit.fake:lima?shots=2000&seed=2")], out=tmp_path / "cmp")
    row = report["rows"][1]
    assert report["calibration_reference"]["label"] == "recorded in run.json (qiskit.fake:manila)"
    deltas = {(d["wire"], d["parameter"]): d for d in row["calibration_deltas"]}
    for q in row["calibration"]["qubits"]:
        wire = q["wire"]
        ref = _expected(manila, recorded["qubits"][wire]["physical"])
        new = _expected(lima, q["physical"])
        for name in ("T1", "T2", "readout_error"):
            d = deltas[wire, name]
            assert d["delta"] == pytest.approx(new[name] - ref[name], rel=1e-9, abs=1e-15), (wire, name)
            assert d["physical"] == q["physical"] and d["physical_reference"] == recorded["qubits"][wire]["physical"]
    assert len(row["output_error_per_observable"]) == 2 and 0 < row["output_error"] < 0.5  # the error next to the deltas


def test_noise_scale_options_scale_the_snapshot_and_the_noise():
    base = FakeDeviceBackend("manila").calibration(2)["qubits"]
    scaled = FakeDeviceBackend("manila", t1_scale=2.0, readout_error_scale=0.5).calibration(2)["qubits"]
    for a, b in zip(base, scaled):
        assert b["T1"] == pytest.approx(2 * a["T1"]) and b["readout_error"] == pytest.approx(a["readout_error"] / 2)
        assert b["T2"] == pytest.approx(min(a["T2"], 4 * a["T1"])) and b["gate_error_2q"] == pytest.approx(a["gate_error_2q"])

    x = torch.tensor([[0.3, 2.0], [1.2, -0.7], [2.6, 0.4]], dtype=torch.float64)
    exact = QuantumLayer(2, backend="qiskit.aer", seed=0).double()(x).detach()
    errors = []
    for scale in (0.0, 1.0, 3.0):  # readout error off, as measured, three times worse: the error against exact grows
        layer = QuantumLayer(2, backend="qiskit.fake:manila", shots=20000, seed=0,
                             backend_options={"seed": 3, "readout_error_scale": scale}).double()
        errors.append(float((layer(x).detach() - exact).abs().mean()))
    assert errors[0] < errors[1] < errors[2] and errors[2] - errors[0] > 0.05, errors
