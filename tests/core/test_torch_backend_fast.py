"""The compiled torch backend against an independent dense-matrix simulator, for every gate and every way to differentiate.

The oracle below builds each gate's matrix from its textbook definition (PennyLane conventions) and
applies it with numpy, one gate at a time; gradients are central finite differences of that oracle.
The backend fuses gates, permutes basis states, builds shared weights once and sweeps adjoint, so
agreement here is what makes those shortcuts trustworthy.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

import hqnn_plugins.statevector_plan as sp
import hqnn_plugins.torch_backend_memory as memory
from hqnn_core import CapabilityError, CircuitBuilder, ConfigError, Observable, QuantumLayer, get_backend
from hqnn_core.circuit import GATES

# ------------------------------------------------------------------------------------------ oracle

_I2, _X = np.eye(2), np.array([[0, 1], [1, 0]], dtype=complex)
_Y, _Z = np.array([[0, -1j], [1j, 0]]), np.diag([1.0 + 0j, -1.0])
_P0, _P1 = np.diag([1.0 + 0j, 0]), np.diag([0j, 1.0])


def _rot(p: np.ndarray, t: float) -> np.ndarray:
    return math.cos(t / 2) * np.eye(len(p)) - 1j * math.sin(t / 2) * p


def _matrix(name: str, angles: list[float]) -> np.ndarray:
    s = 1 / math.sqrt(2)
    fixed = {
        "I": _I2, "H": np.array([[s, s], [s, -s]]), "X": _X, "Y": _Y, "Z": _Z, "S": np.diag([1, 1j]), "Sdg": np.diag([1, -1j]),
        "T": np.diag([1, np.exp(1j * math.pi / 4)]), "Tdg": np.diag([1, np.exp(-1j * math.pi / 4)]),
        "SX": 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]),
        "CNOT": np.kron(_P0, _I2) + np.kron(_P1, _X), "CZ": np.diag([1, 1, 1, -1]).astype(complex),
        "SWAP": np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex),
    }
    if name in fixed:
        return np.asarray(fixed[name], dtype=complex)
    t = angles[0]
    one = {"RX": _rot(_X, t), "RY": _rot(_Y, t), "RZ": _rot(_Z, t), "PhaseShift": np.diag([1, np.exp(1j * t)])}
    if name in one:
        return one[name]
    if name == "Rot":
        a, b, c = angles
        return _rot(_Z, c) @ _rot(_Y, b) @ _rot(_Z, a)
    if name in ("RXX", "RYY", "RZZ"):
        p = {"RXX": _X, "RYY": _Y, "RZZ": _Z}[name]
        return _rot(np.kron(p, p), t)
    if name in ("CRX", "CRY", "CRZ"):
        return np.kron(_P0, _I2) + np.kron(_P1, _rot({"CRX": _X, "CRY": _Y, "CRZ": _Z}[name], t))
    if name == "CPhase":
        return np.diag([1, 1, 1, np.exp(1j * t)])
    raise AssertionError(name)


def oracle_state(circuit, row: np.ndarray) -> np.ndarray:
    n = circuit.n_qubits
    psi = np.zeros((2,) * n, dtype=complex)
    psi[(0,) * n] = 1
    for op in circuit.ops:
        k = len(op.wires)
        gate = _matrix(op.name, [float(row[s]) for s in op.slots]).reshape((2,) * (2 * k))
        psi = np.tensordot(gate, psi, axes=(list(range(k, 2 * k)), list(op.wires)))
        psi = np.moveaxis(psi, list(range(k)), list(op.wires))
    return psi.reshape(-1)


def oracle_values(circuit, values: np.ndarray) -> np.ndarray:
    n = circuit.n_qubits
    paulis = {"X": _X, "Y": _Y, "Z": _Z}
    out = np.zeros((values.shape[0], len(circuit.observables)))
    for r, row in enumerate(values):
        psi = oracle_state(circuit, row)
        for k, obs in enumerate(circuit.observables):
            for term in obs.terms:
                op = np.array([[1.0 + 0j]])
                for w in range(n):
                    op = np.kron(op, paulis[dict(term.paulis)[w]] if w in dict(term.paulis) else _I2)
                out[r, k] += term.coeff * float(np.real(psi.conj() @ op @ psi))
    return out


def oracle_grad(circuit, values: np.ndarray, cot: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d sum(values * cot) / d slot values, per row, by central differences."""
    grad = np.zeros_like(values)
    for s in range(values.shape[1]):
        up, down = values.copy(), values.copy()
        up[:, s] += h
        down[:, s] -= h
        grad[:, s] = ((oracle_values(circuit, up) - oracle_values(circuit, down)) * cot).sum(1) / (2 * h)
    return grad


