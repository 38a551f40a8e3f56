"""``qiskit.aer`` in exact mode: closed forms, agreement with the torch reference, one job per call."""

import itertools

import pytest

pytest.importorskip("qiskit_aer")

import torch  # noqa: E402

from hqnn_core import CapabilityError, CircuitBuilder, ConfigError, Observable, QuantumLayer, get_backend, get_gradient  # noqa: E402
from hqnn_core.testing.golden import golden_cases  # noqa: E402

pytestmark = pytest.mark.vendor

CASES = golden_cases()
ENCODERS = ["angle", "amplitude", "basis", "iqp", "reuploading"]
ANSATZE = ["hardware_efficient", "strongly_entangling", "basic_entangler"]


@pytest.fixture
def aer():
    return get_backend("qiskit.aer")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_values_and_parameter_shift_gradients(aer, case):
    values = aer.expectations(case.circuit, case.slot_values)
    assert values.dtype == torch.float64 and values.shape == case.values.shape
    torch.testing.assert_close(values, case.values, atol=1e-6, rtol=0)
    if case.slot_values.shape[1]:
        ps = get_gradient("parameter_shift")
        trainable = torch.ones(case.circuit.n_slots, dtype=torch.bool)
        batch = ps.expand(case.circuit, case.slot_values, trainable)
        jobs = aer.accounting.jobs
        vals, jac = ps.combine(batch, aer.expectations(case.circuit, batch.slot_values))
        assert aer.accounting.jobs == jobs + 1
        torch.testing.assert_close(vals, case.values, atol=1e-6, rtol=0)
        torch.testing.assert_close(jac, case.jacobian, atol=1e-6, rtol=0)


def _random_layers():
    """Every encoder x ansatz with qubits in 2..6 and 1-2 layers drawn from one seed."""
    rng = torch.Generator().manual_seed(2024)
    for i, (encoder, ansatz) in enumerate(itertools.product(ENCODERS, ANSATZE)):
        n_qubits = int(torch.randint(2, 7, (1,), generator=rng))
        layers = int(torch.randint(1, 3, (1,), generator=rng))
        yield pytest.param(encoder, ansatz, n_qubits, layers, 100 + i, id=f"{encoder}-{ansatz}-{n_qubits}q-{layers}l")


def _inputs(layer: QuantumLayer, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(3, layer.n_features, generator=g, dtype=torch.float64) * 2 - 1
    return (x > 0).double() if layer.encoder.name == "basis" else x


@pytest.mark.parametrize(("encoder", "ansatz", "n_qubits", "layers", "seed"), list(_random_layers()))
def test_random_layers_match_torch_values_and_gradients(encoder, ansatz, n_qubits, layers, seed):
    observables = ["Z0", "X0X1", f"0.5*Y{n_qubits - 1} + Z0Z{n_qubits - 1}"]
    layers_by_backend = {
        name: QuantumLayer(n_qubits, encoder, ansatz, layers, backend=name, gradient=gradient, observables=observables, seed=seed).double()
        for name, gradient in (("torch", "backprop"), ("qiskit.aer", "parameter_shift"))
    }
    results = {}
    for name, layer in layers_by_backend.items():
        x = _inputs(layer, seed)
        x.requires_grad_(encoder != "basis")  # basis inputs are bits: no input gradient
        out = layer(x)
        (out * torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)).sum().backward()
        results[name] = (out.detach(), layer.weights.grad, x.grad)
    (ref, ref_w, ref_x), (got, got_w, got_x) = results["torch"], results["qiskit.aer"]
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_w, ref_w, atol=1e-6, rtol=0)
    if encoder != "basis":
        torch.testing.assert_close(got_x, ref_x, atol=1e-6, rtol=0)
    assert layers_by_backend["qiskit.aer"].backend.accounting.jobs == 1  # forward and every shift: one EstimatorV2 job


