"""The torch backend's autograd functions: building a plan's inputs from slot values, and running and differentiating it.

A plan (:mod:`hqnn_plugins.statevector_plan`) is a handful of fused steps. :func:`build` turns slot
values into what the steps read (the opening product state as two small factors, Kronecker matrix
stacks, diagonal angles), through :class:`SharedStack` and :class:`Kron`, whose backwards stay exact
per row when every row shares the same weights. :class:`Sweep` runs the steps as one autograd node
with a hand-written reverse sweep (``backprop`` stores every step's input, ``adjoint`` undoes steps
from the final state); :func:`run_forward` runs them as plain autograd ops (``autograd`` and
forward-only). Under ``create_graph=True`` every hand-written backward re-runs its forward in
autograd (:func:`_recorded_vjp`), so higher derivatives stay exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from hqnn_core.errors import CapabilityError
from hqnn_plugins import torch_backend_memory as memory
from hqnn_plugins.statevector_plan import _angle_gate, _Dense, _Diag, _kron_entries, _Plan, _SharedSpec, shared_matrix


class SharedStack(torch.autograd.Function):
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


class Kron(torch.autograd.Function):
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
    half = n // 2  # contiguous rows: the state built from them then has contiguous rows too, which every later step reads
    return kron(range(half)).T.contiguous(), kron(range(half, n)).T.contiguous()


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


class Outer(torch.autograd.Function):
    """Row-wise outer product ``[N, A*B]`` of ``[N, A]`` and ``[N, B]`` (long contiguous rows both ways)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return _outer(a, b)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        a, b = ctx.saved_tensors
        return Outer.vjp_of(a, b, grad, ctx.needs_input_grad)

    @staticmethod
    def vjp_of(a: torch.Tensor, b: torch.Tensor, grad: torch.Tensor, needed: Sequence[bool]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(dL/da, dL/db)`` from ``dL/d(a (x) b)`` (plain torch ops: differentiable when grad mode is on)."""
        g = grad.reshape(a.shape[0], a.shape[1], b.shape[1])  # one pass over the state each, as matrix-vector products
        grad_a = torch.matmul(g, b.conj().unsqueeze(2)).squeeze(2) if needed[0] else None
        grad_b = torch.matmul(a.conj().unsqueeze(1), g).squeeze(1) if needed[1] else None
        return grad_a, grad_b

    @staticmethod
    def vjp_of_conjugate(a: torch.Tensor, b: torch.Tensor, h: torch.Tensor, needed: Sequence[bool]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """:meth:`vjp_of` from ``h = conj(dL/d(a (x) b))``, with no conjugated copy of the state:
        ``conj(h) conj(b) = conj(h b)``, so only the small results are conjugated."""
        g = h.reshape(a.shape[0], a.shape[1], b.shape[1])
        grad_a = torch.matmul(g, b.unsqueeze(2)).squeeze(2).conj_physical() if needed[0] else None
        grad_b = torch.matmul(a.unsqueeze(1), g).squeeze(1).conj_physical() if needed[1] else None
        return grad_a, grad_b


def _rows_equal(values: torch.Tensor, cols: list[int]) -> bool:
    """Whether every row holds the same values in ``cols`` (a contiguous run is compared as a view)."""
    if values.shape[0] == 1 or not cols:
        return True
    part = values[:, cols[0] : cols[-1] + 1] if cols[-1] - cols[0] + 1 == len(cols) else values[:, cols]
    return torch.equal(part, part[:1].expand_as(part))


def build(plan: _Plan, values: torch.Tensor, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, torch.Tensor], list[torch.Tensor], torch.Tensor]:
    """From slot values: the opening product state's two factors (:func:`_product_factors`), the step matrix
    stacks, and the diagonal-run angles.

    Blocks are built per row with autograd; a Kronecker stack whose slots hold equal values in every
    row (trained weights) is built once by :class:`SharedStack` instead.
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
            mats.append(SharedStack.apply(angles, p.shared[g], dtype))  # angles: never zero columns
        else:
            factors = blocks[:, :, :, p.tensor(f"kron{g}", p.krons[g], device, torch.int64)]  # [2, 2, N, G, g]
            mats.append(Kron.apply(factors, False))
    for name, gate_cols in p.gates:
        mats.append(_angle_gate(name, angles[:, gate_cols[0]], dtype).unsqueeze(1))
    theta = angles[:, p.diag_columns] if p.diag_columns else angles.new_zeros(n_rows, 0)
    return opening, mats, theta


def run_forward(plan: _Plan, state: torch.Tensor, mats: Sequence[torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    views = [m.unbind(1) for m in mats]  # one autograd node per stack, not one per step
    for step in plan.steps:
        if isinstance(step, _Dense):
            state = step.forward(state, views)
        elif isinstance(step, _Diag):
            state = step.forward(state, theta)
        else:
            state = step.forward(state)
    return state


def _conj_copy(x: torch.Tensor) -> torch.Tensor:
    """A materialised complex conjugate (a lazy ``conj()`` would push slow paths into the ops that read it), in one pass."""
    return torch.conj_physical(x)


def _check_recorded_memory(plan: _Plan, state: torch.Tensor) -> None:
    """A double backward records every step (``autograd`` memory): refuse it before allocating if it cannot fit."""
    needed = memory.memory_needed(plan.n, state.shape[0], state.dtype, "autograd", len(plan.steps))
    available = memory.available_memory()
    if available is not None and needed > available:
        raise CapabilityError(
            f"a double backward (create_graph=True) over {state.shape[0]} bindings of {plan.n} qubits records every step and "
            f"needs about {needed / 2**30:.3g} GiB; {available / 2**30:.3g} GiB is free. Lower the batch size or the qubit count, "
            "or take second derivatives with gradient='parameter_shift'."
        )


class Sweep(torch.autograd.Function):
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
        state = run_forward(plan, _outer(a, b), mats, theta)
        return plan.measure.expectations(state) if plan.measure is not None else state

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        plan: _Plan = ctx.plan
        final, a, b, theta, *rest = ctx.saved_tensors
        inputs, mats = rest[: ctx.n_inputs], rest[ctx.n_inputs :]
        if torch.is_grad_enabled():  # create_graph: a higher derivative follows, so this gradient must carry a graph
            _check_recorded_memory(plan, final)
            return (None, None, *_recorded_vjp(lambda *args: Sweep._recorded(plan, *args), (a, b, theta, *mats), grad_out))
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
                m = shared_matrix(mats[step.stack][:, step.index])  # [N, K, K] or, shared by every row, [K, K]
                k = 1 << step.g
                undo = m.mT if ctx.store else torch.stack([m.mH, m.mT]).view(2, -1, k, k)  # state: M^H, h: conj(M^H) = M^T
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
        h = x if ctx.store else x[n_rows:]  # conj(dL/d opening state): the opening factors' gradients, conjugated
        return (None, None, *Outer.vjp_of_conjugate(a, b, h, ctx.needs_input_grad[2:4]), grad_theta, *grad_mats)