def random_circuit(rng: random.Random, n: int, n_ops: int, z_only: bool):
    b = CircuitBuilder(n)
    slot = 0
    for _ in range(n_ops):
        name = rng.choice(sorted(GATES))
        spec = GATES[name]
        if spec.n_wires > n:
            continue
        b.add(name, rng.sample(range(n), spec.n_wires), *[b.weight(slot + i) for i in range(spec.n_params)])
        slot += spec.n_params
    last = n - 1
    texts = [f"Z{rng.randrange(n)}", f"0.5*Z0 + 1.5*I0 - Z{last}", f"Z0Z{last}" if n > 1 else "Z0"]
    if not z_only:
        texts += [f"X{rng.randrange(n)}", f"Y0 + 0.3*X{last}Z0" if n > 1 else "Y0"]
    return b.build([Observable.parse(t) for t in texts])


# ------------------------------------------------------------------------------------------ values and gradients

METHODS = ["backprop", "adjoint", "autograd"]


@pytest.mark.parametrize("seed", range(12))
def test_random_circuits_match_the_oracle_in_values_states_and_gradients(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 5)
    circuit = random_circuit(rng, n, rng.randint(1, 22), z_only=seed % 3 != 0)
    values = torch.tensor(np.random.default_rng(seed).uniform(-3, 3, (3, circuit.n_slots)))
    cot = np.random.default_rng(seed + 100).normal(size=(3, len(circuit.observables)))
    expected = oracle_values(circuit, values.numpy())
    expected_grad = oracle_grad(circuit, values.numpy(), cot) if circuit.n_slots else None
    state = get_backend("torch").simulate(circuit, values)
    for r in range(3):
        np.testing.assert_allclose(state[r].numpy(), oracle_state(circuit, values[r].numpy()), atol=1e-10)
    for method in METHODS:
        v = values.clone().requires_grad_(True)
        out = get_backend("torch", diff_method=method).expectations(circuit, v)
        np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-10, err_msg=method)
        if expected_grad is not None:
            (out * torch.tensor(cot)).sum().backward()
            np.testing.assert_allclose(v.grad.numpy(), expected_grad, atol=1e-6, err_msg=method)


@pytest.mark.parametrize("rows", [1, 3])
def test_circuits_without_slots_match_the_oracle(rows):
    """No slot values at all (``[N, 0]``), with fixed one-qubit gates after entanglers: the shared-matrix path
    must not read a row of slot values that is not there (zero-noise folding builds exactly such circuits)."""
    b = CircuitBuilder(3)
    for name, wires in [("H", [0]), ("CNOT", [0, 1]), ("X", [1]), ("X", [1]), ("S", [2]), ("H", [2]), ("CNOT", [2, 0]),
                        ("T", [0]), ("SX", [1]), ("CZ", [1, 2]), ("Y", [2])]:
        b.add(name, wires)
    circuit = b.build([Observable.parse(t) for t in ("Z0", "Z1Z2", "X0", "0.5*Y2 + Z1")])
    values = torch.zeros(rows, 0, dtype=torch.float64)
    expected = oracle_values(circuit, values.numpy())
    for method in METHODS:
        out = get_backend("torch", diff_method=method).expectations(circuit, values)
        assert out.shape == (rows, 4)
        np.testing.assert_allclose(out.numpy(), expected, atol=1e-12, err_msg=method)


