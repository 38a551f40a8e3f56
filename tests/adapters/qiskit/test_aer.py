"""``qiskit.aer`` in exact mode: closed forms and one job per call (random layers against torch: tests/cross_backend/test_layer_agreement.py)."""

import pytest

pytest.importorskip("qiskit_aer")

import torch  # noqa: E402

from hqnn_core import CapabilityError, CircuitBuilder, ConfigError, Observable, QuantumLayer, get_backend, get_gradient  # noqa: E402
from hqnn_core.testing.golden import golden_cases  # noqa: E402

pytestmark = pytest.mark.vendor

CASES = golden_cases()


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
