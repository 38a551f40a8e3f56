"""readout and zne: error reduction on torch.noisy, exactness where derived, folding identities, gradients, cost."""

from __future__ import annotations

import math

import pytest
import torch

from hqnn_core.circuit import GATES, Observable, Op, PauliTerm
from hqnn_core.components import get_backend, get_mitigator
from hqnn_core.errors import ConfigError
from hqnn_core.layer import QuantumLayer
from hqnn_core.testing import parametrize_with_checks
from hqnn_plugins.folding import fold_gates, fold_global, inverse
from hqnn_plugins.mitigators import ReadoutMitigator, ZNEMitigator, extrapolation_weights
from hqnn_plugins.noisy_torch_backend import NoisyTorchBackend, gate_matrix


def _layer(seed: int, backend="torch", mitigation=(), gradient="backprop", observables=None, layers=2, **kw) -> QuantumLayer:
    return QuantumLayer(4, ansatz="hardware_efficient", layers=layers, seed=seed, backend=backend, mitigation=mitigation,
                        gradient=gradient, observables=observables, **kw).double()


def _inputs(seed: int, rows: int = 8) -> torch.Tensor:
    return torch.rand(rows, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * math.pi


def _out(layer: QuantumLayer, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return layer(x)


def _mae(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().mean())


# -- readout --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shots", [None, 20000])
def test_readout_cuts_the_error_of_z_outputs_by_at_least_80_percent(shots):
    """Random 4-qubit circuits, readout error only (asymmetric, per qubit): MAE of <Z_i> vs exact."""
    noise = {"readout_error": [[0.04, 0.10], [0.06, 0.02], [0.08, 0.08], [0.02, 0.12]], "seed": 11}
    raw, mitigated = [], []
    for seed in range(5):
        x = _inputs(seed)
        exact = _out(_layer(seed), x)
        raw.append(_mae(_out(_layer(seed, NoisyTorchBackend(**noise), shots=shots, gradient="parameter_shift"), x), exact))
        mitigated.append(_mae(_out(_layer(seed, NoisyTorchBackend(**noise), ["readout"], shots=shots, gradient="parameter_shift"), x), exact))
    raw_mae, mit_mae = sum(raw) / 5, sum(mitigated) / 5
    assert raw_mae > 0.05
    assert mit_mae <= 0.2 * raw_mae, (raw_mae, mit_mae)
    if shots is None:
        assert mit_mae < 1e-10  # exact: the tensored model is the noise model


def test_readout_is_exact_for_multi_qubit_and_non_z_terms_under_tensored_readout_noise():
    obs = ["Z0Z1", "0.5*Z0Z2Z3 - 0.25*X1", "Y2X3", Observable((PauliTerm(1.0, tuple((w, "Z") for w in range(4))), PauliTerm(1.0, ())))]
    noise = NoisyTorchBackend(readout_error=[[0.05, 0.1], [0.1, 0.02], [0.03, 0.07], [0.0, 0.09]])
    x = _inputs(3)
    exact = _out(_layer(3, observables=obs), x)
    raw = _out(_layer(3, noise, observables=obs), x)
    mitigated = _out(_layer(3, noise, ["readout"], observables=obs), x)
    assert _mae(raw, exact) > 0.02
    assert torch.allclose(mitigated, exact, atol=1e-10)


def test_readout_calibration_is_recorded_and_rescheduled():
    layer = _layer(0, NoisyTorchBackend(readout_error=[0.03, 0.07]), [{"name": "readout", "options": {"recalibrate_every": 2}}])
    calls_before = layer.backend.accounting.calls
    for _ in range(5):
        layer(_inputs(0, 2))
    mitigator = layer.mitigators[0]
    record = mitigator.describe()
    assert len(record["calibrations"]) == 3  # first call, then before calls 3 and 5
    assert layer.backend.accounting.calls - calls_before == 5 + 3
    cal = record["calibrations"][0]
    assert cal["backend"] == "torch.noisy" and cal["timestamp"].endswith("+00:00")
    assert cal["p01"] == pytest.approx([0.03] * 4, abs=1e-9) and cal["p10"] == pytest.approx([0.07] * 4, abs=1e-9)


def test_readout_refuses_an_uninvertible_calibration():
    layer = _layer(0, NoisyTorchBackend(readout_error=0.48), ["readout"])
    with pytest.raises(Exception, match="min_contrast"):
        layer(_inputs(0, 2))


# -- folding --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GATES))
def test_inverse_of_every_neutral_gate(name):
    spec = GATES[name]
    wires = tuple(range(spec.n_wires))
    op = Op(name, wires, tuple(range(spec.n_params)))
    values = torch.tensor([[0.3, -1.1, 2.2][: spec.n_params]], dtype=torch.float64)
    u = gate_matrix(op, values, torch.complex128).reshape(2**spec.n_wires, 2**spec.n_wires)
    product = torch.eye(2**spec.n_wires, dtype=torch.complex128)
    for g_name, g_wires, angles in inverse((name, wires, tuple((s, 1.0) for s in op.slots))):
        inv_values = torch.tensor([[sign * float(values[0, s]) for s, sign in angles]], dtype=torch.float64)
        g = Op(g_name, g_wires, tuple(range(len(angles))))
        product = gate_matrix(g, inv_values, torch.complex128).reshape(product.shape) @ product
    assert torch.allclose(product @ u, torch.eye(2**spec.n_wires, dtype=torch.complex128), atol=1e-12)


@pytest.mark.parametrize("fold", ["global", "local"])
@pytest.mark.parametrize("scale", [1.0, 2.5, 3.0, 5.0])
def test_folded_circuits_are_the_same_unitary_with_more_gates(fold, scale):
    layer = QuantumLayer(3, ansatz="strongly_entangling", layers=1, seed=2).double()
    values = layer.slot_values(_inputs(2)[:, :3]).detach()
    circuit = layer.circuit
    folded, smap = fold_global(circuit, scale) if fold == "global" else fold_gates(circuit, scale)
    rows = values if smap is None else values[:, list(smap.index)] * torch.tensor(smap.sign, dtype=torch.float64)
    torch_backend = get_backend("torch")
    assert torch.allclose(torch_backend.expectations(folded, rows), torch_backend.expectations(circuit, values), atol=1e-10)
    assert len(folded.ops) == pytest.approx(scale * len(circuit.ops), abs=1)


def test_local_folding_only_folds_the_chosen_gates():
    circuit = _layer(0).circuit
    folded, _ = fold_gates(circuit, 3, ["CNOT"])
    n_cnot = sum(op.name == "CNOT" for op in circuit.ops)
    assert sum(op.name == "CNOT" for op in folded.ops) == 3 * n_cnot
    assert sum(op.name != "CNOT" for op in folded.ops) == sum(op.name != "CNOT" for op in circuit.ops)


# -- extrapolation and zne ------------------------------------------------------------------------


def test_extrapolations_recover_their_model_exactly():
    scales = [1.0, 2.0, 3.5]
    s = torch.tensor(scales, dtype=torch.float64)
    quad = 0.7 - 0.2 * s + 0.03 * s**2
    line = 0.4 - 0.1 * s
    assert sum(w * y for w, y in zip(extrapolation_weights(scales, "richardson"), quad)) == pytest.approx(0.7, abs=1e-12)
    assert sum(w * y for w, y in zip(extrapolation_weights(scales, "linear"), line)) == pytest.approx(0.4, abs=1e-12)
    zne = ZNEMitigator(scale_factors=scales, extrapolation="exponential")
    decays = [(-0.6 * torch.exp(-0.3 * x)).reshape(1, 1) for x in s]
    assert float(zne.combine(None, decays)) == pytest.approx(-0.6, abs=1e-12)


def test_zne_reduces_depolarizing_error():
    noise = NoisyTorchBackend(depolarizing=0.01, two_qubit_depolarizing=0.02)
    x = _inputs(4)
    exact = _out(_layer(4), x)
    raw = _mae(_out(_layer(4, noise), x), exact)
    results = {m: _mae(_out(_layer(4, noise, [{"name": "zne", "options": {"extrapolation": m}}]), x), exact)
               for m in ("linear", "richardson", "exponential")}
    assert raw > 0.05
    assert results["linear"] < 0.8 * raw  # a line through [1, 3, 5] undershoots an exponential decay
    # measured: raw 0.0687, linear 0.0497, richardson 0.0156, exponential 0.0035
    assert results["richardson"] < 0.3 * raw and results["exponential"] < 0.1 * raw, (raw, results)


def test_zne_adds_its_circuits_to_the_single_batch_of_a_step():
    """Parameter-shift x zne x readout: one backend call per step (after the one calibration call)."""
    layer = _layer(1, NoisyTorchBackend(depolarizing=0.01, readout_error=0.03), ["readout", "zne"], gradient="parameter_shift")
    layer(_inputs(1, 2)).sum().backward()  # calibration + the first step
    before = layer.backend.accounting.copy()
    layer(_inputs(2, 2)).sum().backward()
    spent = layer.backend.accounting - before
    assert spent.calls == 1 and spent.jobs == 1
    trainable = layer.weights.numel()  # inputs do not require grad: only weight slots are shifted
    # each folded copy reads every weight `scale` times, each copy shifted twice, plus the unshifted rows; 2 inputs
    assert spent.circuits == sum(2 * (1 + 2 * s * trainable) for s in (1, 3, 5)) == 582
    assert [m.circuits_per_circuit() for m in layer.mitigators] == [1, 3]


@pytest.mark.parametrize("gradient", ["backprop", "parameter_shift"])
@pytest.mark.parametrize("mitigation", [["readout"], ["zne"], ["readout", {"name": "zne", "options": {"extrapolation": "exponential"}}]])
def test_gradients_match_finite_differences_of_mitigated_outputs(gradient, mitigation):
    noise = NoisyTorchBackend(depolarizing=0.02, amplitude_damping=0.01, readout_error=[0.03, 0.06])
    layer = QuantumLayer(3, ansatz="basic_entangler", layers=1, seed=5, backend=noise, mitigation=mitigation, gradient=gradient).double()
    x = _inputs(5, 2)[:, :3].contiguous().requires_grad_(True)
    weights = torch.tensor([0.5, -0.3, 1.1], dtype=torch.float64)

    def loss() -> torch.Tensor:
        return (layer(x) * weights).sum()

    loss().backward()
    analytic = torch.cat([layer.weights.grad.flatten(), x.grad.flatten()])
    numeric = []
    eps = 1e-5
    with torch.no_grad():
        for tensor in (layer.weights, x):
            flat = tensor.view(-1)
            for i in range(flat.numel()):
                flat[i] += eps
                up = loss()
                flat[i] -= 2 * eps
                down = loss()
                flat[i] += eps
                numeric.append((up - down) / (2 * eps))
    assert torch.allclose(analytic, torch.stack(numeric), atol=1e-6)


def test_option_errors_name_the_fix():
    with pytest.raises(ConfigError, match="at least two distinct"):
        get_mitigator({"name": "zne", "options": {"scale_factors": [1]}})
    with pytest.raises(ConfigError, match=">= 1"):
        get_mitigator({"name": "zne", "options": {"scale_factors": [0.5, 1]}})


@parametrize_with_checks([ReadoutMitigator(), ZNEMitigator(), ZNEMitigator(folding="local", gates=["CNOT"], extrapolation="linear")])
def test_conformance(component, check):
    check(component)
