"""Retry, fallback chains, circuit breakers and fault injection (RELIABILITY.md R1, R2, R3, R15)."""

from __future__ import annotations

import logging
import random

import pytest
import torch

from hqnn_core import (
    ConfigError,
    FallbackWarning,
    PermanentBackendError,
    QuantumLayer,
    TransientBackendError,
    UnavailableBackendError,
    UnknownComponentError,
    get_backend,
)
from hqnn_core.execution.fallback import CircuitBreaker, FallbackBackend
from hqnn_core.execution.retry import Retrier, RetryPolicy

pytestmark = pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _failing(times: int, exc: BaseException):
    calls = {"n": 0}

    def fn():
        calls["n"] += 1
        if calls["n"] <= times:
            raise exc
        return "ok"

    return fn, calls


# --- retry policy (R15) ----------------------------------------------------------------------

def test_transient_errors_are_retried_with_exponential_jittered_backoff():
    clock = FakeClock()
    retrier = Retrier(RetryPolicy(max_attempts=5, initial_wait=1.0, jitter=0.5, seed=0), sleep=clock.sleep, clock=clock)
    fn, calls = _failing(3, TransientBackendError("throttled"))
    assert retrier.call(fn) == "ok"
    assert calls["n"] == 4 and retrier.stats.retries == 3
    for k, slept in enumerate(clock.slept):
        assert 2**k <= slept <= 2**k + 0.5


def test_retry_jitter_never_touches_the_global_random_stream():
    random.seed(123)
    expected = [random.random() for _ in range(3)]
    random.seed(123)
    clock = FakeClock()
    Retrier(RetryPolicy(max_attempts=4, seed=9), sleep=clock.sleep, clock=clock).call(_failing(3, TransientBackendError("x"))[0])
    assert [random.random() for _ in range(3)] == expected


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3), PermanentBackendError("bad circuit"), UnavailableBackendError("offline"), ValueError("x")])
def test_non_transient_errors_are_attempted_once_and_propagate_unchanged(exc):
    clock = FakeClock()
    retrier = Retrier(RetryPolicy(), sleep=clock.sleep, clock=clock)
    fn, calls = _failing(10, exc)
    with pytest.raises(type(exc)):
        retrier.call(fn)
    assert calls["n"] == 1 and clock.slept == []


def test_exhausted_retries_raise_the_original_error_not_retry_error():
    clock = FakeClock()
    fn, calls = _failing(100, TransientBackendError("still throttled"))
    with pytest.raises(TransientBackendError, match="still throttled"):
        Retrier(RetryPolicy(max_attempts=3), sleep=clock.sleep, clock=clock).call(fn)
    assert calls["n"] == 3


def test_deadline_stops_before_a_sleep_would_cross_it():
    clock = FakeClock()
    fn, calls = _failing(100, TransientBackendError("x"))
    policy = RetryPolicy(max_attempts=100, deadline=10.0, initial_wait=1.0, jitter=0.0, max_wait=60)
    with pytest.raises(TransientBackendError):
        Retrier(policy, sleep=clock.sleep, clock=clock).call(fn)
    assert clock.slept == [1.0, 2.0, 4.0]  # the next wait (8 s) would end past 10 s
    assert clock.now <= 10.0 and calls["n"] == 4


def test_one_warning_line_per_retry(caplog):
    clock = FakeClock()
    with caplog.at_level(logging.WARNING, logger="hqnn.retry"):
        Retrier(RetryPolicy(max_attempts=5), sleep=clock.sleep, clock=clock, name="torch").call(_failing(2, TransientBackendError("x"))[0])
    lines = [r.getMessage() for r in caplog.records if r.name == "hqnn.retry"]
    assert len(lines) == 2 and lines[0].startswith("torch: attempt 1/5 failed with TransientBackendError; retrying in")


def test_retry_policy_rejects_nonsense():
    with pytest.raises(ConfigError, match="max_attempts must be at least 1"):
        RetryPolicy(max_attempts=0)


# --- fault injection ---------------------------------------------------------------------------

def _batch(n=4):
    layer = QuantumLayer(2, seed=0).double()
    return layer.circuit, layer.slot_values(torch.rand(n, 2, dtype=torch.float64)).detach()


def test_fault_schedule_is_deterministic_and_respects_the_rate():
    circuit, values = _batch()
    outcomes = []
    for _ in range(2):
        be = get_backend("faulty:torch?rate=0.3&seed=5")
        run = []
        for _ in range(200):
            try:
                be.expectations(circuit, values)
                run.append("ok")
            except TransientBackendError as e:
                run.append(str(e))
        outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    failures = sum(o != "ok" for o in outcomes[0])
    assert 40 <= failures <= 80  # 30% of 200 = 60, binomial sd ~6.5