def test_training_step_of_batch_32_is_one_job():
    layer = QuantumLayer(4, layers=2, backend="qiskit.aer", gradient="parameter_shift", seed=0)
    head = torch.nn.Linear(4, 1)
    x, y = torch.rand(32, 4), torch.rand(32, 1)
    before = layer.backend.accounting.copy()
    torch.nn.functional.mse_loss(head(layer(x)), y).backward()
    spent = layer.backend.accounting - before
    assert spent.jobs == 1 and spent.calls == 1
    assert spent.circuits == 32 * (1 + 2 * 16)  # the batch and two shifts per weight, all in that one job
    assert layer.weights.grad is not None and layer.weights.grad.abs().sum() > 0


def test_several_tasks_in_one_batch_are_one_job(aer):
    case_a, case_b = CASES[0], CASES[4]
    out = aer.run_batch([(case_a.circuit, case_a.slot_values), (case_b.circuit, case_b.slot_values)])
    assert aer.accounting.jobs == 1
    torch.testing.assert_close(out[0], case_a.values, atol=1e-6, rtol=0)
    torch.testing.assert_close(out[1], case_b.values, atol=1e-6, rtol=0)


def test_batch_of_one_is_not_squeezed_and_empty_batches_submit_nothing(aer):
    case = CASES[0]
    assert aer.expectations(case.circuit, case.slot_values[:1]).shape == (1, 2)
    jobs = aer.accounting.jobs
    assert aer.expectations(case.circuit, case.slot_values[:0]).shape == (0, 2)
    assert aer.accounting.jobs == jobs


def test_identity_and_constant_terms(aer):
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    circuit = b.build([Observable.parse("2*Z0 + 0.5*I0"), Observable.parse("I0")])
    out = aer.expectations(circuit, torch.tensor([[0.0], [torch.pi]], dtype=torch.float64))
    torch.testing.assert_close(out, torch.tensor([[2.5, 1.0], [-1.5, 1.0]], dtype=torch.float64))


def test_parameter_free_circuit_with_many_rows(aer):
    bell = next(c for c in CASES if c.name == "bell")
    rows = torch.zeros(5, 0, dtype=torch.float64)
    torch.testing.assert_close(aer.expectations(bell.circuit, rows), bell.values[:1].expand(5, -1), atol=1e-12, rtol=0)


def test_too_many_qubits_is_rejected_before_any_job(aer):
    b = CircuitBuilder(aer.capabilities.max_qubits + 1)
    b.add("H", [0])
    with pytest.raises(CapabilityError, match="qubits"):
        aer.expectations(b.build(), torch.zeros(1, 0))
    assert aer.accounting.jobs == 0


def test_methods_agree():
    case = next(c for c in CASES if c.name == "ry_rz_chain")
    for method in ("statevector", "density_matrix", "matrix_product_state"):
        out = get_backend("qiskit.aer", method=method).expectations(case.circuit, case.slot_values)
        torch.testing.assert_close(out, case.values, atol=1e-6, rtol=0)
    assert get_backend("qiskit.aer", method="density_matrix").capabilities.max_qubits == get_backend("qiskit.aer").capabilities.max_qubits // 2


def test_bad_option_names_the_key():
    with pytest.raises(ConfigError, match="method"):
        get_backend("qiskit.aer", method="stabilizer")
    with pytest.raises(ConfigError, match="token"):
        get_backend("qiskit.aer", token="abc")


def test_describe_is_provenance(aer):
    info = aer.describe()
    assert info["name"] == "qiskit.aer" and info["vendor"] == "qiskit"
    assert set(info["versions"]) >= {"qiskit", "qiskit-aer"}
    assert info["device"] == {"name": "aer_simulator", "method": "automatic", "max_parallel_threads": 1, "noise": None}
    assert info["capabilities"]["analytic"] is True and info["capabilities"]["backprop"] is False


@pytest.mark.parametrize("options", [{}, {"method": "density_matrix"}, {"readout_error": 0.02}, {"depolarizing_1q": 0.01}])
def test_config_time_capabilities_equal_the_instance(options):
    from hqnn_core.components import backend_capabilities

    assert backend_capabilities("qiskit.aer", options) == get_backend("qiskit.aer", **options).capabilities
