"""The embedded ``torch`` backend: a batched statevector simulator, differentiable by autograd or adjoint.

It needs no vendor SDK, runs on whatever torch device the slot values live on, and is the
reference every vendor adapter is compared with (itself checked against closed-form circuits).

Shot semantics: with ``shots=S`` each binding is measured S times per measurement basis. All
terms that are diagonal in Z share one set of S samples (as one hardware measurement would);
each distinct non-Z basis among the terms gets its own S samples. A term's estimate is the mean
of its ±1 eigenvalue over its samples, so its standard error is ``sqrt((1 - <P>^2) / S)``.

Why it is fast: each circuit is compiled once into a cached plan of a handful of fused steps
(:mod:`hqnn_plugins.statevector_plan`, which says what the steps are); this module runs plans on
batches of slot values, differentiates them, checks memory first and is the :class:`Backend`.

Gradients (option ``diff_method``, exact in every mode): ``backprop`` is a hand-written reverse sweep
over the stored input state of every step (memory grows with the number of steps); ``adjoint`` keeps
only the final state and recovers earlier ones by undoing each step (Jones & Gacon 2020), so memory
stays at a few states whatever the depth; ``autograd`` records the steps in torch's autograd (slower);
``auto`` (default) takes backprop while its estimated peak fits in half the free memory (it was the
faster of the two wherever both were timed), else adjoint, and adjoint when the ``adjoint`` gradient estimator asks for it
(:meth:`TorchBackend.configure_gradient`). Every mode gives exact higher-order derivatives: under
``create_graph=True`` the hand-written backwards re-run their steps in autograd (:func:`_recorded_vjp`),
so only a double backward pays for a recorded graph; the sweeps keep the opening product state as two
half-width factors, not a full state, for it.

Limits: memory is about ``batch * 2**n * itemsize * k`` bytes, with k an upper bound on measured peaks
(4.2 for a forward pass, 9.2 for adjoint training, steps + 7 for backprop; :func:`_live_states`; itemsize 8 for
complex64, 16 for complex128), plus a pair of int32 permutation tables of ``2**n`` entries
(:func:`memory_needed`). It is checked before anything is compiled or allocated: with 24 GiB free the
largest complex64 run is 29 qubits for one forward binding and 28 qubits for one adjoint training
binding, one fewer with complex128 (:func:`largest_qubits`). Time per step grows like ``batch * 2**n * gates``.
"""

from __future__ import annotations

import os
import string
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from hqnn_core.circuit import Circuit
from hqnn_core.errors import CapabilityError
from hqnn_core.interfaces import Backend, BackendCapabilities, Task
from hqnn_core.measurement import BASIS_ROTATIONS, plan_measurements
from hqnn_plugins.statevector_plan import _PLANS as _PLANS
from hqnn_plugins.statevector_plan import (
    _angle_gate,
    _Dense,
    _Diag,
    _fixed_gate,
    _is_z_only,
    _kron_entries,
    _Plan,
    _plan,
    _SharedSpec,
)
from hqnn_plugins.statevector_plan import _Compiler as _Compiler
from hqnn_plugins.statevector_plan import _ZMeasure as _ZMeasure

# ``X as X`` above: re-exported, since tests reach the compiler, its plan cache and the Z tables through this module.

_LETTERS = string.ascii_letters  # einsum subscripts: one for the batch, one per qubit, k for gate outputs
MAX_QUBITS = 30  # int32 basis-state indices; the memory check sets the practical limit below this


# ---------------------------------------------------------------------------------------------
# Gate application and memory


def _apply(state: torch.Tensor, gate: torch.Tensor, wires: tuple[int, ...], n: int) -> torch.Tensor:
    """Apply a gate (``[d, d]`` shared or ``[N, d, d]`` per binding) to ``state`` ``[N, 2, ..., 2]`` (generic, slow path)."""
    k = len(wires)
    batch, qubits, outs = _LETTERS[0], _LETTERS[1 : n + 1], _LETTERS[n + 1 : n + 1 + k]
    ins = "".join(qubits[w] for w in wires)
    result = list(qubits)
    for w, o in zip(wires, outs, strict=True):
        result[w] = o
    shape = (2,) * (2 * k)
    if gate.ndim == 3:
        gate = gate.reshape(gate.shape[0], *shape)
        spec = f"{batch}{outs}{ins},{batch}{qubits}->{batch}{''.join(result)}"
    else:
        gate = gate.reshape(shape)
        spec = f"{outs}{ins},{batch}{qubits}->{batch}{''.join(result)}"
    return torch.einsum(spec, gate, state)