@pytest.mark.parametrize("kind, error", [("permanent", PermanentBackendError), ("unavailable", UnavailableBackendError), ("throttle", TransientBackendError)])
def test_each_fault_kind_raises_its_class(kind, error):
    circuit, values = _batch()
    be = get_backend(f"faulty:torch?rate=1&kinds={kind}")
    with pytest.raises(error, match="injected fault"):
        be.expectations(circuit, values)
    assert be.inner.accounting.calls == 0  # failed before delegating


def test_lost_responses_ran_on_the_inner_backend():
    circuit, values = _batch()
    be = get_backend("faulty:torch?rate=1&kinds=lost")
    with pytest.raises(TransientBackendError, match="response was lost"):
        be.expectations(circuit, values)
    assert be.inner.accounting.calls == 1


@pytest.mark.parametrize("name, error, message", [
    ("faulty:", UnknownComponentError, r"needs a target: write 'faulty:<name>'"),
    ("faulty:torch?rate=2", ConfigError, "faulty.rate"),
    ("faulty:torch?kinds=meteor", ConfigError, "faulty.kinds"),
    ("faulty:torch?color=red", ConfigError, "faulty.color"),
    ("faulty:troch", UnknownComponentError, "Did you mean 'torch'"),
])
def test_bad_fault_specs_name_the_problem(name, error, message):
    with pytest.raises(error, match=message):
        get_backend(name)


# --- fallback chains (R1, R2, R3) ----------------------------------------------------------------

def _train(backend, steps: int, **layer_kwargs) -> tuple[QuantumLayer, list[float]]:
    torch.manual_seed(0)
    layer = QuantumLayer(4, layers=2, backend=backend, seed=0, **layer_kwargs).double()
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(8, 4, generator=g, dtype=torch.float64) * 3
    target = torch.cos(x)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return layer, losses


@pytest.mark.parametrize("gradient, steps", [("backprop", 200), ("parameter_shift", 50)])
def test_r1_thirty_percent_transient_faults_change_nothing(gradient, steps):
    """200 steps (50 with the costlier shift rule) under 30% faults end bit-identical to a clean run."""
    clean, clean_losses = _train("torch", steps, gradient=gradient)
    clock = FakeClock()
    chain = FallbackBackend([get_backend("faulty:torch?rate=0.3&seed=1")], RetryPolicy(max_attempts=6, initial_wait=0.5),
                            sleep=clock.sleep, clock=clock)
    faulty, faulty_losses = _train(chain, steps, gradient=gradient)
    assert clock.slept and not any(s < 0.5 for s in clock.slept)
    link = faulty.backend.links[0]
    injected = link.backend.faults_injected
    assert injected >= 0.2 * steps  # about 30% of the calls
    assert link.retrier.stats.retries == injected
    assert torch.equal(faulty.weights, clean.weights)
    assert faulty_losses == clean_losses


def test_r2_primary_always_failing_runs_on_the_secondary_and_the_breaker_stops_calls():
    clock = FakeClock()
    primary = get_backend("faulty:torch?rate=1&kinds=throttle&max_consecutive=1000")
    chain = FallbackBackend([primary, get_backend("torch")], RetryPolicy(max_attempts=6, initial_wait=0.1),
                            breaker_reset_after=60.0, sleep=clock.sleep, clock=clock)
    circuit, values = _batch()
    with pytest.warns(FallbackWarning, match="switched backend from faulty:torch.* to torch"):
        first = chain.expectations(circuit, values)
    torch.testing.assert_close(first, get_backend("torch").expectations(circuit, values))
    attempts_after_first = primary.injected["throttle"]
    assert attempts_after_first == 6
    for _ in range(20):  # breaker open: no more attempts on the primary
        chain.expectations(circuit, values)
    assert primary.injected["throttle"] == 6
    report = chain.report()
    assert report["active"] == "torch" and len(report["switches"]) == 1
    assert report["backends"][0]["breaker"] == "open" and report["backends"][1]["served_calls"] == 21
    clock.now += 61  # breaker half-open: one probe call, which fails and re-opens it
    chain.expectations(circuit, values)
    assert primary.injected["throttle"] == 12 and chain.links[0].breaker.state == "open"


def test_r3_permanent_errors_never_fall_back():
    clock = FakeClock()
    primary = get_backend("faulty:torch?rate=1&kinds=permanent")
    secondary = get_backend("torch")
    chain = FallbackBackend([primary, secondary], sleep=clock.sleep, clock=clock)
    circuit, values = _batch()
    with pytest.raises(PermanentBackendError):
        chain.expectations(circuit, values)
    assert primary.injected == {"permanent": 1} and secondary.accounting.calls == 0 and clock.slept == []