@pytest.mark.parametrize("method", METHODS)
def test_rows_sharing_weights_get_each_their_own_exact_gradient(method):
    """Equal weight columns are built once; every row's gradient must still be that row's own."""
    b = CircuitBuilder(4)
    for w in range(4):
        b.add("RY", [w], b.input(w))
    slot = 0
    for _ in range(2):
        for w in range(4):
            b.add("RX", [w], b.weight(slot))
            b.add("PhaseShift", [w], b.weight(slot + 1))
            b.add("H", [w])
            slot += 2
        for w in range(4):
            b.add("CNOT", [w, (w + 1) % 4])
        b.add("CZ", [0, 2])
    circuit = b.build()
    rng = np.random.default_rng(0)
    values = np.tile(rng.uniform(-2, 2, (1, circuit.n_slots)), (5, 1))
    values[:, :4] = rng.uniform(0, 3, (5, 4))  # the inputs differ per row
    values[3] = values[1]  # two identical rows as well
    cot = rng.normal(size=(5, 4))
    v = torch.tensor(values, requires_grad=True)
    out = get_backend("torch", diff_method=method).expectations(circuit, v)
    (out * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), oracle_values(circuit, values), atol=1e-10)
    np.testing.assert_allclose(v.grad.numpy(), oracle_grad(circuit, values, cot), atol=1e-6)


def test_layer_gradients_reach_weights_and_inputs_in_every_method():
    torch.manual_seed(0)
    x = torch.rand(6, 5, dtype=torch.float64, requires_grad=True)
    grads = {}
    for method in METHODS:
        layer = QuantumLayer(5, layers=3, seed=4, backend_options={"diff_method": method}).double()
        x.grad = None
        (layer(x) * torch.arange(5.0, dtype=torch.float64)).sum().backward()
        grads[method] = (layer.weights.grad.clone(), x.grad.clone())
    ref = QuantumLayer(5, layers=3, seed=4, gradient="parameter_shift").double()
    x.grad = None
    (ref(x) * torch.arange(5.0, dtype=torch.float64)).sum().backward()
    for method, (gw, gx) in grads.items():
        torch.testing.assert_close(gw, ref.weights.grad, atol=1e-9, rtol=0, msg=method)
        torch.testing.assert_close(gx, x.grad, atol=1e-9, rtol=0, msg=method)


def test_complex64_default_agrees_with_complex128():
    layer = QuantumLayer(6, layers=3, seed=1)
    x = torch.rand(16, 6)
    out32 = layer(x)
    out32.sum().backward()
    g32 = layer.weights.grad.clone()
    layer64 = QuantumLayer(6, layers=3, seed=1).double()
    out64 = layer64(x.double())
    out64.sum().backward()
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), out64, atol=2e-6, rtol=0)
    torch.testing.assert_close(g32.double(), layer64.weights.grad, atol=2e-5, rtol=0)


def test_autograd_method_gives_second_derivatives():
    """Higher-order derivatives (e.g. d/dx of an input gradient) need diff_method='autograd'; check one against the oracle."""
    b = CircuitBuilder(2)
    b.add("RY", [0], b.weight(0))
    b.add("RX", [1], b.weight(1))
    b.add("CNOT", [0, 1])
    b.add("RZ", [1], b.weight(2))
    b.add("RY", [1], b.weight(3))
    circuit = b.build([Observable.parse("Z1")])
    v = torch.tensor([[0.3, -0.7, 1.1, 0.4]], dtype=torch.float64, requires_grad=True)
    out = get_backend("torch", diff_method="autograd").expectations(circuit, v)
    (g,) = torch.autograd.grad(out.sum(), v, create_graph=True)
    (h0,) = torch.autograd.grad(g[0, 0], v)
    h = 1e-4
    def dfd0(row):
        return oracle_grad(circuit, row, np.ones((1, 1)))[0, 0]
    up, down = v.detach().numpy().copy(), v.detach().numpy().copy()
    fd = []
    for s in range(4):
        up, down = v.detach().numpy().copy(), v.detach().numpy().copy()
        up[0, s] += h
        down[0, s] -= h
        fd.append((dfd0(up) - dfd0(down)) / (2 * h))
    np.testing.assert_allclose(h0[0].numpy(), fd, atol=1e-4)


