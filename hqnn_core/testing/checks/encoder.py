"""Encoder checks: widths, the feature-count error, batching, input gradients and the gate set."""

from __future__ import annotations

import torch

from hqnn_core.circuit import CircuitBuilder
from hqnn_core.errors import CapabilityError
from hqnn_core.interfaces import Encoder
from hqnn_core.layer import QuantumLayer
from hqnn_core.testing.checks.common import ConformanceSettings, Violation, check, expect, max_error
from hqnn_core.testing.checks.reference import fd_jacobian, reference_backend, sample_inputs

QUBITS = (1, 2, 3, 4)


def _accepts(encoder: Encoder, n: int) -> bool:
    """Widths the encoder refuses with a clear ValueError from n_features (e.g. too few qubits for its options) are skipped."""
    try:
        encoder.n_features(n)
    except ValueError:
        return False
    return True


def _qubit_range(encoder: Encoder) -> list[int]:
    widths = [n for n in QUBITS if n >= encoder.min_qubits() and _accepts(encoder, n)]
    if not widths:
        raise Violation(f"n_features refuses every width from min_qubits() = {encoder.min_qubits()} to {QUBITS[-1]}.",
                        "support small circuits, or raise min_qubits() to the smallest width that works.")
    return widths


def _encoder_circuit(encoder: Encoder, n: int):
    builder = CircuitBuilder(n)
    try:
        encoder.add_ops(builder, list(range(n)))
    except CapabilityError as e:
        raise Violation(f"add_ops on {n} qubits emits a gate outside the neutral set: {e}",
                        "emit only gates from hqnn_core.circuit.GATES; decompose others into them.") from None
    return builder.build()


def _layer(encoder: Encoder, n: int, gradient: str = "backprop"):
    return QuantumLayer(n, encoder=encoder, ansatz={"name": "hardware_efficient", "options": {}}, layers=1,
                        backend=reference_backend(), gradient=gradient, seed=0).double()


@check("encoder")
def check_encoder_qubits_for_features(encoder: Encoder, settings: ConformanceSettings) -> None:
    """``n_features``/``n_encoded`` are positive ints, ``transform`` gives ``n_encoded`` columns, all read by input slots."""
    for n in _qubit_range(encoder):
        nf, ne = encoder.n_features(n), encoder.n_encoded(n)
        for label, value in (("n_features", nf), ("n_encoded", ne)):
            expect(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                   f"{label}({n}) returned {value!r}, not a positive int.", f"return the width as a positive int from {label}.")
        x = sample_inputs(encoder, n, 2, settings.seed)
        out = encoder.transform(x, n)
        expect(tuple(out.shape) == (2, ne), f"transform of (2, {nf}) inputs on {n} qubits has shape {tuple(out.shape)}, "
               f"expected (2, {ne}) = (batch, n_encoded).", "make transform return one column per encoded feature, or fix n_encoded.")
        circuit = _encoder_circuit(encoder, n)
        read = circuit.reads("input")
        expect(read <= set(range(ne)), f"on {n} qubits input slots read encoded columns {sorted(read - set(range(ne)))}, "
               f"beyond n_encoded={ne}.", "read builder.input(i) only for i < n_encoded(n_qubits).")
        expect(read == set(range(ne)), f"on {n} qubits encoded columns {sorted(set(range(ne)) - read)} are never read by a gate, "
               "so those features are silently ignored.", "read every encoded column in add_ops, or lower n_encoded/n_features.")


