"""Every tool the benchmark runs, behind one interface: build a runner for a workload, then time its steps.

A runner's ``step(x, cotangent)`` does one forward+backward of the batch and returns the outputs
``[B, n]`` and the weight gradient in hqnn's ``[layers, 2n]`` layout, both float64 on the CPU, so that
every tool's numbers can be compared with the reference (hqnn's torch backend in complex128).
Tools whose package is missing raise :class:`Unavailable` with the reason; the harness notes it and
goes on.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from benchmarks.workloads import Workload


class Unavailable(Exception):
    """The tool cannot run here (package missing, adapter not registered); the message says why."""


@dataclass
class Runner:
    step: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    set_weights: Callable[[torch.Tensor], None]  # new weights in hqnn's [layers, 2n] layout (float64), between rounds
    counts: Callable[[], dict[str, int] | None] = lambda: None
    dtype_note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tool:
    """``kind`` is ``hqnn`` or ``peer``; ``native`` names the peer an hqnn adapter wraps (for overhead ratios)."""

    key: str
    label: str
    kind: str
    gradient: str
    build: Callable[[Workload, torch.dtype, int | None], Runner]
    circuits_per_sample: Callable[[Workload], int] = lambda w: 1
    native: str | None = None
    shots: bool = False
    tolerance: float | None = None  # relative deviation allowed from the complex128 reference (None: the harness's)
    quick: bool = True  # run by --quick (the CI smoke test) unless named with --tools


def _quiet() -> contextlib.ExitStack:
    """Silence vendor deprecation chatter while building (it is not what we measure)."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack


def _copier(param: torch.Tensor) -> Callable[[torch.Tensor], None]:
    """Copy hqnn-layout weights ``[layers, 2n]`` into a tool's parameter (flattened when its layout is flat)."""

    def set_weights(weights: torch.Tensor) -> None:
        with torch.no_grad():
            param.copy_(weights.reshape(param.shape))

    return set_weights


def _param_shift_circuits(w: Workload) -> int:
    return 1 + 2 * w.n_weights


# ---------------------------------------------------------------------------------------------- hqnn


def _hqnn(backend: str, gradient: str, backend_options: dict[str, Any] | None = None,
          compiled: bool = False) -> Callable[[Workload, torch.dtype, int | None], Runner]:
    """``compiled``: the layer under ``torch.compile(fullgraph=True)`` (compiled on the first step, which the harness drops)."""

    def build(w: Workload, dtype: torch.dtype, shots: int | None) -> Runner:
        try:
            from hqnn_core import QuantumLayer
        except ImportError as e:  # pragma: no cover - the harness lives in the hqnn repository
            raise Unavailable(f"hqnn is not importable: {e}") from None
        try:
            with _quiet():
                layer = QuantumLayer(w.n_qubits, encoder="angle", ansatz="hardware_efficient", layers=w.layers, backend=backend,
                                     gradient=gradient, shots=shots, seed=0, backend_options=backend_options)
        except Exception as e:  # noqa: BLE001 - any failure to build means "not available here", with the reason
            raise Unavailable(f"{type(e).__name__}: {str(e).splitlines()[0][:160]}") from None
        layer = layer.to(dtype)
        _, weights, _ = w.data(dtype)
        with torch.no_grad():
            layer.weights.copy_(weights)
        last: dict[str, int] = {}
        model = torch.compile(layer, fullgraph=True) if compiled else layer

        def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            layer.weights.grad = None
            before = layer.backend.accounting.copy()
            out = model(x)
            (out * cot).sum().backward()
            spent = layer.backend.accounting - before
            last.update(jobs=spent.jobs, circuits=spent.circuits)
            return out.detach().double(), layer.weights.grad.detach().double()

        if compiled:  # compile here, outside the capped and timed steps
            x, _, cot = w.data(dtype)
            step(x, cot)
        return Runner(step, _copier(layer.weights), counts=lambda: dict(last), dtype_note=str(dtype).replace("torch.", ""),
                      extra={"gradient": layer.gradient.name, "circuit": layer.circuit})

    return build