# ------------------------------------------------------------------------------------------ memory and plans


def _saved_bytes(fn) -> int:
    """Bytes of distinct storage that autograd keeps for the backward of ``fn()``."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


def test_adjoint_keeps_a_few_states_where_backprop_keeps_one_per_step():
    layer_args = dict(n_qubits=10, layers=8, seed=0)
    x = torch.rand(64, 10)
    state_bytes = 64 * 2**10 * 8  # batch x 2**n x complex64
    saved = {}
    for method in ("backprop", "adjoint"):
        layer = QuantumLayer(**layer_args, backend_options={"diff_method": method})
        saved[method] = _saved_bytes(lambda layer=layer: layer(x))
    plan = sp._plan(layer.circuit, True)
    assert len(plan.steps) >= 20
    assert saved["adjoint"] <= 2 * state_bytes  # the final state, plus batch-independent matrices
    assert saved["backprop"] >= len(plan.steps) * state_bytes


def test_gradient_adjoint_can_select_the_adjoint_sweep():
    """Told ``adjoint``, ``diff_method: auto`` keeps adjoint's few states where it would otherwise take backprop's one per step."""
    x = torch.rand(64, 10)
    state_bytes = 64 * 2**10 * 8  # batch x 2**n x complex64
    saved = {}
    for told in (None, "adjoint"):
        backend = get_backend("torch")
        if told:
            backend.configure_gradient(told)
        layer = QuantumLayer(10, layers=8, gradient=told or "backprop", backend=backend, seed=0)
        saved[told] = _saved_bytes(lambda layer=layer: layer(x))
    steps = len(sp._plan(layer.circuit, True).steps)
    assert saved[None] >= steps * state_bytes  # auto, not told: the backprop sweep
    assert saved["adjoint"] <= 2 * state_bytes  # told adjoint: the adjoint sweep


def test_plans_are_compiled_once_per_circuit(monkeypatch):
    compiled = []
    original = sp._Compiler.compile

    def counting(self):
        compiled.append(self.c)
        return original(self)

    monkeypatch.setattr(sp._Compiler, "compile", counting)
    sp._PLANS.clear()
    layer = QuantumLayer(5, layers=2, seed=0)
    for _ in range(3):
        layer(torch.rand(4, 5)).sum().backward()
    assert len(compiled) == 1


def test_a_cnot_ring_is_one_gather_and_a_rotation_layer_few_products():
    layer = QuantumLayer(12, layers=3, seed=0)
    plan = sp._plan(layer.circuit, True)
    kinds = [type(s).__name__ for s in plan.steps]
    # layer 0 rotations join the opening product state; each later layer: one gather + 3 Kronecker-block products;
    # the last ring folds into the measurement.
    assert kinds == ["_Perm", "_Dense", "_Dense", "_Dense"] * 2


def test_largest_qubit_counts_follow_from_memory():
    gib = 2**30
    assert memory.largest_qubits(24 * gib) == 29
    assert memory.largest_qubits(24 * gib, method="adjoint") == 28
    assert memory.largest_qubits(24 * gib, dtype=torch.complex128) == 29
    assert memory.largest_qubits(24 * gib, dtype=torch.complex128, method="adjoint") == 27
    # int64 gather tables (a permutation and its inverse) up to GATHER_MAX_QUBITS, int32 ones past it
    assert memory.memory_needed(20, 4, torch.complex64, "forward") == int(2.08 * 4 * 2**20 * 8) + 16 * 2**20
    assert memory.memory_needed(20, 4, torch.complex128, "forward") == int(2.08 * 4 * 2**20 * 16) + 32 * 2**20
    assert memory.memory_needed(26, 1, torch.complex64, "forward") == int(2.08 * 2**26 * 8) + 8 * 2**26


def test_too_big_fails_early_naming_the_limit(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 24 * 2**30)
    b = CircuitBuilder(30)
    b.add("H", [0])
    circuit = b.build([Observable.z(0)])
    sp._PLANS.clear()
    with pytest.raises(CapabilityError, match=r"24 GiB is free\. Lower the batch size or the qubit count \(at this batch size at most 29 qubits fit\)"):
        get_backend("torch").expectations(circuit, torch.zeros(1, 0))
    assert not sp._PLANS  # failed before compiling (the plan's tables alone would be 2**30 entries)


def test_diff_method_is_validated():
    with pytest.raises(ConfigError, match="diff_method"):
        get_backend("torch", diff_method="finite")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_like_on_cpu():
    layer = QuantumLayer(6, layers=2, seed=0).double()
    x = torch.rand(5, 6, dtype=torch.float64)
    ref = layer(x)
    ref.sum().backward()
    gref = layer.weights.grad.clone()
    layer = layer.cuda()
    layer.weights.grad = None
    out = layer(x.cuda())
    out.sum().backward()
    torch.testing.assert_close(out.cpu(), ref, atol=1e-10, rtol=0)
    torch.testing.assert_close(layer.weights.grad.cpu(), gref, atol=1e-10, rtol=0)


def test_an_empty_batch_gives_empty_results():
    layer = QuantumLayer(3, layers=1, seed=0)
    assert layer(torch.zeros(0, 3)).shape == (0, 3)
    assert get_backend("torch").simulate(layer.circuit, torch.zeros(0, layer.circuit.n_slots)).shape == (0, 8)


@pytest.mark.parametrize("precision", ["complex128", "complex64"])
@pytest.mark.parametrize("method", METHODS)
def test_table_free_paths_for_large_circuits_agree_with_the_tables(monkeypatch, method, precision):
    """Large circuits measure chunk by chunk, build diagonal phases gate by gate and permute with int32 index_select
    instead of int64 gathers; all must match the small-circuit paths."""
    b = CircuitBuilder(5)
    for w in range(5):
        b.add("RY", [w], b.input(w))
    for w in range(5):
        b.add("RZZ", [w, (w + 2) % 5], b.weight(w))
        b.add("CNOT", [w, (w + 1) % 5])
    b.add("CPhase", [0, 3], b.weight(5))
    b.add("RX", [1], b.weight(6))
    circuit = b.build([Observable.parse(t) for t in ("Z0", "Z1Z3", "0.5*Z4 + 2*I0", "Z2Z3Z4")])
    values = torch.tensor(np.random.default_rng(3).uniform(-2, 2, (4, circuit.n_slots)))
    results = []
    for limit, low_bits, gather_max in ((1 << 24, 16, 24), (1, 2, 0)):
        monkeypatch.setattr(sp, "_TABLE_LIMIT", limit)
        monkeypatch.setattr(sp._ZMeasure, "LOW_BITS", low_bits)
        monkeypatch.setattr(sp, "GATHER_MAX_QUBITS", gather_max)
        sp._PLANS.clear()
        v = values.clone().requires_grad_(True)
        out = get_backend("torch", diff_method=method, precision=precision).expectations(circuit, v)
        out.sum().backward()
        sampled = get_backend("torch", precision=precision).expectations(circuit, values, shots=300, seed=5)
        results.append((out.detach(), v.grad, sampled))
    sp._PLANS.clear()
    tol = 1e-12 if precision == "complex128" else 1e-5
    for a, b_ in zip(*results):
        torch.testing.assert_close(a, b_, atol=tol, rtol=0)
    np.testing.assert_allclose(results[0][0].numpy(), oracle_values(circuit, values.numpy()), atol=100 * tol)
