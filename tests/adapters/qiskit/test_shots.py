"""``qiskit.aer`` with shots: sampled counts within the stated bound, seeds, and the sampling semantics."""

import pytest

pytest.importorskip("qiskit_aer")

import torch  # noqa: E402

import hqnn_qiskit.backend as aer_backend  # noqa: E402
from hqnn_core import CapabilityError, CircuitBuilder, Observable, QuantumLayer, get_backend  # noqa: E402
from hqnn_core.testing.golden import golden_cases  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402

pytestmark = [pytest.mark.vendor, pytest.mark.shots]

CASES = golden_cases()
SHOTS = 4000


def _within(est: torch.Tensor, exact: torch.Tensor, observables, shots: int) -> None:
    tol = shot_tolerance(exact, observables, shots)
    assert bool(((est - exact).abs() <= tol).all()), ((est - exact).abs() / tol).max()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_shot_estimates_within_five_standard_errors(case):
    est = get_backend("qiskit.aer", seed=11).expectations(case.circuit, case.slot_values, shots=SHOTS)
    assert est.dtype == torch.float64 and est.shape == case.values.shape
    _within(est, case.values, case.circuit.observables, SHOTS)
    if case.name != "bell":  # shot noise is really there (the Bell values are all ±1 or an exact 0 mean)
        assert (est - case.values).abs().max() > 0


def test_estimates_are_means_of_plus_minus_one_samples():
    # every term estimate from S shots is a multiple of 2/S
    case = CASES[1]
    est = get_backend("qiskit.aer").expectations(case.circuit, case.slot_values, shots=50, seed=1)
    ticks = (est + 1) * 50 / 2
    torch.testing.assert_close(ticks, ticks.round(), atol=1e-9, rtol=0)


