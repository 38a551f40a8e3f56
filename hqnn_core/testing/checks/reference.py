"""The reference the checks compare with: the embedded torch backend, verified against ``golden.py`` first.

Also the circuits and inputs the checks share: random layers of every built-in encoder x ansatz,
valid inputs for an encoder, and finite-difference Jacobians.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable
from hqnn_core.errors import InputError
from hqnn_core.interfaces import Ansatz, Backend, BackendCapabilities, Encoder
from hqnn_core.layer import QuantumLayer
from hqnn_core.plugin_manager import get_plugins
from hqnn_core.registry import BUILTIN_DISTRIBUTION
from hqnn_core.testing.checks.common import CheckSkipped, generator
from hqnn_core.testing.golden import GoldenCase, golden_cases


def _torch_backend_class() -> type[Backend]:
    """The built-in ``torch`` backend, through the registry: the core never imports a plugin module."""
    return get_plugins().backends.get("torch")


@functools.cache
def reference_backend() -> Backend:
    """The embedded torch backend in complex128, checked against every golden case before first use.

    No backend is judged only by another backend: if the reference itself disagreed with the
    closed forms, every comparison would be meaningless, so this raises instead.
    """
    backend = _torch_backend_class()(precision="complex128")
    for case in golden_cases():
        values = backend.expectations(case.circuit, case.slot_values)
        if not torch.allclose(values, case.values, atol=1e-9, rtol=0):
            raise RuntimeError(f"the torch reference backend disagrees with golden case {case.name!r}; fix it before trusting any check")
    return backend


@functools.cache
def detached_backend() -> Backend:
    """A reference that declares no backprop and returns detached float64 results, like a vendor simulator."""
    base = _torch_backend_class()

    class DetachedReference(base):  # type: ignore[valid-type, misc]
        """The torch simulator behind a vendor-like contract: float64, no autograd graph."""

        name = "conformance.detached"
        capabilities = BackendCapabilities(max_qubits=30, backprop=False)

        def _run(self, tasks, shots, seed):
            return [r.detach().to(torch.float64) for r in super()._run(tasks, shots, seed)]

    return DetachedReference(precision="complex128")


def golden(with_slots: bool = False) -> list[GoldenCase]:
    cases = golden_cases()
    return [c for c in cases if c.slot_values.shape[1]] if with_slots else cases


def runnable(backend: Backend, circuit: Circuit) -> bool:
    """Whether ``circuit`` is within what ``backend`` declares (width and native gates)."""
    caps = backend.capabilities
    return circuit.n_qubits <= caps.max_qubits and circuit.gate_names <= caps.native_gates


# -- inputs -----------------------------------------------------------------------------------


def sample_inputs(encoder: Encoder, n_qubits: int, batch: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Valid inputs ``(batch, n_features)`` for ``encoder``.

    An encoder may define ``conformance_inputs(n_qubits, batch, generator)``; otherwise continuous
    values in [-1.2, 1.2] are tried, then bits (at least one 1 per row).
    """
    g = generator(seed)
    width = encoder.n_features(n_qubits)
    custom = getattr(encoder, "conformance_inputs", None)
    if callable(custom):
        return torch.as_tensor(custom(n_qubits, batch, g)).to(dtype)
    continuous = (torch.rand(batch, width, generator=g, dtype=torch.float64) * 2.4 - 1.2).to(dtype)
    bits = torch.randint(0, 2, (batch, width), generator=g).to(dtype)
    bits[:, 0] = 1
    for candidate in (continuous, bits):
        try:
            encoder.check_inputs(candidate, n_qubits)
        except InputError:
            continue
        return candidate
    raise CheckSkipped(
        f"cannot generate valid inputs for encoder {encoder.name!r}; define conformance_inputs(n_qubits, batch, generator) on it."
    )


# -- circuits ---------------------------------------------------------------------------------


def mixed_observables(n_qubits: int) -> list[Observable]:
    """Z, X, Y and a weighted sum, so that basis changes and term sums are compared too."""
    texts = ["Z0"]
    if n_qubits >= 2:
        texts += ["X1", "0.5*Z0Z1 + X0"]
    if n_qubits >= 3:
        texts += [f"Z0Y{n_qubits - 1}"]
    else:
        texts += ["Y0"]
    return [Observable.parse(t) for t in texts]


