"""The torch backend as one opaque operator for ``torch.compile``: no graph breaks, no complex ops in inductor.

Eager runs never come here. While dynamo traces a model, :meth:`TorchBackend.run_batch` sends each exact
task to ``hqnn::torch_expectations`` (a :func:`torch.library.custom_op`), so dynamo sees one op with a
fake kernel (shapes only) instead of the plan compiler's Python, numpy tables, data-dependent checks and
complex arithmetic. Its gradient is a second op, ``hqnn::torch_expectations_vjp``, which re-runs the
eager evaluation with the backend's own backprop/adjoint sweep and returns the vector-Jacobian product:
a compiled training step therefore runs the circuit's forward twice (once for the value, once inside
the gradient). The operator keeps the backend's accounting itself (one call and one job per task; the
gradient's re-run is not counted, as an eager backward is not). Derivatives above the first are not
available in compiled code (AOTAutograd does not do double backward); eager keeps them.

The ops take the backend and circuit by an integer key (:func:`task_key`, evaluated once while tracing);
the key table holds both for the life of the process, like the plan cache holds compiled plans.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import torch

from hqnn_core.circuit import Circuit
from hqnn_core.errors import InputError

_TASKS: dict[int, tuple[Any, Circuit]] = {}  # key -> (TorchBackend, circuit)
_KEYS: dict[tuple[int, int], int] = {}
_NEXT = itertools.count()


@torch.compiler.assume_constant_result
def task_key(backend: Any, circuit: Circuit) -> int:
    """A stable key for ``(backend, circuit)``, validated; run at trace time, so the compiled graph holds only the int."""
    backend.validate(circuit, None)
    ident = (id(backend), id(circuit))
    if ident not in _KEYS:
        _KEYS[ident] = next(_NEXT)
        _TASKS[_KEYS[ident]] = (backend, circuit)  # keeps both alive, so their ids stay unique
    return _KEYS[ident]


def _evaluate(key: int) -> Callable[[torch.Tensor], torch.Tensor]:
    backend, circuit = _TASKS[key]
    return lambda values: backend._evaluate(circuit, values, None, None)


def _with_autograd() -> Any:
    """Inside an operator's kernel autograd keys are excluded; lift that so the eager sweep can record its graph.

    A private torch guard (``torch._C``): ``tests/core/test_torch_compile.py`` fails if a torch release changes it.
    """
    return torch._C._ForceDispatchKeyGuard(torch._C._dispatch_tls_local_include_set(), torch._C.DispatchKeySet(torch._C.DispatchKey.Undefined))


@torch.library.custom_op("hqnn::torch_expectations", mutates_args=())
def expectations(values: torch.Tensor, key: int) -> torch.Tensor:
    """Exact expectations ``[N, K]`` of the keyed circuit at slot values ``[N, n_slots]`` (the eager forward pass)."""
    if not bool(torch.isfinite(values).all()):  # the layer's own input check is skipped while compiling
        raise InputError("slot values contain NaN or inf (non-finite inputs, or weights after a diverged optimiser step); "
                         "check data normalisation, lower the learning rate or clip gradients.")
    backend, circuit = _TASKS[key]
    start = time.perf_counter()
    with torch.no_grad():
        out = backend._evaluate(circuit, values, None, None).clone()
    acc = backend.accounting  # counted here, at run time: in traced code the counters would become guards and force recompiles
    acc.calls += 1
    acc.jobs += 1
    acc.circuits += int(values.shape[0])
    acc.wall_time += time.perf_counter() - start
    return out


@expectations.register_fake
def _(values: torch.Tensor, key: int) -> torch.Tensor:
    backend, circuit = _TASKS[key]
    real = backend._complex_dtype(values).to_real()
    return values.new_empty(values.shape[0], len(circuit.observables), dtype=real)


@torch.library.custom_op("hqnn::torch_expectations_vjp", mutates_args=())
def expectations_vjp(values: torch.Tensor, grad: torch.Tensor, key: int) -> torch.Tensor:
    """``grad``'s vector-Jacobian product through the keyed circuit at ``values``, by the backend's own sweep."""
    with _with_autograd(), torch.enable_grad():
        rows = values.detach().requires_grad_(True)
        out = _evaluate(key)(rows)
        (result,) = torch.autograd.grad(out, rows, grad.to(out.dtype))
    return result.to(values.dtype)


@expectations_vjp.register_fake
def _(values: torch.Tensor, grad: torch.Tensor, key: int) -> torch.Tensor:
    return torch.empty_like(values)


def _setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    values, key = inputs
    ctx.save_for_backward(values)
    ctx.key = key


def _backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
    (values,) = ctx.saved_tensors
    return expectations_vjp(values, grad, ctx.key), None


expectations.register_autograd(_backward, setup_context=_setup)