def _available_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _live_states(method: str, steps: int) -> float:
    """Batch statevectors alive at a run's peak: an upper bound fitted to measured peaks, not a count of named tensors.

    Measured as the peak RSS growth of one run in a fresh process (``tests/core/test_torch_memory.py``
    says how), in complex64 state sizes at 16 qubits, batch 16 and 32, 2 and 6 layers (5 and 25 plan
    steps): forward 3.0-4.0, backprop 11.5 and 31.6 (one state per step plus about 6.5), adjoint
    8.5-8.7 whatever the depth, autograd 9.1 and 25.1 (0.8 per step plus about 5). The older counts
    (3, 6, steps + 4, 2 steps + 4) were under for adjoint, the path large circuits take.
    """
    return {"forward": 4.2, "adjoint": 9.2, "backprop": steps + 7.0, "autograd": 5.4 + 0.8 * steps}[method]


def memory_needed(n_qubits: int, batch: int, dtype: torch.dtype = torch.complex64, method: str = "forward", steps: int = 0) -> int:
    """Peak bytes of one run: live states plus a pair of int32 permutation tables (``8 * 2**n``)."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    return int(_live_states(method, steps) * batch * (2**n_qubits) * itemsize) + 8 * 2**n_qubits


def largest_qubits(memory: int, batch: int = 1, dtype: torch.dtype = torch.complex64, method: str = "forward", steps: int = 0) -> int:
    """The most qubits whose run fits in ``memory`` bytes (0 if none); e.g. 24 GiB: 29 forward, 28 adjoint (complex64)."""
    n = 0
    while n < MAX_QUBITS and memory_needed(n + 1, batch, dtype, method, steps) <= memory:
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Running a plan


class _SharedStack(torch.autograd.Function):
    """A Kronecker stack ``[N, G, K, K]`` built once from row 0 (all rows read equal slot values there)."""

    @staticmethod
    def forward(ctx: Any, values: torch.Tensor, spec: _SharedSpec, dtype: torch.dtype) -> torch.Tensor:
        real = torch.empty((), dtype=dtype).real.dtype
        built = spec.build(values[0].to(real), dtype)  # [G, R, K, K]
        ctx.spec, ctx.dtype, ctx.values_dtype = spec, dtype, values.dtype
        ctx.save_for_backward(built[:, 1:], values)
        return built[:, 0].unsqueeze(0).expand(values.shape[0], -1, -1, -1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        derivs, values = ctx.saved_tensors  # [G, S, K, K], [N, n_slots]
        spec: _SharedSpec = ctx.spec
        if torch.is_grad_enabled():  # create_graph: rebuild every row in autograd so that this gradient is differentiable
            real = torch.empty((), dtype=ctx.dtype).real.dtype
            return _recorded_vjp(lambda v: spec.build_rows(v.to(real), ctx.dtype), (values,), grad)[0], None, None
        n_rows, n_groups = grad.shape[:2]
        out = grad.real.new_zeros(values.shape)
        if not derivs.shape[1]:  # fixed gates only
            return out.to(ctx.values_dtype), None, None
        e = grad.reshape(n_rows, n_groups, -1).transpose(0, 1)  # [G, N, K*K]
        d = derivs.reshape(n_groups, derivs.shape[1], -1)  # [G, S, K*K]
        per_slot = torch.matmul(e, d.conj().mT).real.permute(1, 0, 2).reshape(n_rows, -1)  # Re <E, dM>: [N, G*S]
        positions = spec.tensor("positions", spec.positions, grad.device, torch.int64)
        out.index_add_(1, spec.tensor("slot_cols", spec.slot_cols, grad.device, torch.int64), per_slot[:, positions])
        return out.to(ctx.values_dtype), None, None


class _Kron(torch.autograd.Function):
    """Per-row Kronecker products ``[N, G, K, K]`` of 2x2 factors ``[2, 2, N, G, g]``.

    When ``shared`` (every row reads the same angles, as trained weights do) the product is built
    once and expanded; the backward still returns each row's own gradient, so it stays exact.
    """

    @staticmethod
    def forward(ctx: Any, factors: torch.Tensor, shared: bool) -> torch.Tensor:
        src = factors[:, :, :1] if shared else factors
        ctx.shared = shared
        ctx.save_for_backward(factors)
        out = _kron_entries(src).permute(2, 3, 0, 1).contiguous()  # [S, G, K, K]
        return out.expand(factors.shape[2], -1, -1, -1) if shared else out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        (factors,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: the same products per row, recorded by autograd
            return _recorded_vjp(lambda f: _kron_entries(f).permute(2, 3, 0, 1), (factors,), grad)[0], None
        src = factors[:, :, :1] if ctx.shared else factors
        g, (n_rows, n_groups) = src.shape[-1], grad.shape[:2]
        if g == 1:
            return grad.permute(2, 3, 0, 1).unsqueeze(-1), None
        grads = []
        for a in range(g):  # d/dU_a = sum over the other factors' indices of grad * conj(their product)
            others = _kron_entries(torch.cat([src[..., :a], src[..., a + 1 :]], dim=-1)).conj()  # [(x y), (X Y), S, G]
            hi, lo = 1 << a, 1 << (g - 1 - a)
            e = grad.reshape(n_rows, n_groups, hi, 2, lo, hi, 2, lo)
            if src.shape[2] == 1:  # shared: one product per group, [G, (i j N), (x y X Y)] @ [G, (x y X Y), 1]
                e = e.permute(1, 3, 6, 0, 2, 4, 5, 7).reshape(n_groups, 4 * n_rows, -1)
                o = others[:, :, 0].permute(2, 0, 1).reshape(n_groups, -1, 1)
                grads.append(torch.bmm(e, o).view(n_groups, 2, 2, n_rows).permute(1, 2, 3, 0))
            else:  # per row: [N G, (i j), (x y X Y)] @ [N G, (x y X Y), 1]
                e = e.permute(0, 1, 3, 6, 2, 4, 5, 7).reshape(n_rows * n_groups, 4, -1)
                o = others.permute(2, 3, 0, 1).reshape(n_rows * n_groups, -1, 1)
                grads.append(torch.bmm(e, o).view(n_rows, n_groups, 2, 2).permute(2, 3, 0, 1))
        return torch.stack(grads, dim=-1), None


def _product_factors(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-wire states ``[2, N, n]`` (wire 0 most significant) as two halves ``[N, A]``, ``[N, B]`` whose row-wise
    outer product is the product state ``[N, A*B]``: the sweep keeps these small factors, not the state."""
    n = vectors.shape[2]

    def kron(wires: range) -> torch.Tensor:  # [2**len, N], basis index first
        out = vectors[:, :, wires[0]]
        for w in wires[1:]:
            out = (out[:, None] * vectors[None, :, :, w]).reshape(-1, out.shape[1])
        return out

    if n == 1:
        return vectors[:, :, 0].T.contiguous(), vectors.new_ones(vectors.shape[1], 1)
    half = n // 2
    return kron(range(half)).T, kron(range(half, n)).T


