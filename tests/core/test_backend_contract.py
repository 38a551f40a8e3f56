"""The backend contract: every optional method has a default on the ABC, capabilities known at config time
match the instance's, and BackendError carries typed fields that retry and fallback read directly."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from hqnn_core import (
    BackendCapabilities,
    CircuitBuilder,
    ConfigError,
    Observable,
    PermanentBackendError,
    TransientBackendError,
    UnavailableBackendError,
    get_backend,
)
from hqnn_core.components import backend_capabilities
from hqnn_core.errors import BackendError
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.execution.retry import Retrier, RetryPolicy
from hqnn_core.interfaces import Backend
from hqnn_core.pricing import PRICES, Price, device_class, price_of

pytestmark = pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")


class Minimal(Backend):
    """Only what the ABC requires: declared capabilities and ``_run`` (returns cos of the first slot)."""

    name = "minimal"
    capabilities = BackendCapabilities(max_qubits=4)

    def _run(self, tasks, shots, seed):
        self._count_job()
        return [torch.cos(v[:, :1]).expand(-1, len(c.observables)).to(torch.float64) for c, v in tasks]


class MinimalRemote(Minimal):
    """A remote device nobody priced."""

    name = "minimal.remote"
    capabilities = BackendCapabilities(max_qubits=4, remote=True)


class Flaky(Minimal):
    """Fails its first ``failures`` calls with ``error``, then works."""

    def __init__(self, error: BaseException, failures: int = 1) -> None:
        super().__init__()
        self.error, self.failures = error, failures

    def _run(self, tasks, shots, seed):
        if self.failures:
            self.failures -= 1
            raise self.error
        return super()._run(tasks, shots, seed)


def _circuit():
    b = CircuitBuilder(1)
    b.add("RY", [0], b.input(0))
    return b.build([Observable.parse("Z0")])


# -- ABC defaults ---------------------------------------------------------------------------------
def test_a_minimal_backend_gets_every_optional_method_from_the_abc(tmp_path):
    b = Minimal()
    exc = ValueError("vendor said no")
    assert b.map_error(exc) is exc  # passthrough: an adapter without a table leaves vendor errors alone
    assert b.error_examples() == []
    assert b.queue_info() is None and b.calibration(2) is None and b.faults_injected is None
    assert b.simulate(_circuit(), torch.zeros(2, 1, dtype=torch.float64)) is None  # no final state to hand over
    assert b.attach_journal(Path(tmp_path) / "pending_tasks.json") is None and not list(tmp_path.iterdir())  # nothing to journal
    assert b.price() is None and b.device_class() == "local" and device_class(b) == "local"
    assert price_of(b) is PRICES["local"] and price_of(b).cost(10**6, 10**9) == 0.0
    assert Minimal.capabilities_for(None, Minimal.Options()) is Minimal.capabilities == b.capabilities
    assert b.members() == [b] and b.jobs_for(3) == 1


def test_a_remote_backend_without_a_price_is_unpriced_and_a_chain_prices_as_its_primary():
    remote = MinimalRemote()
    assert remote.device_class() is None and price_of(remote) is None

    class Billed(MinimalRemote):
        """A remote backend whose adapter knows its class and list price."""

        price_class = "acme:qpu"

        def price(self):
            return Price("acme:qpu", per_task=0.5, per_shot=0.01)

    chain = FallbackBackend([Billed(), Minimal()])
    assert chain.device_class() == "acme:qpu" and chain.price() == Billed().price()
    assert price_of(chain).cost(2, 100) == pytest.approx(2 * 0.5 + 100 * 0.01)  # 2.00 USD
    assert chain.faults_injected is None and chain.report()["faults_injected"] == 0


# -- capabilities: config time == instance -----------------------------------------------------------
@pytest.mark.parametrize(("name", "options"), [
    ("torch", {}),
    ("torch.noisy", {}),
    ("torch.noisy", {"depolarizing": 0.01}),
    ("faulty:torch?rate=0.5", {}),
    ("faulty:torch.noisy", {"backend_options": {"depolarizing": 0.01}}),
])
def test_config_time_capabilities_equal_the_instance_for_builtin_backends(name, options):
    assert backend_capabilities(name, options) == get_backend(name, **options).capabilities


def test_config_time_capabilities_refuse_invalid_options():
    with pytest.raises(ConfigError, match="torch.noisy"):
        backend_capabilities("torch.noisy", {"no_such_option": 1})


# -- BackendError: typed fields ------------------------------------------------------------------------
def test_backend_errors_carry_typed_fields_with_class_defaults():
    assert TransientBackendError("x").kind == "transient"
    assert UnavailableBackendError("x").kind == "unavailable"
    assert PermanentBackendError("x").kind == "permanent" and BackendError("x").kind == "permanent"
    e = PermanentBackendError("task timed out", kind="still_running", vendor_error="RuntimeJobTimeoutError", code="1305", task_id="job-7")
    assert (e.kind, e.vendor_error, e.code, e.task_id, str(e)) == ("still_running", "RuntimeJobTimeoutError", "1305", "job-7", "task timed out")
    back = pickle.loads(pickle.dumps(e))  # errors cross process pools
    assert type(back) is PermanentBackendError and (back.kind, back.vendor_error, back.code, back.task_id) == (e.kind, "RuntimeJobTimeoutError", "1305", "job-7")


def test_retry_and_fallback_read_the_vendor_error_field():
    slept: list[float] = []
    retrier = Retrier(RetryPolicy(max_attempts=3, seed=0), sleep=slept.append, clock=lambda: 0.0)
    calls = iter([TransientBackendError("throttled", vendor_error="ThrottlingException"), TransientBackendError("reset")])

    def fn():
        err = next(calls, None)
        if err is not None:
            raise err
        return "ok"

    assert retrier.call(fn) == "ok"
    assert retrier.stats.errors == ["ThrottlingException", "TransientBackendError"]  # the field, else the class name
    offline = Flaky(UnavailableBackendError("device offline", vendor_error="DeviceOfflineException"))
    chain = FallbackBackend([offline, Minimal()], RetryPolicy(max_attempts=1), sleep=lambda s: None)
    out = chain.expectations(_circuit(), torch.tensor([[0.0]], dtype=torch.float64))
    assert out.tolist() == [[1.0]] and chain.switches[0].error == "DeviceOfflineException"
