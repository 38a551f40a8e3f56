"""Backend checks: every declared capability is verified, results match the oracle, and jobs are counted.

Checks that submit jobs are registered with ``submits=True``: on a backend that declares
``remote=True`` they skip unless remote runs are allowed, and then stay within a job/shot budget.
Value checks are selected from the declared capabilities (``analytic``, ``shots``, ``noise``...).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from typing import Any

import torch
from torch.autograd.gradcheck import GradcheckError

from hqnn_core import redaction
from hqnn_core.circuit import GATES, Circuit, CircuitBuilder, Observable
from hqnn_core.errors import BackendError, CapabilityError, PermanentBackendError, TransientBackendError, UnavailableBackendError
from hqnn_core.interfaces import Backend, BackendCapabilities
from hqnn_core.testing.checks.common import (
    CheckSkipped,
    ConformanceSettings,
    Violation,
    analytic_atol,
    check,
    expect,
    max_error,
)
from hqnn_core.testing.checks.reference import (
    fd_jacobian,
    golden,
    mixed_observables,
    random_layer_cases,
    reference_backend,
    runnable,
)
from hqnn_core.testing.stats import shot_tolerance

FIX_CONVENTIONS = ("check the gate conventions (PennyLane's: RX(t) = exp(-i t X / 2), wire 0 is the most significant bit) "
                   "and the observable's qubit order in the translation.")


def _caps(backend: Backend) -> BackendCapabilities:
    return backend.capabilities


def _exact(backend: Backend) -> bool:
    """Results should equal the closed forms: analytic and noiseless."""
    return _caps(backend).analytic and not _caps(backend).noise


def _modes(backend: Backend, settings: ConformanceSettings) -> Iterator[int | None]:
    if _caps(backend).analytic:
        yield None
    if _caps(backend).shots:
        yield settings.shots_for(backend)


def _width(backend: Backend, settings: ConformanceSettings) -> int:
    return max(1, min(settings.n_qubits, _caps(backend).max_qubits))


def _shot_bound(exact: torch.Tensor, circuit: Circuit, shots: int) -> torch.Tensor:
    return shot_tolerance(exact, circuit.observables, shots)


def _compare(label: str, got: torch.Tensor, exact: torch.Tensor, circuit: Circuit, shots: int | None, fix: str) -> None:
    """Analytic: atol 1e-6 (float64) / 1e-4 (float32). Shots: the k=5 bound of ``stats.shot_tolerance``."""
    expect(tuple(got.shape) == tuple(exact.shape), f"{label}: shape {tuple(got.shape)}, expected {tuple(exact.shape)}.",
           "return [N, K] per task.")
    got64 = got.detach().to(torch.float64)
    if shots is None:
        err, where = max_error(got64, exact)
        atol = analytic_atol(got)
        expect(err <= atol, f"{label}: {got64[where].item():.7f} at {where} but the exact value is {exact[where].item():.7f} "
               f"(error {err:.3g} > atol {atol:g}).", fix)
        return
    bound = _shot_bound(exact, circuit, shots)
    excess = (got64 - exact).abs() - bound
    if bool((excess > 0).any()):
        where = tuple(int(i) for i in (excess > 0).nonzero()[0])
        raise Violation(f"{label} with {shots} shots: {got64[where].item():.5f} at {where}, exact {exact[where].item():.5f}, "
                        f"outside the bound {bound[where].item():.4f} (k=5 standard errors, stats.shot_tolerance).", fix)


def _fits(backend: Backend, circuits: list[Circuit]) -> None:
    if not any(runnable(backend, c) for c in circuits):
        raise CheckSkipped(f"{backend.full_name!r} declares no capability to run these circuits (qubits or native gates).")


# -- capabilities, shapes, golden values ------------------------------------------------------


@check("backend")
def check_backend_capabilities_valid(backend: Backend, settings: ConformanceSettings) -> None:
    """The declared capabilities are a consistent ``BackendCapabilities`` over the neutral gate set."""
    caps = _caps(backend)
    fix = "declare capabilities = BackendCapabilities(...) as a class attribute with consistent values."
    expect(isinstance(caps, BackendCapabilities), f"capabilities is {type(caps).__name__}, not BackendCapabilities.", fix)
    expect(isinstance(caps.max_qubits, int) and caps.max_qubits >= 1, f"max_qubits is {caps.max_qubits!r}.", "declare a positive int.")
    expect(caps.analytic or caps.shots, "it declares neither analytic nor shots, so it can run nothing.", "declare at least one mode.")
    unknown = set(caps.native_gates) - set(GATES)
    expect(not unknown, f"native_gates names {sorted(unknown)}, which are not neutral gates.",
           "list names from hqnn_core.circuit.GATES only; translate vendor gate names in the adapter.")
    expect(caps.max_shots is None or (isinstance(caps.max_shots, int) and caps.max_shots >= 1),
           f"max_shots is {caps.max_shots!r}.", "declare None (no limit) or a positive int.")
    expect(caps.max_circuits_per_job is None or (isinstance(caps.max_circuits_per_job, int) and caps.max_circuits_per_job >= 1),
           f"max_circuits_per_job is {caps.max_circuits_per_job!r}.", "declare None (unlimited) or a positive int.")
    expect(not (caps.backprop and not caps.analytic), "it declares backprop without analytic mode.",
           "backprop needs exact results; declare analytic=True or backprop=False.")
    expect(not (caps.adjoint and not caps.analytic), "it declares adjoint without analytic mode.",
           "adjoint differentiation needs exact states; declare analytic=True or adjoint=False.")
    expect(backend.jobs_for(1) == 1, f"jobs_for(1) is {backend.jobs_for(1)}, not 1.", "one binding is one job.")
    expect(isinstance(backend.vendor, str) and backend.vendor, "the class has no `vendor`.", "set vendor = 'qiskit' (etc.).")


def _shape_cases() -> list[tuple[str, Circuit, torch.Tensor]]:
    cases = {c.name: c for c in golden()}
    return [("rx_z", cases["rx_z"].circuit, cases["rx_z"].slot_values), ("bell", cases["bell"].circuit, cases["bell"].slot_values)]


@check("backend", submits=True)
def check_backend_expectations_shape(backend: Backend, settings: ConformanceSettings) -> None:
    """``[N, K]`` for every N including 1 (never squeezed), float64 unless backprop, and one result per task."""
    expected_dtype = "backprop: the slot values' dtype, or float64" if _caps(backend).backprop else "float64"
    cases = [c for c in _shape_cases() if runnable(backend, c[1])]
    _fits(backend, [c[1] for c in cases])
    for shots in _modes(backend, settings):
        mode = "analytic" if shots is None else f"shots={shots}"
        tasks = []
        for label, circuit, values in cases:
            for n in (1, 3):
                tasks.append((f"{label} with N={n} ({mode})", circuit, values[:n]))
            tasks.append((f"{label} with float32 slot values ({mode})", circuit, values[:2].float()))  # what a float32 model sends
        results = backend.run_batch([(c, v) for _, c, v in tasks], shots=shots, seed=settings.seed)
        expect(isinstance(results, list) and len(results) == len(tasks), f"run_batch of {len(tasks)} tasks returned "
               f"{len(results) if isinstance(results, list) else type(results).__name__} results.", "return one tensor per task, in order.")
        for (label, circuit, values), out in zip(tasks, results):
            k = len(circuit.observables)
            n = values.shape[0]
            expect(isinstance(out, torch.Tensor), f"{label}: returned {type(out).__name__}, not a torch.Tensor.", "return torch tensors.")
            squeezed = " (the batch of 1 was squeezed)" if n == 1 and out.ndim < 2 else ""
            expect(tuple(out.shape) == (n, k), f"{label}: shape {tuple(out.shape)}, expected [N, K] = ({n}, {k}){squeezed}.",
                   "return one row per binding and one column per observable; never squeeze N = 1 (no .squeeze()).")
            allowed = {values.dtype, torch.float64} if (_caps(backend).backprop and shots is None) else {torch.float64}
            expect(out.dtype in allowed, f"{label}: dtype {out.dtype}, expected {' or '.join(sorted(map(str, allowed)))} ({expected_dtype}).",
                   "convert vendor results with torch.as_tensor(..., dtype=torch.float64), or declare backprop=True if the "
                   "outputs are differentiable torch tensors.")
            expect(bool(torch.isfinite(out).all()), f"{label}: results contain NaN or inf.", "map failed results to a BackendError.")


@check("backend", submits=True, applies=_exact)
def check_backend_golden_analytic(backend: Backend, settings: ConformanceSettings) -> None:
    """Exact expectations equal the closed forms of every golden circuit it can run (1e-6 in float64)."""
    cases = [c for c in golden() if runnable(backend, c.circuit)]
    _fits(backend, [c.circuit for c in golden()])
    results = backend.run_batch([(c.circuit, c.slot_values) for c in cases], shots=None)
    for case, out in zip(cases, results):
        _compare(f"golden case {case.name!r}", out, case.values, case.circuit, None, FIX_CONVENTIONS)


@check("backend", submits=True, applies=lambda b: _caps(b).shots and not _caps(b).noise)
def check_backend_golden_shots(backend: Backend, settings: ConformanceSettings) -> None:
    """Sampled expectations of every golden circuit fall within k=5 standard errors of the closed forms."""
    cases = [c for c in golden() if runnable(backend, c.circuit)]
    _fits(backend, [c.circuit for c in golden()])
    shots = settings.shots_for(backend)
    results = backend.run_batch([(c.circuit, c.slot_values) for c in cases], shots=shots, seed=settings.seed)
    for case, out in zip(cases, results):
        _compare(f"golden case {case.name!r}", out, case.values, case.circuit, shots,
                 "estimate each Pauli term as the mean of its ±1 eigenvalues over `shots` samples; " + FIX_CONVENTIONS)


@check("backend", submits=True, applies=lambda b: _caps(b).shots and _caps(b).deterministic_shots)
def check_backend_seed_reproducible(backend: Backend, settings: ConformanceSettings) -> None:
    """The same seed gives identical samples; another seed gives different ones (``deterministic_shots``)."""
    case = {c.name: c for c in golden()}["ry_zx"]
    _fits(backend, [case.circuit])
    shots = min(settings.shots_for(backend), 2000)
    first = backend.expectations(case.circuit, case.slot_values, shots=shots, seed=settings.seed)
    again = backend.expectations(case.circuit, case.slot_values, shots=shots, seed=settings.seed)
    other = backend.expectations(case.circuit, case.slot_values, shots=shots, seed=settings.seed + 1)
    fix = "pass the seed to the vendor's sampler (seed_simulator, seed=...) for every call, or declare deterministic_shots=False."
    expect(torch.equal(first, again), f"two runs with seed={settings.seed} gave different samples "
           f"(max difference {max_error(first, again)[0]:.3g}).", fix)
    expect(not torch.equal(first, other), f"seeds {settings.seed} and {settings.seed + 1} gave identical samples; the seed is ignored.", fix)


# -- validation, accounting -------------------------------------------------------------------


class _Submitted(Exception):
    """Raised by the spy in place of a real submission."""


def _rejects(backend: Backend, circuit: Circuit, values: torch.Tensor, shots: int | None, what: str) -> None:
    before = backend.accounting.copy()
    calls: list[int] = []

    def spy(tasks: list[Any], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        calls.append(len(tasks))
        raise _Submitted

    backend._run = spy  # type: ignore[method-assign]
    try:
        backend.expectations(circuit, values, shots=shots)
    except CapabilityError:
        pass
    except _Submitted:
        raise Violation(f"{what} reached submission (_run was called) instead of raising CapabilityError first.",
                        "reject it in validate() (call super().validate() if you override it) before any job.") from None
    except Exception as e:  # noqa: BLE001 - any other outcome is the wrong error
        raise Violation(f"{what} raised {type(e).__name__}: {e}, not CapabilityError.",
                        "raise hqnn_core.errors.CapabilityError from validate(), naming the limit and the fix.") from None
    else:
        raise Violation(f"{what} was accepted and returned results.",
                        "keep the declared capabilities truthful and reject what exceeds them in validate().")
    finally:
        del backend._run
    delta = backend.accounting - before
    expect(not calls and delta.jobs == 0 and delta.calls == 0, f"{what} was rejected, but only after accounting "
           f"{delta.jobs} job(s) and {delta.calls} call(s).", "validate before submitting or counting anything.")


@check("backend")
def check_backend_rejects_unsupported_before_submit(backend: Backend, settings: ConformanceSettings) -> None:
    """Too many qubits, gates outside ``native_gates`` and unsupported modes raise ``CapabilityError`` before any job.

    The real submission is replaced by a spy during this check, so nothing is sent even when the
    backend fails it: the check is safe on remote backends.
    """
    caps = _caps(backend)
    shots = None if caps.analytic else settings.shots_for(backend)
    wide = CircuitBuilder(caps.max_qubits + 1)
    wide.add("H", [caps.max_qubits])
    _rejects(backend, wide.build([Observable.z(0)]), torch.zeros(1, 0, dtype=torch.float64), shots,
             f"a circuit of {caps.max_qubits + 1} qubits (max_qubits = {caps.max_qubits})")
    missing = sorted(set(GATES) - set(caps.native_gates))
    if missing:
        gate = missing[0]
        spec = GATES[gate]
        b = CircuitBuilder(max(spec.n_wires, 1))
        b.add(gate, list(range(spec.n_wires)), *([0.3] * spec.n_params))
        circuit = b.build([Observable.z(0)])
        _rejects(backend, circuit, torch.full((1, circuit.n_slots), 0.3, dtype=torch.float64), shots,
                 f"a circuit with gate {gate!r} (not in native_gates)")
    one = CircuitBuilder(1)
    one.add("RX", [0], one.weight(0))
    simple = one.build()
    if not caps.shots:
        _rejects(backend, simple, torch.zeros(1, 1, dtype=torch.float64), 100, "a shot-based request (shots=False)")
    if not caps.analytic:
        _rejects(backend, simple, torch.zeros(1, 1, dtype=torch.float64), None, "an exact request (analytic=False)")
    if caps.max_shots is not None:
        _rejects(backend, simple, torch.zeros(1, 1, dtype=torch.float64), caps.max_shots + 1, f"shots above max_shots={caps.max_shots}")


@check("backend", submits=True)
def check_backend_one_job_per_call(backend: Backend, settings: ConformanceSettings) -> None:
    """N bindings (across several tasks) cost at most ``jobs_for(N)`` vendor jobs, and the accounting says so."""
    n_qubits = _width(backend, settings)
    cases = [c for c in random_layer_cases(n_qubits, settings.seed, layers=1, batch=8) if runnable(backend, c.circuit)][:2]
    _fits(backend, [c.circuit for c in cases])
    shots = next(_modes(backend, settings))
    if shots is not None:
        shots = min(shots, 100)
    tasks = [(c.circuit, c.slot_values) for c in cases]
    rows = sum(int(v.shape[0]) for _, v in tasks)
    for label, batch in (("one task of 8 bindings", tasks[:1]), (f"{len(tasks)} tasks, {rows} bindings", tasks)):
        n = sum(int(v.shape[0]) for _, v in batch)
        before = backend.accounting.copy()
        backend.run_batch(batch, shots=shots, seed=settings.seed)
        delta = backend.accounting - before
        allowed = backend.jobs_for(n)
        expect(delta.jobs >= 1, f"{label}: the accounting shows {delta.jobs} jobs.",
               "call self._count_job() once per vendor job submitted in _run.")
        expect(delta.jobs <= allowed, f"{label}: {delta.jobs} jobs submitted, but jobs_for({n}) = {allowed} "
               f"(max_circuits_per_job = {_caps(backend).max_circuits_per_job}).",
               "send all bindings of a call as one vendor job (parameter arrays, broadcasting, program sets), "
               "or declare max_circuits_per_job truthfully.")
        expect(delta.calls == 1 and delta.circuits == n and delta.shots == n * (shots or 0),
               f"{label}: accounting counted {delta.calls} calls, {delta.circuits} circuits, {delta.shots} shots; "
               f"expected 1, {n}, {n * (shots or 0)}.", "let Backend.run_batch do the accounting (do not override it).")


@check("backend", submits=True, applies=lambda b: not _caps(b).noise)
def check_backend_matches_reference(backend: Backend, settings: ConformanceSettings) -> None:
    """Random layers of every built-in encoder x ansatz agree with the torch reference (1e-6, or the shot bound)."""
    n_qubits = _width(backend, settings)
    cases = [c for c in random_layer_cases(n_qubits, settings.seed, layers=2, batch=2) if runnable(backend, c.circuit)]
    if not cases:
        raise CheckSkipped(f"none of the built-in encoder x ansatz layers on {n_qubits} qubits fits {backend.full_name!r}'s capabilities.")
    reference = reference_backend()
    shots = None if _caps(backend).analytic else settings.shots_for(backend)
    results = backend.run_batch([(c.circuit, c.slot_values) for c in cases], shots=shots, seed=settings.seed)
    for case, out in zip(cases, results):
        exact = reference.expectations(case.circuit, case.slot_values)
        _compare(f"random layer {case.label} on {n_qubits} qubits", out, exact, case.circuit, shots, FIX_CONVENTIONS)


@check("backend", submits=True, applies=lambda b: _caps(b).analytic)
def check_backend_backprop_claim_truthful(backend: Backend, settings: ConformanceSettings) -> None:
    """``backprop``/``adjoint`` declared: outputs require grad, gradcheck passes, Jacobians match golden; else no grad.

    This is torchmetrics' ``is_differentiable`` check: the layer trusts the claim to decide
    whether to differentiate through the backend (``backprop``, ``adjoint``) or use parameter-shift.
    """
    caps = _caps(backend)
    claim = " and ".join(n for n, on in (("backprop", caps.backprop), ("adjoint", caps.adjoint)) if on)
    cases = [c for c in golden(with_slots=True) if c.name in ("ry_rz_chain", "rot", "crx_four_term") and runnable(backend, c.circuit)]
    _fits(backend, [c.circuit for c in cases])
    for case in cases:
        values = case.slot_values[:2].clone().requires_grad_(True)
        out = backend.expectations(case.circuit, values)
        if not claim:
            expect(not out.requires_grad, f"it declares neither backprop nor adjoint, but outputs of golden case {case.name!r} "
                   "require grad.", "detach the results (and return float64), or declare the differentiation it offers "
                   "(backprop or adjoint) and pass this check's gradcheck.")
            continue
        expect(out.requires_grad and out.grad_fn is not None, f"it declares {claim}, but outputs of golden case {case.name!r} "
               "carry no autograd graph.", "compute the results in differentiable torch operations (or a torch.autograd.Function), "
               "or declare backprop=False and adjoint=False.")
        try:
            torch.autograd.gradcheck(lambda v, c=case.circuit: backend.expectations(c, v), (values,), eps=1e-6, atol=1e-5)
        except GradcheckError as e:
            first = str(e).splitlines()[0]
            raise Violation(f"it declares {claim}, but gradcheck fails on golden case {case.name!r}: {first}",
                            "fix the backward pass, or stop declaring it.") from None
        if caps.noise:
            continue
        rows = [torch.autograd.functional.jacobian(lambda v, c=case.circuit: backend.expectations(c, v.unsqueeze(0))[0], row)
                for row in case.slot_values]
        jac = torch.stack(rows)
        expect(tuple(jac.shape) == tuple(case.jacobian.shape), f"the autograd Jacobian of golden case {case.name!r} has shape "
               f"{tuple(jac.shape)}, expected {tuple(case.jacobian.shape)}.", "return [N, K] results; never squeeze N = 1.")
        err, where = max_error(jac, case.jacobian)
        expect(err <= 1e-6, f"autograd Jacobian of golden case {case.name!r} differs from the closed form by {err:.3g} at {where}.",
               FIX_CONVENTIONS)


# -- in a layer -------------------------------------------------------------------------------


_ANSATZE = ("strongly_entangling", "hardware_efficient", "basic_entangler")


def _fitting_layer(backend: Backend, n_qubits: int, seed: int, *, ansatze: tuple[str, ...] = _ANSATZE, **kwargs: Any):
    """A float64 ``QuantumLayer`` (angle encoder) with the first of ``ansatze`` whose gates the backend runs."""
    from hqnn_core.layer import QuantumLayer

    for name in ansatze:
        try:
            layer = QuantumLayer(n_qubits, encoder="angle", ansatz=name, backend=backend, observables=mixed_observables(n_qubits),
                                 seed=seed, **kwargs)
        except CapabilityError:
            continue
        return layer.double(), name
    raise CheckSkipped(f"no built-in test layer ({', '.join(ansatze)}) fits {backend.full_name!r}'s native gates.")


@check("backend", submits=True)
def check_backend_in_quantum_layer(backend: Backend, settings: ConformanceSettings) -> None:
    """Forward and backward through ``QuantumLayer`` with parameter-shift equal finite differences (analytic).

    Forward values also equal the torch reference's layer (unless the backend is noisy). A
    shots-only backend must give outputs within the shot bound and finite gradients.
    """
    n = _width(backend, settings)
    shots = None if _caps(backend).analytic else settings.shots_for(backend)
    layer, ansatz = _fitting_layer(backend, n, settings.seed, gradient="parameter_shift", shots=shots)
    x = torch.rand(2, n, generator=torch.Generator().manual_seed(settings.seed), dtype=torch.float64) * 2 - 1
    xg = x.clone().requires_grad_(True)
    loss_weights = torch.linspace(-1.0, 1.5, layer.n_outputs, dtype=torch.float64)
    out = layer(xg)
    (out * loss_weights).sum().backward()
    expect(layer.weights.grad is not None and xg.grad is not None, "backward through the layer produced no gradients.",
           "return [N, K] tensors from _run so the layer's autograd bridge can apply the Jacobian.")
    if not _caps(backend).noise:
        reference, _ = _fitting_layer(reference_backend(), n, settings.seed, ansatze=(ansatz,), gradient="parameter_shift")
        with torch.no_grad():
            exact = reference(x)
        _compare("QuantumLayer forward", out.detach(), exact, layer.circuit, shots, FIX_CONVENTIONS)
    assert layer.weights.grad is not None and xg.grad is not None  # expect() above raised otherwise
    if shots is not None:
        expect(bool(torch.isfinite(layer.weights.grad).all() and torch.isfinite(xg.grad).all()),
               "parameter-shift gradients through the layer are not finite with shots.", "map failed results to a BackendError.")
        return
    weights = layer.weights.detach().clone()
    params = torch.cat([weights.reshape(-1), x.reshape(-1)]).unsqueeze(0)
    nw = weights.numel()

    def f(rows: torch.Tensor) -> torch.Tensor:  # [R, W + B*F] parameter rows -> [R, 1] loss, in one backend call
        slot_rows = []
        with torch.no_grad():
            for p in rows:
                layer.weights.copy_(p[:nw].reshape(weights.shape))
                slot_rows.append(layer.slot_values(p[nw:].reshape(x.shape)))
            layer.weights.copy_(weights)
        values = backend.expectations(layer.circuit, torch.cat(slot_rows)).reshape(rows.shape[0], x.shape[0], -1)
        return (values.to(torch.float64) * loss_weights).sum(dim=(1, 2)).unsqueeze(1)

    fd = fd_jacobian(f, params, h=1e-4)[0, 0]
    grads = torch.cat([layer.weights.grad.reshape(-1), xg.grad.reshape(-1)])
    err, where = max_error(grads, fd)
    label = f"weight {where[0]}" if where and where[0] < nw else f"input {where[0] - nw if where else '?'}"
    expect(err <= 1e-5, f"parameter-shift gradients through QuantumLayer differ from finite differences by {err:.3g} at {label}.",
           "make shifted bindings evaluate exactly like unshifted ones (same translation, same bound parameter order).")


@check("backend", submits=True, applies=lambda b: not _caps(b).noise)
def check_backend_state_dict_portability(backend: Backend, settings: ConformanceSettings) -> None:
    """A layer trained on ``torch``, saved and loaded here, gives the same outputs (1e-6, or the shot bound)."""
    n = _width(backend, settings)
    shots = None if _caps(backend).analytic else settings.shots_for(backend)
    here, ansatz = _fitting_layer(backend, n, settings.seed + 99, ansatze=("hardware_efficient", "basic_entangler"), layers=2, shots=shots)
    trained, _ = _fitting_layer(reference_backend(), n, settings.seed, ansatze=(ansatz,), layers=2)
    with torch.no_grad():
        trained.weights.add_(torch.randn(trained.weights.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    buffer = io.BytesIO()
    torch.save(trained.state_dict(), buffer)
    buffer.seek(0)
    here.load_state_dict(torch.load(buffer, weights_only=True))
    x = torch.rand(3, n, generator=torch.Generator().manual_seed(settings.seed), dtype=torch.float64)
    with torch.no_grad():
        expected, got = trained(x), here(x)
    _compare("a torch-trained layer loaded here", got, expected, here.circuit, shots,
             "keep no backend-specific parameters or buffers in the layer's state_dict; " + FIX_CONVENTIONS)


# -- errors and provenance --------------------------------------------------------------------


def _has_error_mapping(backend: Backend) -> bool:
    return bool(backend.error_examples())


@check("backend", applies=_has_error_mapping)
def check_backend_error_mapping(backend: Backend, settings: ConformanceSettings) -> None:
    """Every vendor exception the backend lists maps to the declared Transient/PermanentBackendError, with a message.

    Contract (:class:`~hqnn_core.interfaces.Backend`): ``error_examples()`` lists ``(vendor_exception_instance,
    expected_class)`` pairs and ``map_error(exc)`` returns the hqnn error; the retry policy trusts this table.
    The check applies to backends that list examples (the default lists none).
    """
    examples = list(backend.error_examples())
    expect(examples, "error_examples() lists no vendor exceptions.", "list one example per row of the adapter's mapping table.")
    for exc, expected in examples:
        expect(isinstance(expected, type) and issubclass(expected, (TransientBackendError, UnavailableBackendError, PermanentBackendError)),
               f"the expected class for {type(exc).__name__} is {expected!r}.",
               "expect TransientBackendError, UnavailableBackendError or PermanentBackendError.")
        mapped = backend.map_error(exc)
        expect(isinstance(mapped, BackendError), f"map_error({type(exc).__name__}) returned {mapped!r}, not a BackendError.",
               "return a TransientBackendError or PermanentBackendError.")
        expect(isinstance(mapped, expected), f"map_error({type(exc).__name__}: {exc}) gave {type(mapped).__name__}, "
               f"expected {expected.__name__}.", "fix the row of the mapping table (errors.py); retries depend on it.")
        expect(str(mapped).strip(), f"map_error({type(exc).__name__}) gave an empty message.", "say what failed and what to do.")


_SECRET_KEY = re.compile(r"(token|secret|password|passwd|api[_-]?key|credential|private[_-]?key|session[_-]?key|auth)", re.I)
_SECRET_VALUE = (
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # JWT
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bBearer\s+\S{16,}", re.I),
    re.compile(r"\b[0-9a-f]{96,}\b"),  # long hex (IBM Quantum API tokens are 128 hex characters)
    re.compile(r"\b(?=[A-Za-z0-9+/_-]*[a-z])(?=[A-Za-z0-9+/_-]*[A-Z])(?=[A-Za-z0-9+/_-]*[0-9])[A-Za-z0-9+/_-]{40,}={0,2}"),
)
#: Values of credential-like keys that say where a secret comes from rather than holding it.
_SOURCE_OF_SECRET = re.compile(r"^(\S*\s.*|[~/$].*|env|environment|file|config|keyring|default|saved|none|set|unset|\*+)$", re.I)
_SECRET_ENV = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY|APIKEY|CREDENTIAL)", re.I)


def _walk(obj: object, path: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, obj


@check("backend")
def check_backend_describe_provenance(backend: Backend, settings: ConformanceSettings) -> None:
    """``describe()`` is JSON with ``name`` and ``vendor``, and nothing that looks like a credential."""
    info = backend.describe()
    fix_keys = "start from super().describe() and add vendor, versions, device and calibration ids."
    expect(isinstance(info, dict), f"describe() returned {type(info).__name__}, not a dict.", fix_keys)
    for key in ("name", "vendor"):
        expect(isinstance(info.get(key), str) and info[key], f"describe() has no non-empty {key!r}.", fix_keys)
    try:
        text = json.dumps(info, default=None)
    except TypeError as e:
        raise Violation(f"describe() is not JSON-serialisable ({e}); run records store it as JSON.",
                        "convert values to str/int/float/bool/lists/dicts.") from None
    fix = "never put credentials in options or describe(); read them from the vendor's own mechanism (env vars, config files) at submit time."
    known = redaction.secret_values()  # the credential values hqnn can see (env vars, AWS/IBM credential files)
    for path, value in _walk(info):
        leaf = path.rsplit(".", 1)[-1]
        for text in (leaf, value) if isinstance(value, str) else (leaf,):
            if redaction.redact_text(text, known) != text:
                raise Violation(f"describe() entry {path!r} holds a credential or a credential-shaped string "
                                "(hqnn_core.redaction would mask it).", fix)
        if _SECRET_KEY.search(leaf) and isinstance(value, str) and value and not _SOURCE_OF_SECRET.match(value):
            raise Violation(f"describe() has a credential-like entry {path!r} with a value.", fix)
        if isinstance(value, str):
            for pattern in _SECRET_VALUE:
                if pattern.search(value):
                    raise Violation(f"describe() entry {path!r} looks like a credential ({pattern.pattern[:30]}...).", fix)
    for name, secret in os.environ.items():
        if _SECRET_ENV.search(name) and len(secret) >= 8 and secret in text:
            raise Violation(f"describe() contains the value of the environment variable {name}.", fix)


# -- measurements: probabilities, samples, states ----------------------------------------------


def _measured_layer(backend: Backend, settings: ConformanceSettings, n: int | None = None, **kwargs: Any):
    """A float64 3-qubit (or narrower) hardware-efficient layer on ``backend`` measuring as ``kwargs`` say."""
    from hqnn_core.layer import QuantumLayer

    n = n or min(3, _width(backend, settings))
    try:
        layer = QuantumLayer(n, encoder="angle", ansatz="hardware_efficient", layers=2, backend=backend, seed=settings.seed, **kwargs)
    except CapabilityError as e:
        raise CheckSkipped(f"the test layer does not fit {backend.full_name!r}: {e}") from None
    x = torch.rand(2, n, generator=torch.Generator().manual_seed(settings.seed), dtype=torch.float64) * 2 - 1
    return layer.double(), x


@check("backend", submits=True)
def check_backend_probabilities_consistent(backend: Backend, settings: ConformanceSettings) -> None:
    """``measure="probs"`` rows are distributions, their marginals sum from the full one, and (noiseless) equal the reference.

    With shots the probabilities are the sampled frequencies: ``shots`` times each is a whole count,
    which holds only when every Z string of a setting is read from the same samples.
    """
    shots = None if _caps(backend).analytic else settings.shots_for(backend)
    layer, x = _measured_layer(backend, settings, measure="probs", shots=shots)
    n = layer.n_qubits
    with torch.no_grad():
        probs = layer(x)
    expect(tuple(probs.shape) == (2, 2**n), f"probabilities have shape {tuple(probs.shape)}, expected (2, {2**n}).",
           "return one expectation per Z-string observable the executor asks for.")
    expect(float((probs.sum(dim=1) - 1).abs().max()) <= 1e-6, f"probability rows sum to {probs.sum(dim=1).tolist()}, not 1.",
           "evaluate the identity term exactly and every Z string on the same state.")
    if shots is not None:
        counts = probs * shots
        expect(float((counts - counts.round()).abs().max()) <= 1e-6,
               f"with {shots} shots, shots x probabilities are not whole counts ({counts[0, :4].tolist()}...).",
               "read every Z-diagonal term of a measurement setting from one set of samples (the core measurement plan).")
    if not _caps(backend).noise:
        reference, _ = _measured_layer(reference_backend(), settings, n, measure="probs")
        with torch.no_grad():
            exact = reference(x)
        if shots is None:
            err, where = max_error(probs, exact)
            expect(err <= 1e-6, f"probability {where} is {probs[where].item():.7f}, the reference says {exact[where].item():.7f}.",
                   FIX_CONVENTIONS)
        else:
            bound = 5 * torch.sqrt(exact * (1 - exact) / shots) + 1e-9
            expect(bool(((probs - exact).abs() <= bound).all()), f"sampled probabilities fall outside 5 standard errors of {exact.tolist()}.",
                   FIX_CONVENTIONS)


@check("backend", submits=True, applies=lambda b: _caps(b).shots)
def check_backend_samples_are_bits_of_the_measured_wires(backend: Backend, settings: ConformanceSettings) -> None:
    """``measure="samples"`` returns ``(B, shots, k)`` bits whose outcome frequencies are the sampled probabilities."""
    shots = min(settings.shots_for(backend), 2000)
    layer, x = _measured_layer(backend, settings, measure="samples", wires=[0], shots=shots)
    with torch.no_grad():
        samples = layer(x)
    expect(tuple(samples.shape) == (2, shots, 1), f"samples have shape {tuple(samples.shape)}, expected (2, {shots}, 1).",
           "sample every binding `shots` times.")
    expect(set(torch.unique(samples).tolist()) <= {0.0, 1.0}, "samples hold values other than 0 and 1.", "return measured bits.")
    if not _caps(backend).noise:
        reference, _ = _measured_layer(reference_backend(), settings, layer.n_qubits, measure="probs", wires=[0])
        with torch.no_grad():
            p1 = reference(x)[:, 1]
        frequency = samples[:, :, 0].mean(dim=1)
        bound = 5 * torch.sqrt(p1 * (1 - p1) / shots) + 1e-9
        expect(bool(((frequency - p1).abs() <= bound).all()), f"wire 0 reads 1 with frequency {frequency.tolist()}, expected {p1.tolist()}.",
               FIX_CONVENTIONS)


@check("backend", submits=True, applies=lambda b: _caps(b).state)
def check_backend_state_claim_truthful(backend: Backend, settings: ConformanceSettings) -> None:
    """A backend that declares ``state`` returns normalised statevectors whose squares are its own probabilities."""
    layer, x = _measured_layer(backend, settings, measure="state")
    probs_layer, _ = _measured_layer(backend, settings, measure="probs")
    with torch.no_grad():
        states, probs = layer(x), probs_layer(x)
    expect(states.is_complex() and tuple(states.shape) == (2, 2**layer.n_qubits),
           f"states are {states.dtype} of shape {tuple(states.shape)}, expected complex (2, {2**layer.n_qubits}).",
           "return the final statevectors [N, 2**n] from Backend.states.")
    squared = states.abs() ** 2
    err, where = max_error(squared.to(torch.float64), probs.to(torch.float64))
    expect(err <= 1e-6, f"|state|^2 differs from the backend's own probabilities by {err:.3g} at {where}.",
           "return the state the expectations are computed from (wire 0 the most significant bit).")