@check("encoder")
def check_encoder_feature_count_error(encoder: Encoder, settings: ConformanceSettings) -> None:
    """A wrong input width raises ``ValueError`` naming the expected width, and is never silently absorbed.

    Through ``QuantumLayer`` the width is checked against ``n_features``. The encoder's own
    ``check_inputs``/``transform`` must not turn ``n_features + 1`` columns into a valid-looking
    ``(batch, n_encoded)`` result, or ``n_features`` is not the width it really consumes.
    """
    n = _qubit_range(encoder)[-1]
    nf, ne = encoder.n_features(n), encoder.n_encoded(n)
    good = sample_inputs(encoder, n, 2, settings.seed)
    layer = _layer(encoder, n)
    wrong = torch.cat([good, good[:, :1]], dim=1)
    for x in (wrong, good[:, :-1]) if nf > 1 else (wrong,):
        try:
            layer(x)
        except ValueError as e:
            expect(str(nf) in str(e), f"a ({x.shape[0]}, {x.shape[1]}) input raised ValueError without the expected width {nf}: {e}",
                   f"say the expected width in the message, e.g. 'expected {nf} features'.")
        else:
            raise Violation(f"a QuantumLayer accepted {x.shape[1]} features where n_features({n}) = {nf}.",
                            "make n_features return the width the encoder consumes.")
    try:
        encoder.check_inputs(wrong, n)
        out = encoder.transform(wrong, n)
    except ValueError as e:
        expect(str(nf) in str(e), f"{wrong.shape[1]} features raised ValueError without the expected width {nf}: {e}",
               f"say the expected width in the message, e.g. 'expected {nf} features'.")
        return
    except (RuntimeError, IndexError):
        return  # not silent: torch refuses the shape
    expect(tuple(out.shape) != (wrong.shape[0], ne),
           f"transform silently accepts {wrong.shape[1]} features (n_features({n}) = {nf}) and returns a valid-looking "
           f"(batch, {ne}) result, so wrong-width data flows into circuits unnoticed.",
           f"raise ValueError('expected {nf} features, got ...') in check_inputs or transform instead of truncating or padding.")


@check("encoder")
def check_encoder_batch_equals_stacked_singles(encoder: Encoder, settings: ConformanceSettings) -> None:
    """A batch gives the same encoded features and expectations as its rows one at a time."""
    n = _qubit_range(encoder)[min(2, len(_qubit_range(encoder)) - 1)]
    x = sample_inputs(encoder, n, 4, settings.seed)
    batched = encoder.transform(x, n)
    singles = torch.cat([encoder.transform(x[i : i + 1], n) for i in range(x.shape[0])])
    err, where = max_error(batched, singles)
    expect(err <= 1e-12, f"transform of a batch differs from row-by-row transforms by {err:.3g} at {where}.",
           "compute each row from that row only (no batch statistics such as x.max() or normalising across rows).")
    layer = _layer(encoder, n)
    with torch.no_grad():
        out = layer(x)
        stacked = torch.cat([layer(x[i : i + 1]) for i in range(x.shape[0])])
    err, where = max_error(out, stacked)
    expect(err <= 1e-10, f"layer outputs of a batch differ from row-by-row outputs by {err:.3g} at {where}.",
           "compute each row from that row only.")


@check("encoder")
def check_encoder_input_gradients_flow(encoder: Encoder, settings: ConformanceSettings) -> None:
    """Input slots reach ``x.grad``: autograd and parameter-shift gradients equal finite differences."""
    n = _qubit_range(encoder)[min(1, len(_qubit_range(encoder)) - 1)]
    layer = _layer(encoder, n)
    x = sample_inputs(encoder, n, 2, settings.seed + 3)
    k = layer.n_outputs
    loss_weights = torch.linspace(-1.0, 1.5, k, dtype=torch.float64)
    reference = reference_backend()

    def f(rows: torch.Tensor) -> torch.Tensor:  # outputs of the layer at inputs `rows`, bypassing input checks
        return reference.expectations(layer.circuit, layer.slot_values(rows))

    with torch.no_grad():
        fd = fd_jacobian(f, x)  # [B, K, F]
    expected = torch.einsum("k,bkf->bf", loss_weights, fd)
    for gradient in ("backprop", "parameter_shift"):
        gl = _layer(encoder, n, gradient)
        xg = x.clone().requires_grad_(True)
        (gl(xg) * loss_weights).sum().backward()
        expect(xg.grad is not None, f"with gradient={gradient!r} no gradient reached the inputs (x.grad is None).",
               "compute transform in differentiable torch operations (no .detach(), numpy or .item()).")
        assert xg.grad is not None  # expect() above raised otherwise
        err, where = max_error(xg.grad, expected)
        expect(err <= 1e-5, f"with gradient={gradient!r} x.grad differs from finite differences by {err:.3g} at {where} "
               f"(x.grad={xg.grad.tolist()}, expected {expected.tolist()}).",
               "compute transform in differentiable torch operations (no .detach(), numpy or .item()).")