def _outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.unsqueeze(2) * b.unsqueeze(1)).reshape(a.shape[0], -1)


def _recorded_vjp(fn: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor], grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
    """``grad``'s vector-Jacobian product through ``fn`` at ``inputs``, recorded by autograd so it can be differentiated again.

    The hand-written backwards here are first-order only; under ``create_graph=True`` (grad mode on inside a
    backward) they re-run their forward in plain torch ops and differentiate that instead (second and higher
    derivatives, gradient penalties). The first-order path never comes here.
    """
    wanted = [t for t in inputs if t.requires_grad]
    with torch.enable_grad():
        out = fn(*inputs)
    grads = iter(torch.autograd.grad(out, wanted, grad, create_graph=True, allow_unused=True))
    return tuple(next(grads) if t.requires_grad else None for t in inputs)


class _Outer(torch.autograd.Function):
    """Row-wise outer product ``[N, A*B]`` of ``[N, A]`` and ``[N, B]`` (long contiguous rows both ways)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return _outer(a, b)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        a, b = ctx.saved_tensors
        return _Outer.vjp_of(a, b, grad, ctx.needs_input_grad)

    @staticmethod
    def vjp_of(a: torch.Tensor, b: torch.Tensor, grad: torch.Tensor, needed: Sequence[bool]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(dL/da, dL/db)`` from ``dL/d(a (x) b)`` (plain torch ops: differentiable when grad mode is on)."""
        g = grad.reshape(a.shape[0], a.shape[1], b.shape[1])
        grad_a = (g * b.conj().unsqueeze(1)).sum(2) if needed[0] else None
        grad_b = (g * a.conj().unsqueeze(2)).sum(1) if needed[1] else None
        return grad_a, grad_b