def test_same_seed_same_numbers_other_seed_other_numbers():
    case = CASES[1]
    a = get_backend("qiskit.aer").expectations(case.circuit, case.slot_values, shots=500, seed=3)
    b = get_backend("qiskit.aer").expectations(case.circuit, case.slot_values, shots=500, seed=3)
    c = get_backend("qiskit.aer").expectations(case.circuit, case.slot_values, shots=500, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_backend_seed_option_reproduces_a_sequence_of_calls():
    case = CASES[1]
    runs = []
    for _ in range(2):
        backend = get_backend("qiskit.aer", seed=5)
        runs.append([backend.expectations(case.circuit, case.slot_values, shots=200) for _ in range(3)])
    for a, b in zip(*runs):
        assert torch.equal(a, b)
    assert not torch.equal(runs[0][0], runs[0][1])  # successive calls draw fresh samples


def test_identical_rows_get_independent_samples():
    # Each binding is its own S-shot experiment, also for a parameter-free circuit (Aer itself would
    # sample only the first binding of such a PUB; the adapter splits N*S shots instead).
    bell = next(c for c in CASES if c.name == "bell")
    est = get_backend("qiskit.aer").expectations(bell.circuit, torch.zeros(20, 0, dtype=torch.float64), shots=100, seed=2)
    z0 = est[:, 1]  # <Z0> = 0 exactly: every row is an independent 100-shot mean
    assert len(set(z0.tolist())) > 5
    _within(est, bell.values[:1].expand(20, -1), bell.circuit.observables, 100)
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    circuit = b.build([Observable.parse("Z0")])
    est = get_backend("qiskit.aer").expectations(circuit, torch.full((20, 1), torch.pi / 2, dtype=torch.float64), shots=100, seed=2)
    assert len(set(est[:, 0].tolist())) > 5


def test_terms_in_one_basis_share_samples_and_other_bases_do_not():
    # Wires 0 and 1 are perfectly correlated in Z, so Z0 and Z1 read from the same shots are equal
    # row by row. Wire 3 is |+> (X3 = +1 in every shot), so X2 and X2 X3 would also be equal if they
    # shared shots; X2 X3 is another basis, so it gets its own shots and the estimates differ.
    b = CircuitBuilder(4)
    b.add("RY", [0], b.weight(0))
    b.add("CNOT", [0, 1])
    b.add("H", [3])
    circuit = b.build([Observable.parse(o) for o in ("Z0", "Z1", "X2", "X2X3")])
    est = get_backend("qiskit.aer").expectations(circuit, torch.full((30, 1), 1.1, dtype=torch.float64), shots=64, seed=9)
    assert torch.equal(est[:, 0], est[:, 1])
    assert (est[:, 2] == est[:, 3]).double().mean() < 0.5


def test_layer_with_shots_matches_exact_within_bound():
    layer = QuantumLayer(4, layers=2, backend="qiskit.aer", shots=SHOTS, seed=0, backend_options={"seed": 1}).double()
    exact_layer = QuantumLayer(4, layers=2, backend="qiskit.aer", seed=0).double()
    x = torch.rand(8, 4, dtype=torch.float64)
    with torch.no_grad():
        est, exact = layer(x), exact_layer(x)
    _within(est, exact, layer.circuit.observables, SHOTS)
    assert layer.backend.accounting.shots == 8 * SHOTS


def test_training_step_with_shots_is_one_job():
    layer = QuantumLayer(4, layers=2, backend="qiskit.aer", gradient="parameter_shift", shots=256, seed=0)
    before = layer.backend.accounting.copy()
    layer(torch.rand(32, 4)).sum().backward()
    spent = layer.backend.accounting - before
    assert spent.jobs == 1 and spent.circuits == 32 * 33 and spent.shots == 32 * 33 * 256


def test_noise_options_make_a_sampling_only_noisy_backend():
    noisy = get_backend("qiskit.aer", depolarizing_1q=0.02, depolarizing_2q=0.1, readout_error=0.05, seed=3)
    assert noisy.capabilities.noise and not noisy.capabilities.analytic
    bell = next(c for c in CASES if c.name == "bell")
    with pytest.raises(CapabilityError, match="only samples"):
        noisy.expectations(bell.circuit, bell.slot_values)
    est = noisy.expectations(bell.circuit, torch.zeros(1, 0, dtype=torch.float64), shots=20000)
    # <Z0 Z1> of the Bell circuit: depolarizing H's output leaves Z0 Z1 = 1 after the CNOT (I/2 (x) |0>
    # becomes a classical mixture of |00> and |11>); the CNOT's 2-qubit depolarizing multiplies it by
    # 1 - 0.1, and each readout flip by 1 - 2 * 0.05.
    expected_zz = (1 - 0.1) * (1 - 2 * 0.05) ** 2
    assert est[0, 0].item() == pytest.approx(expected_zz, abs=5 / 20000**0.5)
    assert noisy.describe()["device"]["noise"] == {"depolarizing_1q": 0.02, "depolarizing_2q": 0.1, "readout_error": 0.05}


def test_noise_free_shots_come_from_one_probability_job_not_the_sampler(monkeypatch):
    """Noise-free Aer draws the shots from one job's exact outcome probabilities (fast path; SamplerV2 is not used)."""
    backend = get_backend("qiskit.aer", seed=4)
    monkeypatch.setattr(type(backend), "_sampler", lambda self, seed: pytest.fail("SamplerV2 used on a noise-free backend"))
    case = CASES[1]
    est = backend.expectations(case.circuit, case.slot_values, shots=SHOTS)
    _within(est, case.values, case.circuit.observables, SHOTS)
    assert backend.accounting.jobs == 1


def test_sampled_spread_is_the_shot_noise_of_independent_shots():
    """400 identical rows of <Z> = cos(1.1) at 100 shots: the rows' variance is (1 - <Z>^2) / 100 within 20%
    (the sample variance of 400 rows has a relative standard error of 7%), and their mean is within 5 standard errors."""
    b = CircuitBuilder(2)
    b.add("RY", [0], b.weight(0))
    b.add("CNOT", [0, 1])
    circuit = b.build([Observable.parse("Z1"), Observable.parse("Z0Z1")])
    est = get_backend("qiskit.aer").expectations(circuit, torch.full((400, 1), 1.1, dtype=torch.float64), shots=100, seed=6)
    z = torch.cos(torch.tensor(1.1, dtype=torch.float64))
    expected_var = (1 - z**2) / 100
    assert 0.8 < float(est[:, 0].var() / expected_var) < 1.2
    assert abs(float(est[:, 0].mean() - z)) < 5 * float((expected_var / 400).sqrt())
    assert torch.equal(est[:, 1], torch.ones(400, dtype=torch.float64))  # Z0 Z1 = +1 in every shot of the Bell-like state


def test_probability_and_sampler_paths_agree_within_the_bound(monkeypatch):
    """The same circuits through Aer's SamplerV2 (forced with a zero budget) and through the probability path."""
    case = next(c for c in CASES if c.name != "bell")
    fast = get_backend("qiskit.aer", seed=8).expectations(case.circuit, case.slot_values, shots=SHOTS)
    monkeypatch.setattr(aer_backend, "_PROBABILITY_BUDGET", 0)
    sampled = get_backend("qiskit.aer", seed=8).expectations(case.circuit, case.slot_values, shots=SHOTS)
    _within(fast, case.values, case.circuit.observables, SHOTS)
    _within(sampled, case.values, case.circuit.observables, SHOTS)
    assert not torch.equal(fast, sampled)  # two different draws, both within the bound
