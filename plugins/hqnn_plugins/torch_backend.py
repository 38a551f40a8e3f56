"""The embedded ``torch`` backend: a batched statevector simulator, differentiable by autograd or adjoint.

It needs no vendor SDK, runs on whatever torch device the slot values live on, and is the
reference every vendor adapter is compared with (itself checked against closed-form circuits).

Shot semantics: with ``shots=S`` each binding is measured S times per measurement basis. All
terms that are diagonal in Z share one set of S samples (as one hardware measurement would);
each distinct non-Z basis among the terms gets its own S samples. A term's estimate is the mean
of its ±1 eigenvalue over its samples, so its standard error is ``sqrt((1 - <P>^2) / S)``.

Why it is fast: each circuit is compiled once into a cached plan of a handful of fused steps
(:mod:`hqnn_plugins.statevector_plan`, which says what the steps are). The work is split by job:
:mod:`~hqnn_plugins.torch_backend_autograd` runs and differentiates plans,
:mod:`~hqnn_plugins.torch_backend_memory` is the memory model (torch-free),
:mod:`~hqnn_plugins.torch_backend_measure` turns states into expectations or samples,
:mod:`~hqnn_plugins.torch_backend_options` holds the options (torch-free),
:mod:`~hqnn_plugins.torch_backend_allocator` keeps freed states in the heap (glibc), and this module is the
:class:`Backend` that picks a gradient path, checks memory first and measures.

Gradients (option ``diff_method``, exact in every mode): ``backprop`` is a hand-written reverse sweep
over the stored input state of every step (memory grows with the number of steps); ``adjoint`` keeps
only the final state and recovers earlier ones by undoing each step (Jones & Gacon 2020), so memory
stays at a few states whatever the depth; ``autograd`` records the steps in torch's autograd (slower);
``auto`` (default) takes backprop while its estimated peak fits in half the free memory (it was the
faster of the two wherever both were timed), else adjoint, and adjoint when the ``adjoint`` gradient estimator asks for it
(:meth:`TorchBackend.configure_gradient`). Every mode gives exact higher-order derivatives: under
``create_graph=True`` the hand-written backwards re-run their steps in autograd,
so only a double backward pays for a recorded graph; the sweeps keep the opening product state as two
half-width factors, not a full state, for it.

Limits: memory is about ``batch * 2**n * itemsize * k`` bytes, with k an upper bound on measured peaks
(2.08 for a forward pass, 7.8 for adjoint training, steps + 5.9 for backprop; :func:`~hqnn_plugins.torch_backend_memory.live_states`; itemsize 8 for
complex64, 16 for complex128), plus a permutation table and its inverse
(:func:`~hqnn_plugins.torch_backend_memory.table_bytes`; :func:`memory_needed`). It is checked before anything is compiled or allocated: with 24 GiB free the
largest complex64 run is 29 qubits for one forward binding and 28 qubits for one adjoint training
binding; with complex128, 29 and 27 (:func:`largest_qubits`). Time per step grows like ``batch * 2**n * gates``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from hqnn_core.circuit import Circuit
from hqnn_core.errors import CapabilityError
from hqnn_core.interfaces import Backend, Task
from hqnn_plugins import torch_backend_memory as memory
from hqnn_plugins.layouts.backends import TorchLayout
from hqnn_plugins.statevector_plan import _is_z_only, _Plan, _plan
from hqnn_plugins.torch_backend_allocator import tune_glibc_malloc
from hqnn_plugins.torch_backend_autograd import Outer, Sweep, build, run_forward
from hqnn_plugins.torch_backend_measure import basis_probabilities, pauli_expectations, probabilities_of, sample
from hqnn_plugins.torch_backend_memory import MAX_QUBITS, largest_qubits, memory_needed

__all__ = ["MAX_QUBITS", "TorchBackend", "largest_qubits", "memory_needed", "pauli_expectations"]


# ---------------------------------------------------------------------------------------------
# The backend


class TorchBackend(Backend):
    """Embedded batched statevector simulator in torch: exact or sampled, differentiable by backprop or adjoint."""

    name = "torch"
    vendor = "hqnn"
    capabilities = TorchLayout.capabilities  # declared torch-free beside its options, for config-time checks
    Options = TorchLayout.Options

    def _complex_dtype(self, values: torch.Tensor) -> torch.dtype:
        if self.options.precision == "complex64":
            return torch.complex64
        if self.options.precision == "complex128":
            return torch.complex128
        return torch.complex128 if values.dtype == torch.float64 else torch.complex64

    _requested: str | None = None  # set by configure_gradient

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        self._count_job()
        generator = None
        results = []
        for circuit, values in tasks:
            if shots is not None and generator is None:
                generator = torch.Generator(device=values.device)
                generator.manual_seed(int(seed if seed is not None else 0))
            results.append(self._evaluate(circuit, values, shots, generator))
        return results

    def run_batch(self, tasks: Sequence[Task], shots: int | None = None, seed: int | None = None) -> list[torch.Tensor]:
        """As :meth:`Backend.run_batch`; while ``torch.compile`` traces, exact tasks become one opaque operator each
        (:mod:`hqnn_plugins.torch_backend_compiled`), which keeps the accounting (one call and job per task) at run time."""
        if shots is not None or not torch.compiler.is_compiling():
            return super().run_batch(tasks, shots, seed)
        # imported here, where dynamo is already loaded: at the top it would cost every eager run 1.2 s of torch._dynamo
        from hqnn_plugins import torch_backend_compiled as compiled

        results = []
        for circuit, values in tasks:
            if values.ndim != 2 or values.shape[1] != circuit.n_slots:
                raise CapabilityError(f"slot values must have shape [N, {circuit.n_slots}], got {tuple(values.shape)}.")
            results.append(compiled.expectations(values, compiled.task_key(self, circuit)))
        return results

    def configure_gradient(self, name: str) -> None:
        """Told which through-backend estimator drives it: ``adjoint`` makes ``diff_method: auto`` sweep adjoint."""
        self._requested = "adjoint" if name == "adjoint" else None

    # -- memory ------------------------------------------------------------------------------
    def _method(self, plan: _Plan, values: torch.Tensor, shots: int | None) -> str:
        """``forward`` (no gradient needed), ``backprop``, ``adjoint`` or ``autograd``."""
        if shots is not None or not (values.requires_grad and torch.is_grad_enabled()):
            return "forward"
        if self.options.diff_method != "auto":
            return self.options.diff_method
        if self._requested:
            return self._requested
        # Backprop was faster than adjoint wherever both were timed (W1-W3, 16 and 20 qubits: 1.1-1.5x),
        # so it is chosen whenever its measured-peak estimate fits in half the free memory.
        available = memory.available_memory()
        budget = available // 2 if available is not None else 2**30
        needed = memory_needed(plan.n, values.shape[0], self._complex_dtype(values), "backprop", len(plan.steps))
        return "backprop" if needed <= budget else "adjoint"

    def _check_memory(self, circuit: Circuit, n_rows: int, dtype: torch.dtype, method: str = "forward", steps: int = 0) -> None:
        needed = memory_needed(circuit.n_qubits, n_rows, dtype, method, steps)
        available = memory.available_memory()
        if available is not None and needed > available:
            fits = largest_qubits(available, n_rows, dtype, method, steps)
            raise CapabilityError(
                f"simulating {n_rows} bindings of {circuit.n_qubits} qubits ({method}) needs about {needed / 2**30:.3g} GiB; "
                f"{available / 2**30:.3g} GiB is free. Lower the batch size or the qubit count (at this batch size at most "
                f"{fits} qubits fit), train with backend_options={{'diff_method': 'adjoint'}}, or use a managed simulator."
            )

    # -- simulation --------------------------------------------------------------------------
    def _prepare(self, circuit: Circuit, values: torch.Tensor, z_only: bool, shots: int | None) -> tuple[_Plan, str, torch.dtype]:
        dtype = self._complex_dtype(values)
        if values.device.type == "cpu":
            tune_glibc_malloc()  # once per process: freed states stay in the heap instead of faulting in again each step
        self._check_memory(circuit, values.shape[0], dtype)  # before compiling: the plan's tables are 2**n long
        plan = _plan(circuit, z_only)
        method = self._method(plan, values, shots)
        self._check_memory(circuit, values.shape[0], dtype, method, len(plan.steps))
        return plan, method, dtype

    @staticmethod
    def _final(plan: _Plan, values: torch.Tensor, dtype: torch.dtype, method: str) -> torch.Tensor:
        """The plan's output: expectations ``[N, K]`` for adjoint Z plans, otherwise the final state."""
        with torch.set_grad_enabled(method != "forward" and torch.is_grad_enabled()):
            (a, b), mats, theta = build(plan, values, dtype)
            if method in ("backprop", "adjoint"):
                return Sweep.apply(plan, method == "backprop", a, b, theta, *mats)
            return run_forward(plan, Outer.apply(a, b), mats, theta)

    def states(self, circuit: Circuit, slot_values: torch.Tensor) -> torch.Tensor:
        """Final statevectors ``[N, 2**n]``, differentiable (``measure="state"``); counted as one call."""
        self.validate(circuit, None)
        start = time.perf_counter()
        out = self.simulate(circuit, slot_values)
        self.accounting.calls += 1
        self.accounting.jobs += 1
        self.accounting.circuits += int(slot_values.shape[0])
        self.accounting.wall_time += time.perf_counter() - start
        return out

    def simulate(self, circuit: Circuit, values: torch.Tensor) -> torch.Tensor:
        """Final states ``[N, 2**n]`` for slot values ``[N, n_slots]`` (differentiable)."""
        if not values.shape[0]:
            return torch.zeros(0, 2**circuit.n_qubits, dtype=self._complex_dtype(values), device=values.device)
        plan, method, dtype = self._prepare(circuit, values, False, None)
        return self._final(plan, values, dtype, method)

    def _evaluate(self, circuit: Circuit, values: torch.Tensor, shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
        if not values.shape[0]:
            real = torch.float64 if shots is not None else self._complex_dtype(values).to_real()
            return torch.zeros(0, len(circuit.observables), dtype=real, device=values.device)
        if not _is_z_only(circuit):
            return self._measure_state(circuit, self.simulate(circuit, values), shots, generator)
        plan, method, dtype = self._prepare(circuit, values, True, shots)
        out = self._final(plan, values, dtype, method)
        measure = plan.measure
        assert measure is not None
        if method in ("backprop", "adjoint"):
            return out
        if shots is None:
            return measure.expectations(out)
        samples = sample(probabilities_of(out), shots, generator)  # one set of samples serves every Z string
        term_means = torch.stack([measure.signs(t, out.device, torch.float64)[samples].mean(dim=1) for t in range(len(measure.masks))], dim=1) \
            if measure.masks else samples.new_zeros(samples.shape[0], 0, dtype=torch.float64)
        weights = torch.as_tensor(measure.weights, dtype=torch.float64, device=out.device)
        return term_means @ weights + torch.as_tensor(measure.const, dtype=torch.float64, device=out.device)

    def _measure_state(self, circuit: Circuit, state: torch.Tensor, shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
        return pauli_expectations(circuit, lambda basis: basis_probabilities(state, basis, circuit.n_qubits), state, shots, generator)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["versions"] = {"torch": torch.__version__}
        info["allocator"] = tune_glibc_malloc()  # what a CPU run does to glibc's thresholds (the run record says so)
        return info