def _rows_equal(values: torch.Tensor, cols: list[int]) -> bool:
    """Whether every row holds the same values in ``cols`` (a contiguous run is compared as a view)."""
    if values.shape[0] == 1 or not cols:
        return True
    part = values[:, cols[0] : cols[-1] + 1] if cols[-1] - cols[0] + 1 == len(cols) else values[:, cols]
    return torch.equal(part, part[:1].expand_as(part))


def _build(plan: _Plan, values: torch.Tensor, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, torch.Tensor], list[torch.Tensor], torch.Tensor]:
    """From slot values: the opening product state's two factors (:func:`_product_factors`), the step matrix
    stacks, and the diagonal-run angles.

    Blocks are built per row with autograd; a Kronecker stack whose slots hold equal values in every
    row (trained weights) is built once by :class:`_SharedStack` instead.
    """
    p, n_rows, device = plan.params, values.shape[0], values.device
    real = torch.empty((), dtype=dtype).real.dtype
    angles = values.to(real) if values.shape[1] else values.new_zeros(n_rows, 1, dtype=real)
    shared = {g: _rows_equal(values, p.kron_slots[g]) for g in p.krons}
    n_blocks = len(p.prefix) if all(shared.values()) else p.cols.shape[1]  # prefix blocks come first
    length = p.cols.shape[0]
    cols = p.tensor(f"cols{n_blocks}", p.cols[:, :n_blocks].reshape(-1), device, torch.int64)
    theta = angles[:, cols] * p.tensor(f"freq{n_blocks}", p.freq[:, :n_blocks].reshape(-1), device, real)
    k = p.tensor(f"coefs{n_blocks}", p.coefs[..., :n_blocks].reshape(3, 2, 4, 1, -1), device, real)  # [3, 2, 4, 1, L*B]
    planes = torch.addcmul(torch.addcmul(k[0], k[1], torch.cos(theta)), k[2], torch.sin(theta))  # [2, 4, N, L*B]
    u = torch.complex(planes[0], planes[1]).view(2, 2, n_rows, length, n_blocks)
    blocks = u[:, :, :, 0]
    for pos in range(1, length):  # 2x2 products, entries first: (XY)[a, b] = X[a, 0] Y[0, b] + X[a, 1] Y[1, b]
        x = u[:, :, :, pos]
        blocks = x[:, :1] * blocks[:1] + x[:, 1:] * blocks[1:]
    opening = _product_factors(blocks[:, 0][:, :, p.tensor("prefix", p.prefix, device, torch.int64)])  # U|0> per wire
    mats: list[torch.Tensor] = []
    for g in sorted(p.krons):
        if shared[g]:
            mats.append(_SharedStack.apply(angles, p.shared[g], dtype))  # angles: never zero columns
        else:
            factors = blocks[:, :, :, p.tensor(f"kron{g}", p.krons[g], device, torch.int64)]  # [2, 2, N, G, g]
            mats.append(_Kron.apply(factors, False))
    for name, gate_cols in p.gates:
        mats.append(_angle_gate(name, angles[:, gate_cols[0]], dtype).unsqueeze(1))
    theta = angles[:, p.diag_columns] if p.diag_columns else angles.new_zeros(n_rows, 0)
    return opening, mats, theta


