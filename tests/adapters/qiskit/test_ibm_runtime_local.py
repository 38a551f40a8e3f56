"""``qiskit.ibm:<backend>`` end to end in qiskit-ibm-runtime's local testing mode, in job, batch and session mode.

The service is replaced by one that hands out a fake device (FakeManilaV2), so the runtime's own
Sampler, Batch and Session run locally: everything but the network. Oracles: the closed forms
cos(t), sin(t) within the k=5 shot-noise bound, the number of jobs, and, for the timeout path, the
error class, its kind and a bounded wall time.
"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_ibm_runtime")

import torch  # noqa: E402

from hqnn_core import CircuitBuilder, Observable, PermanentBackendError, get_backend  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402
from hqnn_qiskit.backend import IBMBackend  # noqa: E402

pytestmark = pytest.mark.vendor

SHOTS = 4000
T = torch.tensor([[0.4], [2.2]], dtype=torch.float64)


class _LocalService:
    """Stands in for QiskitRuntimeService: a fake device, which the runtime runs in local testing mode."""

    def __init__(self, **kwargs):
        pass

    def backend(self, name):
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        return FakeManilaV2()


@pytest.fixture(autouse=True)
def local_service(monkeypatch):
    monkeypatch.setattr(IBMBackend, "service_factory", _LocalService)


def _ry():
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    return b.build([Observable.parse("Z0"), Observable.parse("X0")])


def _check(out):
    exact = torch.cat([torch.cos(T), torch.sin(T)], dim=1)
    # FakeManila's noise (readout ~2-3 %, gate errors) shrinks expectations a little: allow it on top of shot noise
    assert bool(((out - exact).abs() <= shot_tolerance(exact, _ry().observables, SHOTS) + 0.08).all()), out - exact


@pytest.mark.parametrize("mode", ["job", "batch", "session"])
def test_modes_run_end_to_end_and_share_one_context(mode):
    from qiskit_ibm_runtime import Batch, Session

    backend = get_backend("qiskit.ibm:ibm_manila", mode=mode)
    _check(backend.expectations(_ry(), T, shots=SHOTS, seed=7))
    context = backend._context
    _check(backend.expectations(_ry(), T, shots=SHOTS, seed=8))
    assert backend.accounting.jobs == 2 and backend.describe()["device"]["mode"] == mode
    if mode == "job":
        assert context is None
    else:
        assert isinstance(context, Batch if mode == "batch" else Session) and backend._context is context  # one per run
        backend.close()
        assert backend._context is None


def test_local_mode_results_are_seeded():
    backend = get_backend("qiskit.ibm:ibm_manila", mode="batch")
    a = backend.expectations(_ry(), T, shots=SHOTS, seed=11)
    b = backend.expectations(_ry(), T, shots=SHOTS, seed=11)
    assert torch.equal(a, b)


def test_result_timeout_is_explicit_and_does_not_resubmit(monkeypatch):
    from qiskit.primitives.primitive_job import PrimitiveJob

    monkeypatch.setattr(PrimitiveJob, "done", lambda self: False)  # the job never finishes
    backend = get_backend("qiskit.ibm:ibm_manila", mode="session", result_timeout=0.2)
    start = time.perf_counter()
    with pytest.raises(PermanentBackendError, match="result_timeout") as info:
        backend.expectations(_ry(), T, shots=100, seed=1)
    assert time.perf_counter() - start < 5
    assert info.value.kind == "still_running" and backend.accounting.jobs == 1


def test_queue_info_reports_pending_jobs():
    info = get_backend("qiskit.ibm:ibm_manila").queue_info()
    assert info["pending_jobs"] == 0 and info["operational"] is True and info["local"] is True and info["device"] == "fake_manila"
