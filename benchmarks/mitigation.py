"""Mitigation benchmark: mean absolute error of the example model's outputs, unmitigated vs mitigated.

Same circuits (angle encoder + hardware_efficient, 4 qubits, 2 layers, random weights and inputs)
on an IBM device snapshot (``qiskit.fake:manila``) and on ``braket.local:dm`` with depolarizing and
readout noise: no mitigation, ``readout``, ``zne``, ``readout`` + ``zne``, and Mitiq's ZNE
(``mitiq.zne.execute_with_zne``, Richardson at the same scale factors, global folding) on the
same backend when Mitiq is importable. Mitiq folds a Cirq copy of each bound circuit and its
executor runs every fold on the same hqnn backend (``benchmarks/mitiq_bridge.py``), so the two ZNE
columns differ only in folding and extrapolation code. Mitiq is a comparison only, never a dependency:
``pip install --target /tmp/mitiq-lib mitiq`` keeps it (and the numpy it pins) out of the venv.

    python benchmarks/mitigation.py [--shots 20000] [--seeds 2] [--mitiq-path /tmp/mitiq-lib]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch

from hqnn_core.components import get_backend
from hqnn_core.layer import QuantumLayer

BACKENDS = {
    "qiskit.fake:manila": ("hqnn_qiskit", {"seed": 7, "optimization_level": 0}, True),
    "braket.local:dm": ("hqnn_braket", {"depolarizing": 0.01, "readout_error": 0.04, "seed": 7}, False),
}
SCALES = [1.0, 3.0, 5.0]
METHODS = {
    "none": [],
    "readout": ["readout"],
    "zne": [{"name": "zne", "options": {"scale_factors": SCALES}}],
    "readout+zne": ["readout", {"name": "zne", "options": {"scale_factors": SCALES}}],
}


def _mitiq_available(path: str | None) -> bool:
    """Import Mitiq, from ``path`` appended to the END of sys.path (the venv's numpy keeps priority)."""
    if path and path not in sys.path:
        sys.path.append(path)
    try:
        import cirq  # noqa: F401
        import mitiq  # noqa: F401
    except ImportError:
        return False
    return True


def _mitiq_zne(layer: QuantumLayer, x: torch.Tensor, backend, shots: int | None) -> torch.Tensor:
    """Mitiq's ZNE of every output ``[B, K]``: one ``execute_with_zne`` per input row and observable."""
    from mitiq.zne import RichardsonFactory, execute_with_zne
    from mitiq.zne.scaling import fold_global

    from benchmarks.mitiq_bridge import BackendExecutor, to_cirq

    circuit = layer.circuit
    executor = BackendExecutor(backend, circuit.n_qubits, circuit.observables, shots)
    out = torch.empty(x.shape[0], len(circuit.observables), dtype=torch.float64)
    for b, row in enumerate(layer.slot_values(x)):
        bound = to_cirq(circuit, row)
        for k in range(len(circuit.observables)):
            out[b, k] = execute_with_zne(bound, executor.for_output(k), factory=RichardsonFactory(SCALES), scale_noise=fold_global)
    return out


def run(shots: int, seeds: int, mitiq: bool = False) -> list[dict]:
    x = torch.rand(4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * math.pi
    rows = []
    for name, (_module, options, sampled_only) in BACKENDS.items():  # adapters arrive through their entry points
        errors: dict[str, list[float]] = {m: [] for m in METHODS}
        mitiq_errors: list[float] = []
        start = time.perf_counter()
        for seed in range(seeds):
            with torch.no_grad():
                exact = QuantumLayer(4, layers=2, seed=seed).double()(x)
                for method, mitigation in METHODS.items():
                    layer = QuantumLayer(4, layers=2, seed=seed, backend=get_backend(name, **options), gradient="parameter_shift",
                                         shots=shots if sampled_only else None, mitigation=mitigation).double()
                    errors[method].append(float((layer(x) - exact).abs().mean()))
                if mitiq:
                    layer = QuantumLayer(4, layers=2, seed=seed).double()
                    values = _mitiq_zne(layer, x, get_backend(name, **options), shots if sampled_only else None)
                    mitiq_errors.append(float((values - exact).abs().mean()))
        row = {"backend": name, **{m: sum(v) / len(v) for m, v in errors.items()}, "seconds": time.perf_counter() - start}
        row["mitiq_zne"] = sum(mitiq_errors) / len(mitiq_errors) if mitiq_errors else None
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=20000, help="shots per circuit on sample-only backends")
    parser.add_argument("--seeds", type=int, default=2, help="random models (weights) averaged over")
    parser.add_argument("--mitiq-path", default=None, metavar="DIR",
                        help="directory holding mitiq + cirq (pip install --target DIR mitiq), appended to sys.path")
    args = parser.parse_args()
    mitiq = _mitiq_available(args.mitiq_path)
    if not mitiq:
        print("mitiq is not importable: its column shows n/a (pip install --target DIR mitiq, then --mitiq-path DIR; "
              "installing it into the venv pins numpy<2.3 via cirq-core)")
    rows = run(args.shots, args.seeds, mitiq)
    print(f"{'backend':22} {'none':>8} {'readout':>8} {'zne':>8} {'ro+zne':>8} {'mitiq':>8} {'reduction':>10}")
    for r in rows:
        mitiq = "n/a" if r["mitiq_zne"] is None else f"{r['mitiq_zne']:.4f}"
        print(f"{r['backend']:22} {r['none']:8.4f} {r['readout']:8.4f} {r['zne']:8.4f} {r['readout+zne']:8.4f} {mitiq:>8} "
              f"{1 - r['readout+zne'] / r['none']:9.0%}")


if __name__ == "__main__":
    main()