def builtin_classes(kind: str) -> list[tuple[str, type]]:
    """Every built-in component class of ``kind`` (distribution ``hqnn``), by registered name."""
    registry = get_plugins().registry(kind)
    return [(e.name, registry.get(e.name)) for e in registry.entries() if e.distribution == BUILTIN_DISTRIBUTION]


@dataclass(frozen=True)
class LayerCase:
    """A random layer as the backend sees it: a circuit and its slot values."""

    label: str
    circuit: Circuit
    slot_values: torch.Tensor


def layer_case(n_qubits: int, encoder: Encoder, ansatz: Ansatz, *, layers: int = 2, batch: int = 3, seed: int = 0,
               observables: list[Observable] | None = None) -> LayerCase:
    """The circuit and float64 slot values of a ``QuantumLayer`` with random weights and inputs."""
    layer = QuantumLayer(n_qubits, encoder=encoder, ansatz=ansatz, layers=layers, backend=reference_backend(),
                         observables=observables or mixed_observables(n_qubits), seed=seed).double()
    x = sample_inputs(encoder, n_qubits, batch, seed + 1)
    with torch.no_grad():
        values = layer.slot_values(x)
    return LayerCase(f"{encoder.name}x{ansatz.name}", layer.circuit, values)


def random_layer_cases(n_qubits: int, seed: int, *, layers: int = 2, batch: int = 3) -> list[LayerCase]:
    """One random layer for every built-in encoder x ansatz that fits ``n_qubits``."""
    cases: list[LayerCase] = []
    for _, e_cls in builtin_classes("encoder"):
        for _, a_cls in builtin_classes("ansatz"):
            encoder, ansatz = e_cls(), a_cls()
            if n_qubits < max(encoder.min_qubits(), ansatz.min_qubits()):
                continue
            cases.append(layer_case(n_qubits, encoder, ansatz, layers=layers, batch=batch, seed=seed + len(cases)))
    return cases


def every_gate_circuit() -> tuple[Circuit, torch.Tensor]:
    """Two qubits, every parametrised neutral gate once (plus a constant-angle gate), Pauli observables mixed."""
    b = CircuitBuilder(2)
    b.add("H", [0])
    b.add("RX", [0], b.weight(0))
    b.add("RY", [1], b.weight(1))
    b.add("RZ", [0], b.weight(2))
    b.add("PhaseShift", [1], b.weight(3))
    b.add("Rot", [0], b.weight(4), b.weight(5), b.weight(6))
    b.add("RXX", [0, 1], b.weight(7))
    b.add("RYY", [1, 0], b.weight(8))
    b.add("RZZ", [0, 1], b.weight(9))
    b.add("CRX", [0, 1], b.weight(10))
    b.add("CRY", [1, 0], b.weight(11))
    b.add("CRZ", [0, 1], b.weight(12))
    b.add("CPhase", [1, 0], b.weight(13))
    b.add("RY", [1], 0.7)
    circuit = b.build([Observable.parse(t) for t in ("Z0", "X1", "Y0Z1", "0.5*X0X1 + Z1")])
    values = torch.rand(2, circuit.n_slots, generator=generator(11), dtype=torch.float64) * 6 - 3
    values[:, -1] = 0.7
    return circuit, values


# -- derivatives ------------------------------------------------------------------------------


def fd_jacobian(f: Callable[[torch.Tensor], torch.Tensor], values: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """Central differences ``[N, K, S]`` of ``f([N, S]) -> [N, K]`` row by row, in one call of ``f``.

    All shifted rows are stacked so that a backend ``f`` sees one batch (one job).
    """
    n, s = values.shape
    eye = torch.eye(s, dtype=values.dtype)
    plus = (values.unsqueeze(1) + h * eye).reshape(n * s, s)
    minus = (values.unsqueeze(1) - h * eye).reshape(n * s, s)
    out = f(torch.cat([plus, minus])).detach().to(torch.float64)
    k = out.shape[1]
    diff = (out[: n * s] - out[n * s :]).reshape(n, s, k) / (2 * h)
    return diff.transpose(1, 2)