def _forward(plan: _Plan, state: torch.Tensor, mats: Sequence[torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    views = [m.unbind(1) for m in mats]  # one autograd node per stack, not one per step
    for step in plan.steps:
        if isinstance(step, _Dense):
            state = step.forward(state, views)
        elif isinstance(step, _Diag):
            state = step.forward(state, theta)
        else:
            state = step.forward(state)
    return state


def _probabilities_of(state: torch.Tensor) -> torch.Tensor:
    return state.real.square() + state.imag.square()


def _conj_copy(x: torch.Tensor) -> torch.Tensor:
    """A materialised complex conjugate (a lazy ``conj()`` would push slow paths into the ops that read it)."""
    out = x.clone(memory_format=torch.contiguous_format)
    torch.view_as_real(out)[..., 1].neg_()
    return out


def _check_recorded_memory(plan: _Plan, state: torch.Tensor) -> None:
    """A double backward records every step (``autograd`` memory): refuse it before allocating if it cannot fit."""
    needed = memory_needed(plan.n, state.shape[0], state.dtype, "autograd", len(plan.steps))
    available = _available_memory()
    if available is not None and needed > available:
        raise CapabilityError(
            f"a double backward (create_graph=True) over {state.shape[0]} bindings of {plan.n} qubits records every step and "
            f"needs about {needed / 2**30:.3g} GiB; {available / 2**30:.3g} GiB is free. Lower the batch size or the qubit count, "
            "or take second derivatives with gradient='parameter_shift'."
        )


class _Sweep(torch.autograd.Function):
    """The plan as one autograd node with a hand-written reverse sweep (first-order gradients).

    ``store=True`` (backprop) keeps every step's input state; ``store=False`` (adjoint) keeps only the
    final state and recovers earlier ones by undoing each step, carrying state and cotangent together
    as one ``[2N, 2**n]`` tensor so that every undo is one operation on both. Gradients follow torch's
    complex convention (``dL/dRe + i dL/dIm``); a dense step ``out = M in`` gives ``dM = G_out in^H``.
    """

    @staticmethod
    def forward(ctx: Any, plan: _Plan, store: bool, a: torch.Tensor, b: torch.Tensor, theta: torch.Tensor, *mats: torch.Tensor) -> torch.Tensor:
        views = [m.unbind(1) for m in mats]
        state = _outer(a, b)  # built here so that only the small factors are kept for a double backward
        inputs = []
        for step in plan.steps:
            if store:
                inputs.append(state)
            state = step.forward(state, views) if isinstance(step, _Dense) else step.forward(state, theta) if isinstance(step, _Diag) else step.forward(state)
        ctx.plan, ctx.store, ctx.n_inputs = plan, store, len(inputs)
        ctx.save_for_backward(state, a, b, theta, *inputs, *mats)
        return plan.measure.expectations(state) if plan.measure is not None else state

    @staticmethod
    def _recorded(plan: _Plan, a: torch.Tensor, b: torch.Tensor, theta: torch.Tensor, *mats: torch.Tensor) -> torch.Tensor:
        """The same plan as plain autograd ops (what a double backward differentiates)."""
        state = _forward(plan, _outer(a, b), mats, theta)
        return plan.measure.expectations(state) if plan.measure is not None else state

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        plan: _Plan = ctx.plan
        final, a, b, theta, *rest = ctx.saved_tensors
        inputs, mats = rest[: ctx.n_inputs], rest[ctx.n_inputs :]
        if torch.is_grad_enabled():  # create_graph: a higher derivative follows, so this gradient must carry a graph
            _check_recorded_memory(plan, final)
            return (None, None, *_recorded_vjp(lambda *args: _Sweep._recorded(plan, *args), (a, b, theta, *mats), grad_out))
        n_rows = final.shape[0]
        # The sweep carries h = conj(cotangent): then every product has its one conjugated factor on a
        # small matrix or on the result, and torch never materialises a conjugated copy of a state.
        if plan.measure is not None:  # conj(2 w psi): real arithmetic on the real view (mixed complex/real ops are slow)
            w = 2 * plan.measure.weights_grad(grad_out)
            parts = torch.view_as_real(final)
            h_real = torch.empty_like(parts)
            torch.mul(parts[..., 0], w, out=h_real[..., 0])
            torch.mul(parts[..., 1], w.neg_(), out=h_real[..., 1])
            h = torch.view_as_complex(h_real)
        else:
            h = _conj_copy(grad_out.to(final.dtype))
        grad_mats = [torch.zeros_like(m) for m in mats]
        grad_theta = torch.zeros_like(theta)
        # store: x is h [N, 2**n]; adjoint: x is (state, h) stacked as [2N, 2**n] so each undo is one operation.
        x = h if ctx.store else torch.stack([final, h]).view(2 * n_rows, -1)
        out_state = final
        for i in reversed(range(len(plan.steps))):
            step = plan.steps[i]
            h_out = x if ctx.store else x[n_rows:]
            if isinstance(step, _Dense):
                m = mats[step.stack][:, step.index]
                k = 1 << step.g
                undo = m.mT if ctx.store else torch.stack([m.mH, m.mT])  # state: M^H, h: conj(M^H) = M^T
                x = torch.matmul(undo, x.view(-1, n_rows, x.shape[1] // k, k).mT).reshape(x.shape)
                in_state = inputs[i] if ctx.store else x[:n_rows]
                # dM[j, l] = sum_r G_out[r, j] conj(in[l, r]) = conj(sum_r h_out[r, j] in[l, r])
                grad_mats[step.stack][:, step.index] += torch.matmul(h_out.view(n_rows, -1, k).mT, in_state.view(n_rows, k, -1).mT).conj()
            elif isinstance(step, _Diag):
                grad_phase = -(h_out * out_state).imag  # -Im(conj(G) psi_out)
                grad_theta[:, step.columns] += step.angle_grad(grad_phase)
                phase = step.angles(theta[:, step.columns])
                undo_phase = torch.polar(torch.ones_like(phase), phase)  # h_in = D h_out
                if not ctx.store:
                    undo_phase = torch.stack([undo_phase.conj(), undo_phase])  # psi_in = conj(D) psi_out
                x = (x.view(-1, n_rows, x.shape[1]) * undo_phase).view(x.shape)
                in_state = inputs[i] if ctx.store else x[:n_rows]
            else:
                x = step.adjoint(x)
                in_state = inputs[i] if ctx.store else x[:n_rows]
            out_state = in_state
        grad_state = _conj_copy(x if ctx.store else x[n_rows:])
        return (None, None, *_Outer.vjp_of(a, b, grad_state, ctx.needs_input_grad[2:4]), grad_theta, *grad_mats)


# ---------------------------------------------------------------------------------------------
# The backend


class TorchBackend(Backend):
    """Embedded batched statevector simulator in torch: exact or sampled, differentiable by backprop or adjoint."""

    name = "torch"
    vendor = "hqnn"
    capabilities = BackendCapabilities(max_qubits=MAX_QUBITS, analytic=True, shots=True, backprop=True, adjoint=True,
                                       higher_order=True, state=True)

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        precision: Literal["auto", "complex64", "complex128"] = Field(
            "auto", description="auto: complex128 for float64 inputs, complex64 otherwise"
        )
        seed: int | None = Field(None, description="base seed for shot sampling")
        diff_method: Literal["auto", "backprop", "adjoint", "autograd"] = Field(
            "auto",
            description="how gradients flow when slot values require grad (every mode gives exact higher-order derivatives): "
            "a reverse sweep over stored step states "
            "(backprop), one that keeps only the final state and undoes steps (adjoint: least memory), torch autograd "
            "through every step (autograd: slower), or backprop while it fits "
            "in memory, else adjoint (auto)",
        )

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
        available = _available_memory()
        budget = available // 2 if available is not None else 2**30
        needed = memory_needed(plan.n, values.shape[0], self._complex_dtype(values), "backprop", len(plan.steps))
        return "backprop" if needed <= budget else "adjoint"

    def _check_memory(self, circuit: Circuit, n_rows: int, dtype: torch.dtype, method: str = "forward", steps: int = 0) -> None:
        needed = memory_needed(circuit.n_qubits, n_rows, dtype, method, steps)
        available = _available_memory()
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
        self._check_memory(circuit, values.shape[0], dtype)  # before compiling: the plan's tables are 2**n long
        plan = _plan(circuit, z_only)
        method = self._method(plan, values, shots)
        self._check_memory(circuit, values.shape[0], dtype, method, len(plan.steps))
        return plan, method, dtype

    @staticmethod
    def _final(plan: _Plan, values: torch.Tensor, dtype: torch.dtype, method: str) -> torch.Tensor:
        """The plan's output: expectations ``[N, K]`` for adjoint Z plans, otherwise the final state."""
        with torch.set_grad_enabled(method != "forward" and torch.is_grad_enabled()):
            (a, b), mats, theta = _build(plan, values, dtype)
            if method in ("backprop", "adjoint"):
                return _Sweep.apply(plan, method == "backprop", a, b, theta, *mats)
            return _forward(plan, _Outer.apply(a, b), mats, theta)

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
        samples = _sample(_probabilities_of(out), shots, generator)  # one set of samples serves every Z string
        term_means = torch.stack([measure.signs(t, out.device, torch.float64)[samples].mean(dim=1) for t in range(len(measure.masks))], dim=1) \
            if measure.masks else samples.new_zeros(samples.shape[0], 0, dtype=torch.float64)
        weights = torch.as_tensor(measure.weights, dtype=torch.float64, device=out.device)
        return term_means @ weights + torch.as_tensor(measure.const, dtype=torch.float64, device=out.device)

    def _measure_state(self, circuit: Circuit, state: torch.Tensor, shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
        return pauli_expectations(circuit, lambda basis: self._probabilities(state, basis, circuit.n_qubits), state, shots, generator)

    @staticmethod
    def _probabilities(state: torch.Tensor, basis: tuple[tuple[int, str], ...], n: int) -> torch.Tensor:
        if basis:  # the core plan's rotations (X: H; Y: S† then H), then read Z
            psi = state.reshape((state.shape[0],) + (2,) * n)
            for w, p in basis:
                for gate in BASIS_ROTATIONS[p]:
                    psi = _apply(psi, _fixed_gate(gate, state.dtype, state.device), (w,), n)
            state = psi.reshape(state.shape[0], -1)
        return _probabilities_of(state)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["versions"] = {"torch": torch.__version__}
        return info


def pauli_expectations(circuit: Circuit, probabilities: Callable[[tuple[tuple[int, str], ...]], torch.Tensor], state: torch.Tensor,
                       shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
    """``[N, K]`` expectations of the circuit's observables from measurement-basis probabilities.

    The terms, settings and shot semantics are the core plan's (:func:`hqnn_core.measurement.plan_measurements`):
    ``probabilities(basis)`` gives ``[N, 2**n]`` after rotating the setting's non-Z wires to Z
    (shared by this backend and ``torch.noisy``), and the terms of one setting share its samples.
    """
    plan = plan_measurements(circuit)
    n, rows = circuit.n_qubits, state.shape[0]
    columns: list[torch.Tensor] = [state.new_zeros(0)] * len(plan.terms)
    for setting in plan.settings:
        probs = probabilities(setting.basis)
        samples = _sample(probs, shots, generator) if shots is not None else None
        for t, wires in zip(setting.terms, setting.term_wires, strict=True):
            signs = _z_signs(list(wires), n, state.device)
            columns[t] = probs @ signs.to(probs.dtype) if samples is None else signs.to(torch.float64)[samples].mean(dim=1)
    real = state.real.dtype if shots is None else torch.float64
    term_values = torch.stack(columns, dim=1).to(real) if columns else torch.zeros(rows, 0, dtype=real, device=state.device)
    out = term_values @ torch.as_tensor(plan.coeffs, dtype=real, device=state.device) + torch.as_tensor(plan.constants, dtype=real, device=state.device)
    return out.detach() if shots is not None else out


def _z_signs(wires: list[int], n: int, device: torch.device) -> torch.Tensor:
    """±1 per basis state: the eigenvalue of Z on ``wires`` (wire 0 is the most significant bit)."""
    index = torch.arange(2**n, device=device)
    parity = torch.zeros_like(index)
    for w in wires:
        parity ^= (index >> (n - 1 - w)) & 1
    return 1 - 2 * parity


def _sample(probs: torch.Tensor, shots: int, generator: torch.Generator | None) -> torch.Tensor:
    """``shots`` basis-state indices per row, drawn with ``generator`` (chunked to bound memory)."""
    probs = probs.detach().to(torch.float64).clamp_min(0)
    chunk = max(1, 2**24 // shots)
    parts = [torch.multinomial(p, shots, replacement=True, generator=generator) for p in probs.split(chunk)]
    return torch.cat(parts)