# ---------------------------------------------------------------------------------------------- peers


def pennylane_workload_ops(qml: Any, w: Workload, inputs: torch.Tensor, weights: torch.Tensor) -> None:
    """Queue the workload's gates in a PennyLane QNode (``weights`` in hqnn's ``[layers, 2n]`` layout)."""
    for i in range(w.n_qubits):
        qml.RY(inputs[..., i], wires=i)
    for layer in range(w.layers):
        for i in range(w.n_qubits):
            qml.RY(weights[layer, 2 * i], wires=i)
            qml.RZ(weights[layer, 2 * i + 1], wires=i)
        for a, b in w.ring:
            qml.CNOT(wires=[a, b])


def _pennylane(device: str, diff_method: str) -> Callable[[Workload, torch.dtype, int | None], Runner]:
    def build(w: Workload, dtype: torch.dtype, shots: int | None) -> Runner:
        try:
            with _quiet():
                import pennylane as qml

                dev = qml.device(device, wires=w.n_qubits)
        except Exception as e:  # noqa: BLE001
            raise Unavailable(f"{type(e).__name__}: {str(e).splitlines()[0][:160]}") from None
        n = w.n_qubits

        @qml.qnode(dev, interface="torch", diff_method=diff_method)
        def circuit(inputs: torch.Tensor, weights: torch.Tensor) -> list[Any]:
            pennylane_workload_ops(qml, w, inputs, weights)
            return [qml.expval(qml.PauliZ(i)) for i in range(n)]

        if shots is not None:
            circuit = qml.set_shots(circuit, shots=shots)
        with _quiet():
            model = qml.qnn.TorchLayer(circuit, {"weights": (w.layers, 2 * n)}).to(dtype)
        _, weights, _ = w.data(dtype)
        with torch.no_grad():
            model.weights.copy_(weights)

        def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            model.weights.grad = None
            with _quiet():
                out = model(x)
                (out * cot).sum().backward()
            return out.detach().double(), model.weights.grad.detach().double()

        return Runner(step, _copier(model.weights), dtype_note=str(dtype).replace("torch.", ""))

    return build


def workload_circuit(w: Workload, circuit_cls: Any, vector_cls: Any) -> tuple[Any, Any, Any]:
    """The workload's circuit as a Qiskit ``QuantumCircuit`` over ``ParameterVector``s ``x`` (inputs) and ``w`` (weights)."""
    n = w.n_qubits
    xs, ws = vector_cls("x", n), vector_cls("w", w.n_weights)
    qc = circuit_cls(n)
    for i in range(n):
        qc.ry(xs[i], i)
    for layer in range(w.layers):
        for i in range(n):
            qc.ry(ws[layer * 2 * n + 2 * i], i)
            qc.rz(ws[layer * 2 * n + 2 * i + 1], i)
        for a, b in w.ring:
            qc.cx(a, b)
    return qc, xs, ws


def _qiskit_ml(w: Workload, dtype: torch.dtype, shots: int | None) -> Runner:
    try:
        with _quiet():
            from qiskit.circuit import ParameterVector, QuantumCircuit
            from qiskit.quantum_info import SparsePauliOp
            from qiskit_machine_learning.connectors import TorchConnector
            from qiskit_machine_learning.neural_networks import EstimatorQNN
    except Exception as e:  # noqa: BLE001
        raise Unavailable(f"{type(e).__name__}: {str(e).splitlines()[0][:160]}") from None
    n = w.n_qubits
    qc, xs, ws = workload_circuit(w, QuantumCircuit, ParameterVector)
    observables = [SparsePauliOp("I" * (n - 1 - i) + "Z" + "I" * i) for i in range(n)]  # Qiskit: qubit 0 is the last letter
    _, weights, _ = w.data(torch.float64)
    with _quiet():
        qnn = EstimatorQNN(circuit=qc, observables=observables, input_params=list(xs), weight_params=list(ws))
        model = TorchConnector(qnn, initial_weights=weights.flatten().numpy())

    def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        model.weight.grad = None
        with _quiet():
            out = model(x)
            (out * cot.to(out.dtype)).sum().backward()
        return out.detach().double(), model.weight.grad.detach().double().reshape(w.layers, 2 * n)

    return Runner(step, _copier(model.weight), dtype_note="float32 (TorchConnector)")


