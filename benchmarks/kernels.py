"""A 200x200 fidelity Gram matrix (8 qubits, IQP feature map): hqnn against PennyLane and Qiskit Machine Learning.

The feature map is Havlíček et al.'s IQP map as hqnn's ``iqp`` encoder writes it (``H``, ``RZ(x_i)``,
``RZZ(x_i x_j)`` on every pair) and as PennyLane's ``qml.IQPEmbedding`` does; Qiskit gets the same
gates. Every tool computes the symmetric training matrix ``K(X, X)`` (off-diagonal pairs; the diagonal
is 1), in one process with interleaved rounds, one thread each:

* hqnn ``FidelityKernel(encoder="iqp")`` on the ``torch`` backend (state overlaps), and its
  compute-uncompute method on the same backend (the route every vendor takes);
* Qiskit ML ``FidelityStatevectorKernel`` (exact statevectors);
* PennyLane ``qml.kernels.square_kernel_matrix`` over a compute-uncompute QNode on ``default.qubit``;
* Qiskit ML ``FidelityQuantumKernel`` with ``ComputeUncompute`` on Aer's ``SamplerV2`` (1024 shots),
  and hqnn's compute-uncompute on ``qiskit.aer`` with the same shots.

The last three evaluate every pair as its own circuit and are slow, so they run on the first
``--small`` points, and hqnn is timed again at that size in the same round. Before timing, every
exact tool must agree with hqnn's complex128 matrix to 1e-8, and the sampled ones must lie within 5
binomial standard errors of it. The report gives per-round median ratios with their range.

    HQNN_DISABLE_PLUGIN_AUTOLOAD=0 python benchmarks/kernels.py --rounds 5 --peer-rounds 3 --small 20
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from hqnn_core.kernels import FidelityKernel

Gram = Callable[[np.ndarray], np.ndarray]
N_QUBITS = 8
SHOTS = 1024
AER_QISKIT = f"Qiskit ML FidelityQuantumKernel, ComputeUncompute on Aer SamplerV2 ({SHOTS} shots)"
AER_HQNN = f"hqnn FidelityKernel, qiskit.aer compute-uncompute ({SHOTS} shots)"


def _data(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, size=(n, N_QUBITS))


def _qiskit_feature_map():  # noqa: ANN202 - qiskit's QuantumCircuit, imported lazily
    from qiskit.circuit import ParameterVector, QuantumCircuit

    x = ParameterVector("x", N_QUBITS)
    qc = QuantumCircuit(N_QUBITS)
    for i in range(N_QUBITS):
        qc.h(i)
    for i in range(N_QUBITS):
        qc.rz(x[i], i)
    for i in range(N_QUBITS):
        for j in range(i + 1, N_QUBITS):
            qc.rzz(x[i] * x[j], i, j)
    return qc


def _hqnn(method: str = "auto", backend: str = "torch", shots: int | None = None) -> Gram:
    options = {"seed": 1, "max_parallel_threads": 1} if backend == "qiskit.aer" else None
    kernel = FidelityKernel(encoder="iqp", n_qubits=N_QUBITS, method=method, backend=backend, shots=shots,  # type: ignore[arg-type]
                            backend_options=options)
    return lambda X: kernel(X)


def _qiskit_statevector() -> Gram:
    from qiskit_machine_learning.kernels import FidelityStatevectorKernel

    kernel = FidelityStatevectorKernel(feature_map=_qiskit_feature_map())
    return lambda X: kernel.evaluate(X)


def _qiskit_aer() -> Gram:
    from qiskit_aer.primitives import SamplerV2
    from qiskit_machine_learning.kernels import FidelityQuantumKernel
    from qiskit_machine_learning.state_fidelities import ComputeUncompute

    sampler = SamplerV2(default_shots=SHOTS, seed=1, options={"backend_options": {"max_parallel_threads": 1}})
    kernel = FidelityQuantumKernel(feature_map=_qiskit_feature_map(), fidelity=ComputeUncompute(sampler=sampler))
    return lambda X: kernel.evaluate(X)


def _pennylane() -> Gram:
    import pennylane as qml

    @qml.qnode(qml.device("default.qubit", wires=N_QUBITS))
    def overlap(a: np.ndarray, b: np.ndarray) -> object:
        qml.IQPEmbedding(a, wires=range(N_QUBITS))
        qml.adjoint(qml.IQPEmbedding)(b, wires=range(N_QUBITS))
        return qml.probs(wires=range(N_QUBITS))

    return lambda X: np.asarray(qml.kernels.square_kernel_matrix(X, lambda a, b: overlap(a, b)[0], assume_normalized_kernel=True))


def _check(label: str, got: np.ndarray, reference: np.ndarray, shots: int | None) -> str:
    if shots is None:
        err = float(np.abs(got - reference).max())
        assert err <= 1e-8, f"{label}: differs from hqnn's complex128 matrix by {err:.2e}"
        return f"{label}: agrees with the reference to {err:.1e}"
    off = ~np.eye(len(reference), dtype=bool)
    bound = 5 * np.sqrt(np.clip(reference * (1 - reference), 1 / shots, None) / shots)
    outside = int((np.abs(got - reference) > bound)[off].sum())
    assert outside == 0, f"{label}: {outside} entries outside 5 standard errors"
    return f"{label}: every entry within 5 standard errors of the reference ({shots} shots)"


def _timed(gram: Gram, X: np.ndarray) -> float:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gram(X)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="points of the full matrix")
    parser.add_argument("--small", type=int, default=20, help="points for the per-pair tools (PennyLane, Aer)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--peer-rounds", type=int, default=3, help="rounds for the slow per-pair tools")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    X, Xs = _data(args.n), _data(args.n)[: args.small]
    full = {"hqnn FidelityKernel, torch (state overlaps)": _hqnn(),
            "hqnn FidelityKernel, torch (compute-uncompute)": _hqnn("compute_uncompute"),
            "Qiskit ML FidelityStatevectorKernel": _qiskit_statevector()}
    small = {"PennyLane square_kernel_matrix (default.qubit)": (_pennylane(), None),
             AER_QISKIT: (_qiskit_aer(), SHOTS), AER_HQNN: (_hqnn("compute_uncompute", "qiskit.aer", SHOTS), SHOTS)}
    reference = FidelityKernel(encoder="iqp", n_qubits=N_QUBITS)(X)
    hqnn = full["hqnn FidelityKernel, torch (state overlaps)"]
    for label, gram in full.items():
        print(_check(label, gram(X), reference, None))
    for label, (gram, shots) in small.items():
        print(_check(label, gram(Xs), reference[: args.small, : args.small], shots))
    times: dict[str, list[float]] = {label: [] for label in [*full, *small, "hqnn-small"]}
    for r in range(args.rounds):
        for label, gram in full.items():
            times[label].append(_timed(gram, X))
        if r < args.peer_rounds:
            times["hqnn-small"].append(_timed(hqnn, Xs))
            for label, (gram, _) in small.items():
                times[label].append(_timed(gram, Xs))
    base, base_small = times["hqnn FidelityKernel, torch (state overlaps)"], times["hqnn-small"]
    print(f"\nFidelity Gram matrix K(X, X), IQP feature map on {N_QUBITS} qubits, 1 thread; {args.rounds} interleaved rounds "
          f"({args.peer_rounds} for the per-pair tools at {args.small} points)")
    print("| tool | matrix | median time | per-round ratio to hqnn torch (median, range) |\n|---|---|---:|---:|")
    for label in [*full, *small]:
        values = times[label]
        ref = base if label in full else base_small
        size = args.n if label in full else args.small
        ratios = [v / h for v, h in zip(values, ref, strict=False)]
        print(f"| {label} | {size}x{size} | {statistics.median(values) * 1e3:,.1f} ms | "
              f"{statistics.median(ratios):,.1f}x ({min(ratios):,.1f}-{max(ratios):,.1f}) |")
    print(f"| (hqnn FidelityKernel, torch, state overlaps) | {args.small}x{args.small} | {statistics.median(base_small) * 1e3:,.2f} ms | 1.0x |")
    aer = [q / h for q, h in zip(times[AER_QISKIT], times[AER_HQNN], strict=True)]
    print(f"\nOn Aer with {SHOTS} shots, Qiskit ML over hqnn's qiskit.aer adapter per round: {statistics.median(aer):.1f}x "
          f"({min(aer):.1f}-{max(aer):.1f})")


if __name__ == "__main__":
    main()
