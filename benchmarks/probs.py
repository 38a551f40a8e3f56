"""Probabilities with gradients: hqnn's torch backend against PennyLane and Qiskit ML on W2's circuit.

One forward+backward of ``measure="probs"`` (all ``2**n`` outcome probabilities) through the W2
circuit of :mod:`benchmarks.workloads`, in three tools in one process with interleaved rounds:

* hqnn ``QuantumLayer(..., measure="probs")`` on the ``torch`` backend (backprop);
* PennyLane ``qml.qnn.TorchLayer`` over a QNode returning ``qml.probs`` on ``default.qubit`` (backprop);
* a plain torch statevector simulator written gate by gate (autograd), the no-framework baseline;
* Qiskit ML ``SamplerQNN`` + ``TorchConnector`` (its default sampler and parameter-shift sampler
  gradients), which is far slower, so it runs at a smaller batch and hqnn is timed again at that batch.

Before timing, every tool's probabilities and weight gradients are checked against hqnn in
complex128 (exact tools to 1e-5; Qiskit ML's sampler within 5 standard errors of its shots). Each
round times every tool once, in turn; the report gives per-round median ratios with their range.

    HQNN_DISABLE_PLUGIN_AUTOLOAD=0 python benchmarks/probs.py --rounds 5 --qiskit-batch 4
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import torch

from benchmarks import plain_torch
from benchmarks.tools import pennylane_workload_ops, workload_circuit
from benchmarks.workloads import WORKLOADS, Workload
from hqnn_core import QuantumLayer

Step = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _hqnn(w: Workload, dtype: torch.dtype) -> Step:
    x0, weights, _ = w.data(dtype)
    layer = QuantumLayer(w.n_qubits, encoder="angle", ansatz="hardware_efficient", layers=w.layers, measure="probs",
                         gradient="backprop", backend_options={"diff_method": "backprop"}).to(dtype)
    with torch.no_grad():
        layer.weights.copy_(weights)

    def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        layer.weights.grad = None
        out = layer(x.to(dtype))
        (out * cot.to(out.dtype)).sum().backward()
        assert layer.weights.grad is not None
        return out.detach().double(), layer.weights.grad.double()

    return step


def _pennylane(w: Workload, dtype: torch.dtype) -> Step:
    import pennylane as qml

    n = w.n_qubits

    @qml.qnode(qml.device("default.qubit", wires=n), interface="torch", diff_method="backprop")
    def qnode(inputs: torch.Tensor, weights: torch.Tensor) -> object:
        pennylane_workload_ops(qml, w, inputs, weights)
        return qml.probs(wires=range(n))

    model = qml.qnn.TorchLayer(qnode, {"weights": (w.layers, 2 * n)}).to(dtype)
    _, weights, _ = w.data(dtype)
    with torch.no_grad():
        model.weights.copy_(weights)

    def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        model.weights.grad = None
        out = model(x.to(dtype))
        (out * cot.to(out.dtype)).sum().backward()
        return out.detach().double(), model.weights.grad.double()

    return step


def _plain_torch(w: Workload, dtype: torch.dtype) -> Step:
    """The hand-written batched statevector simulator of :mod:`benchmarks.plain_torch` (autograd): the no-framework baseline."""
    _, weights0, _ = w.data(dtype)
    weights = weights0.clone().requires_grad_(True)

    def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights.grad = None
        probs = plain_torch.probabilities(plain_torch.final_state(w, x.to(dtype), weights))
        (probs * cot.to(probs.dtype)).sum().backward()
        assert weights.grad is not None
        return probs.detach().double(), weights.grad.double()

    return step


def _qiskit_ml(w: Workload) -> tuple[Step, int]:
    from qiskit.circuit import ParameterVector, QuantumCircuit
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import SamplerQNN

    n = w.n_qubits
    qc, xs, ws = workload_circuit(w, QuantumCircuit, ParameterVector)
    qc.measure_all()
    _, weights, _ = w.data(torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qnn = SamplerQNN(circuit=qc, input_params=list(xs), weight_params=list(ws))
        model = TorchConnector(qnn, initial_weights=weights.flatten().numpy())
    # Qiskit orders outcomes little-endian (qubit 0 is the lowest bit); hqnn's wire 0 is the highest.
    order = torch.tensor([int(format(b, f"0{n}b")[::-1], 2) for b in range(2**n)])

    def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        model.weight.grad = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = model(x.float())[:, order]
            (out * cot.to(out.dtype)).sum().backward()
        return out.detach().double(), model.weight.grad.detach().double().reshape(w.layers, 2 * n)

    shots = int(getattr(qnn.sampler, "default_shots", 1024) or 1024)
    return step, shots


def _timed(step: Step, x: torch.Tensor, cot: torch.Tensor) -> float:
    start = time.perf_counter()
    step(x, cot)
    return time.perf_counter() - start


def _inputs(w: Workload, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, _, _ = w.data(torch.float64)
    cot = torch.randn(w.batch, 2**w.n_qubits, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    return x[:batch], cot[:batch]


def _check(label: str, got: tuple[torch.Tensor, torch.Tensor], ref: tuple[torch.Tensor, torch.Tensor], shots: int | None) -> str:
    probs, grad = got
    ref_probs, ref_grad = ref
    if shots is None:
        err = max(float((probs - ref_probs).abs().max()), float((grad - ref_grad).abs().max()) / max(1.0, float(ref_grad.abs().max())))
        assert err <= 1e-5, f"{label}: differs from the complex128 reference by {err:.2e}"
        return f"{label}: agrees with the reference to {err:.1e}"
    bound = 5 * torch.sqrt(ref_probs * (1 - ref_probs) / shots) + 1e-9
    outside = int(((probs - ref_probs).abs() > bound).sum())
    assert outside <= max(1, probs.numel() // 200), f"{label}: {outside} probabilities outside 5 standard errors"
    return f"{label}: probabilities within 5 standard errors of the reference ({shots} shots; {outside} of {probs.numel()} outside)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="W2", choices=sorted(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--qiskit-batch", type=int, default=4, help="batch for Qiskit ML (0: skip it)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    w = WORKLOADS[args.workload]
    x, cot = _inputs(w, w.batch)
    reference = _hqnn(w, torch.float64)(x, cot)
    tools = {"hqnn torch probs (backprop)": _hqnn(w, torch.float32), "PennyLane TorchLayer qml.probs (default.qubit backprop)":
             _pennylane(w, torch.float32), "plain torch statevector, gate by gate (autograd)": _plain_torch(w, torch.float32)}
    for label, step in tools.items():
        print(_check(label, step(x, cot), reference, None) if "hqnn" in label else _check(label, step(x.float().double(), cot), reference, None))
    qiskit = None
    if args.qiskit_batch:
        qiskit_step, shots = _qiskit_ml(w)
        xq, cq = _inputs(w, args.qiskit_batch)
        print(_check("Qiskit ML SamplerQNN + TorchConnector", qiskit_step(xq, cq), _hqnn(w, torch.float64)(xq, cq), shots))
        qiskit = (qiskit_step, xq, cq)
    hqnn_step = tools["hqnn torch probs (backprop)"]
    times: dict[str, list[float]] = {label: [] for label in tools}
    small: dict[str, list[float]] = {"hqnn": [], "qiskit": []}
    for _ in range(args.rounds):
        for label, step in tools.items():
            times[label].append(_timed(step, x, cot))
        if qiskit is not None:
            step, xq, cq = qiskit
            small["qiskit"].append(_timed(step, xq, cq))
            small["hqnn"].append(_timed(hqnn_step, xq, cq))
    hqnn_times = times["hqnn torch probs (backprop)"]
    print(f"\n{w.label()}, probabilities of all {2**w.n_qubits} outcomes, 1 thread, {args.rounds} interleaved rounds")
    print("| tool | median step | per-round ratio to hqnn (median, range) |\n|---|---:|---:|")
    for label, values in times.items():
        ratios = [v / h for v, h in zip(values, hqnn_times, strict=True)]
        print(f"| {label} (batch {w.batch}) | {statistics.median(values) * 1e3:.1f} ms | "
              f"{statistics.median(ratios):.1f}x ({min(ratios):.1f}-{max(ratios):.1f}) |")
    if qiskit is not None:
        ratios = [q / h for q, h in zip(small["qiskit"], small["hqnn"], strict=True)]
        print(f"| Qiskit ML SamplerQNN + TorchConnector (batch {args.qiskit_batch}) | {statistics.median(small['qiskit']) * 1e3:.0f} ms | "
              f"{statistics.median(ratios):.0f}x ({min(ratios):.0f}-{max(ratios):.0f}) against hqnn at batch {args.qiskit_batch} "
              f"({statistics.median(small['hqnn']) * 1e3:.1f} ms) |")


if __name__ == "__main__":
    main()