def test_unavailable_backends_fall_back_without_retrying():
    clock = FakeClock()
    primary = get_backend("faulty:torch?rate=1&kinds=unavailable")
    chain = FallbackBackend([primary, get_backend("torch")], sleep=clock.sleep, clock=clock)
    circuit, values = _batch()
    with pytest.warns(FallbackWarning):
        chain.expectations(circuit, values)
    assert primary.injected == {"unavailable": 1} and clock.slept == []


def test_exhausted_chain_lists_every_backend_and_why():
    clock = FakeClock()
    chain = FallbackBackend([get_backend("faulty:torch?rate=1&kinds=unavailable"), get_backend("faulty:torch?rate=1&kinds=throttle")],
                            RetryPolicy(max_attempts=2), sleep=clock.sleep, clock=clock)
    circuit, values = _batch()
    with pytest.raises(UnavailableBackendError, match=r"every backend of the fallback chain failed.*DeviceOffline.*ThrottlingException"):
        chain.expectations(circuit, values)


def test_breaker_opens_and_half_opens_on_the_clock():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_after=10, clock=clock)
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 10
    assert breaker.state == "half_open" and breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"


def test_layer_builds_a_chain_from_fallback_and_retry_arguments():
    layer = QuantumLayer(2, backend="faulty:torch?rate=0", fallback=["torch"], retry={"max_attempts": 2}, seed=0)
    assert isinstance(layer.backend, FallbackBackend)
    assert [link.backend.full_name for link in layer.backend.links] == ["faulty:torch?rate=0", "torch"]
    assert layer.backend.links[0].retrier.policy.max_attempts == 2
    assert not isinstance(QuantumLayer(2, seed=0).backend, FallbackBackend)


def test_local_to_remote_fallback_needs_explicit_cost_escalation():
    from hqnn_core.interfaces import BackendCapabilities

    remote = get_backend("torch")
    remote.capabilities = BackendCapabilities(max_qubits=30, remote=True)
    with pytest.raises(ConfigError, match="allow_cost_escalation"):
        FallbackBackend([get_backend("torch"), remote])
    FallbackBackend([get_backend("torch"), remote], allow_cost_escalation=True)


def test_chain_validates_every_backend_before_submitting():
    from hqnn_core import CapabilityError
    from hqnn_core.interfaces import BackendCapabilities

    small = get_backend("torch")
    small.capabilities = BackendCapabilities(max_qubits=2)
    with pytest.raises(CapabilityError, match="needs 4 qubits"):
        QuantumLayer(4, backend="torch", fallback=[small])


# --- hangs (R5) ------------------------------------------------------------------------------------

def test_r5_a_hanging_backend_is_cut_off_by_the_deadline_and_the_run_goes_on():
    import time as _time

    hanging = get_backend("faulty:torch?rate=1&kinds=hang&max_consecutive=1000")
    clock = FakeClock()
    chain = FallbackBackend([hanging, get_backend("torch")], RetryPolicy(max_attempts=2, initial_wait=1.0),
                            call_timeout=0.2, sleep=clock.sleep, clock=clock)
    layer = QuantumLayer(2, backend=chain, seed=0)
    start = _time.perf_counter()
    try:
        with pytest.warns(FallbackWarning, match="gave no answer within backend.call_timeout=0.2s"):
            out = layer(torch.rand(3, 2))
        out.sum().backward()  # the result from the secondary is differentiable (grad mode carried over)
    finally:
        hanging.release()
    assert layer.weights.grad is not None
    assert _time.perf_counter() - start < 5  # two 0.2 s attempts, not the 60 s hang
    assert hanging.injected == {"hang": 2} and clock.slept and len(clock.slept) == 1


def test_r5_all_backends_hanging_fail_clearly_in_bounded_time():
    import time as _time

    backends = [get_backend("faulty:torch?rate=1&kinds=hang&max_consecutive=1000") for _ in range(2)]
    clock = FakeClock()
    chain = FallbackBackend(backends, RetryPolicy(max_attempts=2), call_timeout=0.1, sleep=clock.sleep, clock=clock)
    circuit, values = _batch()
    start = _time.perf_counter()
    try:
        with pytest.raises(UnavailableBackendError, match="every backend of the fallback chain failed.*call_timeout=0.1s"):
            chain.expectations(circuit, values)
    finally:
        for b in backends:
            b.release()
    assert _time.perf_counter() - start < 2 * 2 * 0.1 + 2  # n_backends x attempts x deadline, plus slack


def test_call_timeout_must_be_positive():
    with pytest.raises(ConfigError, match="call_timeout must be positive"):
        FallbackBackend([get_backend("torch")], call_timeout=0)