@check("encoder")
def check_encoder_ops_in_neutral_gate_set(encoder: Encoder, settings: ConformanceSettings) -> None:
    """``add_ops`` emits only neutral gates and reads exactly its declared weights (``weights_per_upload``), usually none."""
    for n in _qubit_range(encoder):
        circuit = _encoder_circuit(encoder, n)
        per_upload = encoder.weights_per_upload(n)
        expect(isinstance(per_upload, int) and not isinstance(per_upload, bool) and per_upload >= 0,
               f"weights_per_upload({n}) returned {per_upload!r}, not a non-negative int.", "return the weight count as an int.")
        read, declared = circuit.reads("weight"), set(range(per_upload))
        expect(read <= declared, f"on {n} qubits add_ops reads weights {sorted(read - declared)} beyond the "
               f"{per_upload} declared by weights_per_upload.",
               "use builder.input(i) for features and plain floats for constants; declare trainable encoder weights in weights_per_upload.")
        expect(declared <= read, f"on {n} qubits weights {sorted(declared - read)} are declared but never read, so they never train.",
               "read every declared weight in add_ops, or lower weights_per_upload.")


@check("encoder")
def check_encoder_weight_gradients(encoder: Encoder, settings: ConformanceSettings) -> None:
    """Trainable encoder weights (e.g. input scalings) get backprop and parameter-shift gradients equal to finite differences."""
    n = _qubit_range(encoder)[min(1, len(_qubit_range(encoder)) - 1)]
    if not encoder.weights_per_upload(n):
        return  # a fixed encoding: check_encoder_ops_in_neutral_gate_set has already made sure it reads no weights
    x = sample_inputs(encoder, n, 2, settings.seed + 5)
    reference = reference_backend()
    for gradient in ("backprop", "parameter_shift"):
        layer = _layer(encoder, n, gradient)
        assert layer.encoder_weights is not None
        with torch.no_grad():  # away from the initial values, so a wrong factor cannot hide behind a weight of one
            layer.encoder_weights.copy_(torch.linspace(0.4, 1.6, layer.encoder_weights.numel(), dtype=torch.float64).reshape(layer.encoder_weights.shape))
        start = layer.encoder_weights.detach().clone()

        def f(rows: torch.Tensor, layer=layer, start=start) -> torch.Tensor:  # [M, K]: outputs summed over the batch, per row of encoder weights
            out = []
            with torch.no_grad():
                for w in rows:
                    layer.encoder_weights.copy_(w.reshape(layer.encoder_weights.shape))
                    out.append(reference.expectations(layer.circuit, layer.slot_values(x)).sum(dim=0))
                layer.encoder_weights.copy_(start)
            return torch.stack(out)

        expected = fd_jacobian(f, start.reshape(1, -1))[0].sum(dim=0)  # d(sum of outputs)/dw
        layer.zero_grad()
        layer(x).sum().backward()
        grad = layer.encoder_weights.grad
        expect(grad is not None, f"with gradient={gradient!r} no gradient reached encoder_weights.",
               "form the angles as builder.input(i).times(builder.weight(j)) so the layer's slot values carry them.")
        assert grad is not None
        err, where = max_error(grad.reshape(-1), expected)
        expect(err <= 1e-5, f"with gradient={gradient!r} encoder_weights.grad differs from finite differences by {err:.3g} at {where}.",
               "form the angles from builder.weight(j) of the current upload only.")