def _plain(w: Workload, dtype: torch.dtype, shots: int | None) -> Runner:
    """The hand-written torch simulator of :mod:`benchmarks.plain_torch` (autograd through every gate)."""
    from benchmarks import plain_torch

    _, weights0, _ = w.data(dtype)
    weights = weights0.clone().requires_grad_(True)

    def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights.grad = None
        out = plain_torch.z_expectations(plain_torch.final_state(w, x.to(dtype), weights))
        (out * cot.to(out.dtype)).sum().backward()
        assert weights.grad is not None
        return out.detach().double(), weights.grad.double()

    return Runner(step, _copier(weights), dtype_note=str(dtype).replace("torch.", ""))


#: Where TorchQuantum-ng is installed beside the venv (``pip install --no-deps --target DIR torchquantum-ng``);
#: its declared dependencies would pull a second torch, so it is never installed into the venv.
TORCHQUANTUM_PATH_ENV = "HQNN_TORCHQUANTUM_PATH"


def _import_torchquantum() -> Any:
    """Import TorchQuantum-ng from ``$HQNN_TORCHQUANTUM_PATH`` (appended to ``sys.path``, so the venv's packages win)."""
    path = os.environ.get(TORCHQUANTUM_PATH_ENV)
    if not path:
        raise Unavailable(f"TorchQuantum-ng: pass --torchquantum-path DIR (or set {TORCHQUANTUM_PATH_ENV}) after "
                          "`pip install --no-deps --target DIR torchquantum-ng torchpack multimethod toml loguru pathos ppft`")
    if path not in sys.path:
        sys.path.append(path)
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - only its dataset loaders (MNIST, CIFAR) need torchvision; none runs here
        sys.modules.setdefault("torchquantum.dataset", types.ModuleType("torchquantum.dataset"))
    try:
        with _quiet():
            import torchquantum as tq
    except Exception as e:  # noqa: BLE001
        raise Unavailable(f"TorchQuantum-ng from {path}: {type(e).__name__}: {str(e).splitlines()[0][:160]}") from None
    return tq


def _torchquantum(w: Workload, dtype: torch.dtype, shots: int | None) -> Runner:
    """TorchQuantum-ng's dynamic mode: functional gates on a batched ``QuantumDevice``, ``tq.expval`` of Z on every wire.

    TorchQuantum computes in complex64 only (its gate matrices are built in ``C_DTYPE``), so it always
    runs in float32 and is checked against the reference with a float32 tolerance.
    """
    tq = _import_torchquantum()
    import torchquantum.functional as tqf

    n = w.n_qubits
    _, weights0, _ = w.data(torch.float32)
    weights = weights0.clone().requires_grad_(True)
    observables = [tq.PauliZ() for _ in range(n)]

    def step(x: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights.grad = None
        x = x.float()
        qdev = tq.QuantumDevice(n_wires=n, bsz=x.shape[0])
        for i in range(n):
            tqf.ry(qdev, wires=i, params=x[:, i])
        for layer in range(w.layers):
            for i in range(n):
                tqf.ry(qdev, wires=i, params=weights[layer, 2 * i].reshape(1, 1))
                tqf.rz(qdev, wires=i, params=weights[layer, 2 * i + 1].reshape(1, 1))
            for a, b in w.ring:
                tqf.cnot(qdev, wires=[a, b])
        out = tq.expval(qdev, wires=list(range(n)), observables=observables)
        (out * cot.to(out.dtype)).sum().backward()
        assert weights.grad is not None
        return out.detach().double(), weights.grad.double()

    return Runner(step, _copier(weights), dtype_note="float32 (complex64 only)")


# ---------------------------------------------------------------------------------------------- the list

TOOLS: list[Tool] = [
    Tool("hqnn-torch-backprop", "hqnn torch (backprop)", "hqnn", "backprop", _hqnn("torch", "backprop", {"diff_method": "backprop"})),
    Tool("hqnn-torch-adjoint", "hqnn torch (adjoint)", "hqnn", "adjoint", _hqnn("torch", "adjoint", {"diff_method": "adjoint"})),
    Tool("hqnn-torch-compiled", "hqnn torch (backprop) under torch.compile", "hqnn", "backprop",
         _hqnn("torch", "backprop", {"diff_method": "backprop"}, compiled=True), quick=False),  # compiling outlasts the smoke test
    Tool("hqnn-qiskit-aer", "hqnn qiskit.aer", "hqnn", "best", _hqnn("qiskit.aer", "best"), _param_shift_circuits, native="qiskit-ml"),
    Tool("hqnn-pl-default", "hqnn pennylane:default.qubit", "hqnn", "best", _hqnn("pennylane:default.qubit", "best"), native="pl-default-backprop"),
    Tool("hqnn-pl-lightning", "hqnn pennylane:lightning.qubit", "hqnn", "best", _hqnn("pennylane:lightning.qubit", "best"),
         native="pl-lightning-adjoint"),
    Tool("hqnn-braket-sv", "hqnn braket.local:sv", "hqnn", "best", _hqnn("braket.local:sv", "best"), _param_shift_circuits, native="pl-braket"),
    Tool("plain-torch", "plain torch statevector simulator (hand-written)", "peer", "backprop", _plain),
    Tool("torchquantum", "TorchQuantum-ng (dynamic mode)", "peer", "backprop", _torchquantum, tolerance=1e-4),
    Tool("pl-default-backprop", "PennyLane TorchLayer default.qubit", "peer", "backprop", _pennylane("default.qubit", "backprop")),
    Tool("pl-lightning-adjoint", "PennyLane TorchLayer lightning.qubit", "peer", "adjoint", _pennylane("lightning.qubit", "adjoint")),
    Tool("pl-param-shift", "PennyLane TorchLayer default.qubit", "peer", "parameter-shift", _pennylane("default.qubit", "parameter-shift"),
         _param_shift_circuits),
    Tool("qiskit-ml", "qiskit-machine-learning EstimatorQNN + TorchConnector", "peer", "parameter-shift", _qiskit_ml, _param_shift_circuits),
    Tool("pl-braket", "PennyLane TorchLayer braket.local.qubit", "peer", "parameter-shift", _pennylane("braket.local.qubit", "parameter-shift"),
         _param_shift_circuits),
]

#: PennyLane peers timed with shots (parameter-shift: backprop cannot differentiate samples).
PEER_SHOT_TOOLS: list[Tool] = [
    Tool("pl-default-shots", "PennyLane TorchLayer default.qubit shots", "peer", "parameter-shift",
         _pennylane("default.qubit", "parameter-shift"), _param_shift_circuits, shots=True),
]

#: hqnn backends timed again with shots (gradient: parameter-shift, the estimator that works with samples).
SHOT_TOOLS: list[Tool] = [
    Tool(f"{t}-shots", f"{label} shots", "hqnn", "parameter_shift", _hqnn(name, "parameter_shift"), _param_shift_circuits, shots=True)
    for t, label, name in [
        ("hqnn-torch", "hqnn torch", "torch"),
        ("hqnn-qiskit-aer", "hqnn qiskit.aer", "qiskit.aer"),
        ("hqnn-pl-default", "hqnn pennylane:default.qubit", "pennylane:default.qubit"),
        ("hqnn-braket-sv", "hqnn braket.local:sv", "braket.local:sv"),
    ]
]

TOOLS_BY_KEY = {t.key: t for t in TOOLS + SHOT_TOOLS + PEER_SHOT_TOOLS}
