"""``QuantumLayer``: a torch module whose forward pass runs a neutral circuit on any backend."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from hqnn_core.circuit import MeasureKind, Measurement, Observable
from hqnn_core.circuit_assembly import build_circuit, check_init, parse_observables
from hqnn_core.components import ComponentSpec, get_ansatz, get_backend, get_encoder, get_gradient, get_mitigator
from hqnn_core.custom_circuit import CircuitAnsatz, CircuitInputs, entries_read, layer_weight_shape, neutral_circuit
from hqnn_core.errors import ConfigError, InputError, UnsupportedError
from hqnn_core.execution import Executor
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.execution.retry import RetryPolicy
from hqnn_core.initialisation import DEFAULT_STD, initial_weights
from hqnn_core.interfaces import Backend
from hqnn_core.interfaces.backend import check_shots
from hqnn_core.plugin_manager import get_plugins

_SOURCE_CODES = {"input": 0, "weight": 1, "const": 2}


def _measurement(measure: str, wires: Sequence[int] | None, observables: object) -> Measurement:
    if measure not in ("expval", "probs", "samples", "state"):
        raise ConfigError(f"measure={measure!r} is not supported; use 'expval' (observables), 'probs' (outcome probabilities), "
                          "'samples' (measured bits, with shots) or 'state' (statevectors, where the backend declares it).")
    if measure != "expval" and observables is not None:
        raise ConfigError(f"observables apply to measure='expval'; with measure={measure!r} choose the measured wires with wires=[...].")
    if measure in ("expval", "state") and wires is not None:
        raise ConfigError("wires= applies to measure='probs' and 'samples'; for expectations choose observables=[...] instead.")
    return Measurement(measure, None if wires is None else tuple(int(w) for w in wires))  # type: ignore[arg-type]


def _check_state(measure: str, backend: Backend, shots: int | None, mitigation: Sequence[object], gradient: ComponentSpec) -> None:
    if measure != "state":
        return
    if not backend.capabilities.state:
        raise ConfigError(f"measure='state' needs a backend that returns statevectors; {backend.full_name!r} does not. "
                          "Use backend='torch', or measure='probs' on this backend.")
    if shots is not None or mitigation:
        raise ConfigError("measure='state' is exact and unmitigated; leave shots and mitigation unset.")
    if gradient not in ("best", "backprop", "adjoint"):
        raise ConfigError(f"a statevector differentiates by backprop; gradient={gradient!r} estimates real expectations only.")


def _check_samples(measure: str, shots: int | None, mitigation: Sequence[object], interpret: object) -> None:
    if measure != "samples":
        return
    if shots is None:
        raise ConfigError("measure='samples' needs shots; set shots to a positive integer (e.g. shots=1000).")
    if mitigation:
        raise ConfigError("mitigators correct expectations, not individual shots; use measure='probs' or 'expval' with mitigation.")
    if interpret is not None:
        raise ConfigError("interpret= applies to measure='probs'; samples are returned as bits.")


class _Samples(torch.autograd.Function):
    """Measured bits as a float tensor whose gradient is refused with a clear error instead of being zero."""

    @staticmethod
    def forward(ctx: Any, bits: torch.Tensor, slot_values: torch.Tensor) -> torch.Tensor:
        return bits.to(slot_values.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[None, None]:
        raise UnsupportedError(
            "samples are not differentiable: a shot's outcome has no gradient. Train on measure='probs' or 'expval' "
            "(with shots for finite-sampling estimates), or compute the loss from samples under torch.no_grad()."
        )


def _interpretation(n_outcomes: int, interpret: Callable[[int], int] | None, output_shape: int | None) -> torch.Tensor | None:
    """The 0/1 matrix ``[2**k, output_shape]`` that sums outcome probabilities into classes (SamplerQNN's ``interpret``)."""
    if interpret is None:
        if output_shape is not None:
            raise ConfigError("output_shape applies with interpret=; without it the outputs are the 2**k probabilities.")
        return None
    if isinstance(output_shape, bool) or not isinstance(output_shape, int) or output_shape < 1:
        raise ConfigError(f"interpret= needs output_shape, the number of classes it maps outcomes to (a positive int), got {output_shape!r}.")
    matrix = torch.zeros(n_outcomes, output_shape, dtype=torch.float64)
    for outcome in range(n_outcomes):
        target = interpret(outcome)
        if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < output_shape:
            raise ConfigError(f"interpret({outcome}) returned {target!r}; it must return an int in 0..{output_shape - 1}.")
        matrix[outcome, target] = 1.0
    return matrix


class _QuantumFunction(torch.autograd.Function):
    """Bridges non-differentiable backends into autograd with the estimator's Jacobian.

    Under ``create_graph=True`` the backward builds that Jacobian from rows evaluated through this same
    bridge, so its own derivative is the estimator's rule applied again (second-order parameter-shift,
    differences of differences); estimators that cannot do that raise :class:`UnsupportedError` instead.
    """

    @staticmethod
    def forward(ctx: Any, slot_values: torch.Tensor, layer: QuantumLayer, trainable: torch.Tensor) -> torch.Tensor:
        ctx.layer, ctx.trainable = layer, trainable
        if ctx.needs_input_grad[0] and bool(trainable.any()):
            values, jac = layer.executor.values_and_jacobian(layer.circuit, slot_values, trainable)
            ctx.save_for_backward(jac.to(slot_values.dtype), slot_values)
        else:
            values = layer.executor.values(layer.circuit, slot_values)
            ctx.save_for_backward(None, None)
        return values.to(slot_values.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        jac, slot_values = ctx.saved_tensors
        if jac is None:
            return None, None, None
        if torch.is_grad_enabled():  # create_graph=True: a higher derivative will differentiate this Jacobian
            layer: QuantumLayer = ctx.layer
            jac = layer.executor.jacobian_with_graph(
                layer.circuit, slot_values, ctx.trainable, lambda rows: _QuantumFunction.apply(rows, layer, ctx.trainable))
        return torch.einsum("nk,nks->ns", grad_output, jac.to(grad_output.device)), None, None


class _FirstOrderOnly(torch.autograd.Function):
    """Identity that refuses a differentiable backward: for backends whose own gradients are first-order only,
    a ``create_graph=True`` pass would otherwise drop the backend's second-order terms without a word."""

    @staticmethod
    def forward(ctx: Any, out: torch.Tensor, message: str) -> torch.Tensor:
        ctx.message = message
        return out.view_as(out)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        if torch.is_grad_enabled():
            raise UnsupportedError(ctx.message)
        return grad, None


class QuantumLayer(nn.Module):
    """A quantum circuit as a torch layer: ``(..., n_features)`` inputs to ``(..., K)`` expectations.

    Every component may be a registered name, ``{"name": ..., "options": {...}}`` or an instance.
    Inputs may have any leading shape, as for ``nn.Linear``: ``(n_features,)`` gives ``(K,)``.
    Gradients reach both the weights and the inputs, so classical layers before it train too;
    second derivatives (``create_graph=True``) are exact with ``backprop``/``adjoint`` on the torch
    backends and with ``parameter_shift``, approximate with ``finite_diff``; ``spsa`` raises.

    Args:
        n_qubits: qubits of the circuit.
        encoder: how inputs enter the circuit (``angle``, ``amplitude``, ``basis``, ``iqp``, ``reuploading``).
        ansatz: trainable layers (``hardware_efficient``, ``strongly_entangling``, ``basic_entangler``, ``separable``).
        layers: how many ansatz layers.
        backend: where circuits run (``torch`` by default; ``qiskit.aer``, ``pennylane:<device>``...).
        gradient: ``best`` (backprop where the backend allows, else parameter-shift) or an estimator name.
        shots: ``None`` for exact expectations, or samples per circuit.
        observables: Pauli observables (``"Z0"``, ``"0.5*X0X1"``...); default ``Z`` on each qubit.
        mitigation: error mitigators applied in order around every backend call.
        fallback: backends to move to when the primary keeps failing (see ``FallbackBackend``).
        retry: a ``RetryPolicy`` (or its fields) for transient errors; remote backends always get one.
        seed: seeds the initial weights (otherwise torch's global generator decides).
        backend_options: options passed to the backend.
        measure: ``"expval"`` (the observables' expectations), ``"probs"`` (outcome probabilities of
            ``wires``, ``2**k`` outputs, the first wire the most significant bit) or ``"samples"``
            (``(B, shots, k)`` measured bits; needs shots; not differentiable), every backend; or ``"state"``
            (complex statevectors ``(B, 2**n)``, differentiable, where the backend declares ``state``: ``torch``).
        wires: the wires measured by ``"probs"`` and ``"samples"`` (default: all).
        interpret: maps an outcome index to a class (like Qiskit ML's SamplerQNN); the layer then
            returns ``output_shape`` class probabilities, each the sum over its outcomes.
        output_shape: the number of classes ``interpret`` maps to.
        circuit: your own circuit instead of ``encoder``/``ansatz``/``layers``: an hqnn :class:`Circuit`
            (its ``x[i]`` are the features, its ``w[j]`` the weights), a Qiskit ``QuantumCircuit``
            (with ``inputs=`` and ``weights=``: its Parameters or ParameterVectors, in order), or
            OpenQASM 3 text (``weights=``: the ``input float`` names that are trainable), or a PennyLane
            QNode called as ``qnode(inputs, **weights)`` (with ``inputs=`` and ``weight_shapes=``).
        weight_shapes: the shape of the circuit's weights as a tensor (row-major over ``w[0], w[1], ...``);
            for a PennyLane QNode, TorchLayer's ``{name: shape}`` of its weight arguments.
        inputs: with a Qiskit circuit, the parameters that are features; with a QNode, how many features.
        weights: with a Qiskit circuit, the parameters that are trained (with QASM, their names).
        init: starting weights: ``uniform`` (the ansatz's own), ``normal`` (small angles, ``init_std``), ``zeros``,
            or ``identity_blocks`` (layer pairs that start as the identity; see :mod:`hqnn_core.initialisation`).
        init_std: standard deviation of the ``normal`` strategy.

    Example:
        >>> layer = QuantumLayer(n_qubits=2, layers=1, seed=0)
        >>> layer(torch.zeros(3, 2)).shape
        torch.Size([3, 2])
    """

    # buffers registered in __init__ (declared for type checkers: nn.Module.__getattr__ is untyped)
    _slot_source: torch.Tensor
    _slot_index: torch.Tensor
    _slot_coeff: torch.Tensor
    _slot_offset: torch.Tensor
    _factor_source: torch.Tensor
    _factor_index: torch.Tensor
    _factor_coeff: torch.Tensor
    _factor_offset: torch.Tensor
    _slot_const: torch.Tensor
    encoder_weights: nn.Parameter | None

    def __init__(
        self,
        n_qubits: int | None = None,
        encoder: ComponentSpec = "angle",
        ansatz: ComponentSpec = "hardware_efficient",
        layers: int = 1,
        backend: ComponentSpec = "torch",
        gradient: ComponentSpec = "best",
        shots: int | None = None,
        observables: Sequence[Observable | str] | None = None,
        mitigation: Sequence[ComponentSpec] = (),
        seed: int | None = None,
        backend_options: Mapping[str, Any] | None = None,
        fallback: Sequence[ComponentSpec] = (),
        retry: RetryPolicy | Mapping[str, Any] | None = None,
        measure: MeasureKind = "expval",
        wires: Sequence[int] | None = None,
        interpret: Callable[[int], int] | None = None,
        output_shape: int | None = None,
        circuit: Any = None,
        weight_shapes: int | Sequence[int] | Mapping[str, int | Sequence[int]] | None = None,
        inputs: Any = None,
        weights: Any = None,
        init: str = "uniform",
        init_std: float = DEFAULT_STD,
    ) -> None:
        super().__init__()
        if circuit is not None:  # the user's own circuit: its inputs and weights become the encoder and a one-layer ansatz
            own = neutral_circuit(circuit, inputs, weights, weight_shapes)
            n_qubits = own.n_qubits if n_qubits is None else n_qubits
            if layers != 1:
                raise ConfigError(f"layers={layers}: a circuit given as circuit= is one layer; leave layers at 1 (repeat gates in the circuit).")
            if n_qubits != own.n_qubits:
                raise ConfigError(f"n_qubits={n_qubits} but the circuit has {own.n_qubits} qubits; leave n_qubits out.")
            encoder, ansatz = CircuitInputs(n_inputs=entries_read(own, "input")), CircuitAnsatz(own)
            observables = observables if observables is not None or measure != "expval" else list(own.observables)
        elif weight_shapes is not None or inputs is not None or weights is not None:
            raise ConfigError("weight_shapes=, inputs= and weights= describe a circuit given with circuit=...; pass one.")
        if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 1:
            raise ConfigError(f"n_qubits must be a positive integer, got {n_qubits!r}.")
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
            raise ConfigError(f"layers must be a positive integer, got {layers!r}.")
        self.n_qubits, self.layers = n_qubits, layers
        shots = check_shots(shots)
        self.encoder = get_encoder(encoder)
        self.ansatz = get_ansatz(ansatz)
        for part in (self.encoder, self.ansatz):
            if n_qubits < part.min_qubits():
                raise ConfigError(f"{part.kind} {part.name!r} needs at least {part.min_qubits()} qubits, got {n_qubits}.")
        self.n_features = self.encoder.n_features(n_qubits)
        check_init(init, layers, self.encoder.reupload)
        self.init, self.init_std = init, init_std
        self.backend: Backend = self._resilient(get_backend(backend, **dict(backend_options or {})), fallback, retry)
        self.circuit = build_circuit(n_qubits, self.encoder, self.ansatz, layers, parse_observables(observables, n_qubits),
                                     init == "identity_blocks")
        self.circuit = self.circuit.with_measurement(_measurement(measure, wires, observables))
        _check_samples(measure, shots, mitigation, interpret)
        _check_state(measure, self.backend, shots, mitigation, gradient)
        self.interpretation = _interpretation(self.circuit.n_outputs, interpret, output_shape)
        self.backend.validate(self.circuit, shots)
        self.gradient = self._choose_gradient(gradient, shots)
        self.backend.configure_gradient(self.gradient.name)
        self.mitigators = [get_mitigator(m) for m in mitigation]
        self.executor = Executor(self.backend, self.gradient, self.mitigators, shots)

        generator = torch.Generator()
        if seed is None:
            generator.manual_seed(int(torch.randint(0, 2**62, (1,)).item()))
        else:
            generator.manual_seed(seed)
        shape = (layers, self.ansatz.weights_per_layer(n_qubits))
        self.weights = nn.Parameter(initial_weights(init, self.ansatz, shape, generator, torch.get_default_dtype(), init_std))
        uploads = layers if self.encoder.reupload else 1
        encoder_shape = (uploads, self.encoder.weights_per_upload(n_qubits))
        encoder_weights = self.encoder.init_weights(encoder_shape, generator, torch.get_default_dtype()) if encoder_shape[1] else None
        self.encoder_weights = None if encoder_weights is None else nn.Parameter(encoder_weights)
        if weight_shapes is not None:  # the circuit's flat weights w[j] as the user's shape (row-major), like TorchLayer's
            user_shape = layer_weight_shape(weight_shapes)
            assert user_shape is not None
            if math.prod(user_shape) != self.weights.numel():
                raise ConfigError(
                    f"weight_shapes={user_shape} holds {math.prod(user_shape)} weights; the circuit reads {self.weights.numel()} (w[0]..)."
                )
            self.weights = nn.Parameter(self.weights.detach().reshape(user_shape))
        self._register_slot_maps()

    @staticmethod
    def _resilient(primary: Backend, fallback: Sequence[ComponentSpec], retry: RetryPolicy | Mapping[str, Any] | None) -> Backend:
        """Wrap the backend in a retrying fallback chain when asked to, and always for remote backends (unless it is a chain already)."""
        if not fallback and retry is None and (not primary.capabilities.remote or isinstance(primary, FallbackBackend)):
            return primary
        if isinstance(retry, Mapping):
            retry = RetryPolicy(**retry)
        return FallbackBackend([primary, *(get_backend(f) for f in fallback)], retry)

    def _choose_gradient(self, spec: ComponentSpec, shots: int | None) -> Any:
        if spec == "best":
            name = get_plugins().pm.hook.hqnn_choose_gradient(backend=self.backend, circuit=self.circuit, shots=shots)
            spec = name or "parameter_shift"
        gradient = get_gradient(spec)
        if not gradient.supports(self.backend, self.circuit, shots):
            raise UnsupportedError(gradient.unsupported_reason(self.backend, self.circuit, shots) + ".")
        return gradient

    @property
    def shots(self) -> int | None:
        """Shots per circuit, or None for exact expectations (the executor's: ``layer.executor.set_shots`` changes them)."""
        return self.executor.shots

    def _register_slot_maps(self) -> None:
        slots = self.circuit.slots
        self.register_buffer("_slot_source", torch.tensor([_SOURCE_CODES[s.source] for s in slots], dtype=torch.long), persistent=False)
        self.register_buffer("_slot_index", torch.tensor([s.index for s in slots], dtype=torch.long), persistent=False)
        self.register_buffer("_slot_coeff", torch.tensor([s.coeff for s in slots], dtype=torch.float64), persistent=False)
        self.register_buffer("_slot_offset", torch.tensor([s.offset for s in slots], dtype=torch.float64), persistent=False)
        # further factors as [n_slots, most factors] tables; "const" pads a slot with fewer (it multiplies by 1)
        width = max((len(s.factors) for s in slots), default=0)
        # (code, index, coeff, offset) per factor; a const entry (coeff 1, offset 0) pads slots with fewer: a factor of 1
        rows = [[(_SOURCE_CODES[f.source], f.index, f.coeff, f.offset) for f in s.factors] + [(_SOURCE_CODES["const"], 0, 1.0, 0.0)]
                * (width - len(s.factors)) for s in slots]
        table = torch.tensor(rows, dtype=torch.float64).reshape(len(slots), width, 4)
        self.register_buffer("_factor_source", table[..., 0].long(), persistent=False)
        self.register_buffer("_factor_index", table[..., 1].long(), persistent=False)
        self.register_buffer("_factor_coeff", table[..., 2], persistent=False)
        self.register_buffer("_factor_offset", table[..., 3], persistent=False)
        # what a "const" base reads: 1 when factors follow (coeff * prod(factors) + offset), else 0 (the offset alone)
        self.register_buffer("_slot_const", torch.tensor([1.0 if s.factors else 0.0 for s in slots], dtype=torch.float64), persistent=False)

    def trainable_slots(self, inputs: bool, weights: bool) -> torch.Tensor:
        """Slots whose angle depends on the inputs (when ``inputs``) or on the weights (when ``weights``)."""
        codes = [_SOURCE_CODES[name] for name, wanted in (("input", inputs), ("weight", weights)) if wanted]
        wanted_codes = torch.tensor(codes, dtype=torch.long, device=self._slot_source.device)
        return torch.isin(self._slot_source, wanted_codes) | torch.isin(self._factor_source, wanted_codes).any(dim=1)

    def _all_weights(self) -> torch.Tensor:
        """The ansatz's weights then the encoder's, flat, in the order weight slots number them."""
        flat = self.weights.reshape(-1)
        return flat if self.encoder_weights is None else torch.cat([flat, self.encoder_weights.reshape(-1).to(flat.dtype)])

    @property
    def n_outputs(self) -> int:
        """Outputs per sample: observables, ``2**k`` probabilities, or ``output_shape`` classes under ``interpret``."""
        return self.circuit.n_outputs if self.interpretation is None else int(self.interpretation.shape[1])

    def _interpret(self, out: torch.Tensor) -> torch.Tensor:
        if self.interpretation is None:
            return out
        return out @ self.interpretation.to(dtype=out.dtype, device=out.device)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Checks ``(..., n_features)`` inputs and returns them as rows ``(M, n_features)``."""
        if not isinstance(x, torch.Tensor):
            raise InputError(f"QuantumLayer takes a torch.Tensor of shape (..., {self.n_features}), got {type(x).__name__}.")
        if not torch.is_floating_point(x):
            raise InputError(f"QuantumLayer takes floating-point inputs, got dtype {x.dtype}; convert with x.float().")
        if x.ndim == 0:
            raise InputError(f"QuantumLayer takes inputs of shape (..., {self.n_features}), got a scalar; pass a tensor of features.")
        if x.shape[-1] != self.n_features:
            raise InputError(
                f"expected {self.n_features} features per sample for encoder {self.encoder.name!r} on {self.n_qubits} qubits, "
                f"got {x.shape[-1]} (the last dimension of shape {tuple(x.shape)}). Reduce or pad the features (e.g. PCA) or change n_qubits."
            )
        if not torch.compiler.is_compiling():  # data-dependent checks break a compiled graph; the compiled torch backend checks its rows
            bad = ~torch.isfinite(x)
            if bool(bad.any()):
                first = [int(i) for i in bad.nonzero()[0]]
                raise InputError(f"input batch contains {int(bad.sum())} non-finite values (first at {first}); check data normalisation.")
            if not bool(torch.isfinite(self.weights).all()):
                raise InputError("the layer's weights contain NaN or inf (a diverged optimiser step); lower the learning rate or clip gradients.")
        rows = x.reshape(x.shape[:-1].numel(), self.n_features)  # not -1: a circuit without inputs has 0 features
        self.encoder.check_inputs(rows, self.n_qubits)
        return rows

    def slot_values(self, x: torch.Tensor) -> torch.Tensor:
        """Angles ``[B, n_slots]`` of every gate for inputs ``x``: ``coeff * source[index] * factors + offset``."""
        features = self.encoder.transform(x, self.n_qubits)
        dtype = torch.promote_types(features.dtype, self.weights.dtype)
        features, weights = features.to(dtype), self._all_weights().to(dtype)

        def read(src: torch.Tensor, idx: torch.Tensor, const: torch.Tensor) -> torch.Tensor:  # const: what a "const" entry reads
            from_input = features[:, torch.where(src == 0, idx, 0)] if features.shape[1] else features.new_zeros(x.shape[0], len(idx))
            from_weight = weights[torch.where(src == 1, idx, 0)].unsqueeze(0) if weights.numel() else features.new_zeros(1, len(idx))
            return torch.where(src == 0, from_input, torch.where(src == 1, from_weight, const.to(dtype).expand_as(from_input)))

        base = read(self._slot_source, self._slot_index, self._slot_const)
        for k in range(self._factor_source.shape[1]):
            factor = read(self._factor_source[:, k], self._factor_index[:, k], torch.ones_like(self._slot_const))
            base = base * (factor * self._factor_coeff[:, k].to(dtype) + self._factor_offset[:, k].to(dtype))
        return base * self._slot_coeff.to(dtype) + self._slot_offset.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Expectations ``(..., K)`` for inputs ``(..., n_features)``."""
        leading = x.shape[:-1] if isinstance(x, torch.Tensor) else ()
        x = self._check_input(x)
        if not x.shape[0]:  # an empty batch runs nothing; its empty result stays in the graph (zero gradients), as nn.Linear's
            return (x.sum() + self.weights.sum().to(x.dtype)) * x.new_zeros(*leading, self.n_outputs)
        values = self.slot_values(x)
        if self.circuit.measurement.kind == "state":
            states = self.backend.states(self.circuit, values)
            return states.reshape(*leading, states.shape[-1])
        if self.circuit.measurement.kind == "samples":
            samples = _Samples.apply(self.executor.samples(self.circuit, values), values)
            return samples.reshape(*leading, *samples.shape[1:])
        if self.gradient.through_backend:
            out = self.executor.values(self.circuit, values)
            if out.requires_grad and not self.backend.capabilities.higher_order:
                out = _FirstOrderOnly.apply(out, f"backend {self.backend.full_name!r} differentiates with {self.gradient.name!r} "
                                            "to first order only, so create_graph=True (a second derivative, a gradient penalty) "
                                            "cannot be honoured; use gradient='parameter_shift' or the torch backend.")
        else:
            weights_need_grad = self.weights.requires_grad or (self.encoder_weights is not None and self.encoder_weights.requires_grad)
            trainable = self.trainable_slots(x.requires_grad, weights_need_grad)
            out = _QuantumFunction.apply(values, self, trainable.cpu())
        out = self._interpret(out)
        return out.to(dtype=x.dtype).reshape(*leading, out.shape[-1])

    def describe(self) -> dict[str, Any]:
        """How this layer is built, for run records and reloading."""
        return {
            "n_qubits": self.n_qubits,
            "layers": self.layers,
            "encoder": self.encoder.config(),
            "ansatz": self.ansatz.config(),
            "init": self.init,
            "gradient": self.gradient.config(),
            "shots": self.shots,
            "observables": [str(o) for o in self.circuit.observables],
            "mitigation": [m.config() for m in self.mitigators],
            "backend": self.backend.describe(),
            "n_weights": self.weights.numel(),
            "n_slots": self.circuit.n_slots,
        }

    def draw(self, max_width: int | None = None) -> str:
        """The layer's circuit as a text diagram (``x[i]`` are encoded inputs, ``w[i]`` the layer's weights)."""
        return self.circuit.draw(max_width)

    def specs(self, batch_size: int = 32, inputs_need_grad: bool = False) -> dict[str, Any]:
        """The circuit's specs plus what one training step of ``batch_size`` costs on this layer's backend.

        ``circuits`` counts every gradient shift and mitigation circuit the executor sends in the
        step's single backend call; ``jobs`` is how many vendor jobs the backend splits that into.
        """
        trainable = self.trainable_slots(inputs_need_grad, True)
        circuits = self.executor.circuits_per_call(self.circuit, batch_size, trainable.cpu())
        return {
            **self.circuit.specs(),
            "backend": self.backend.full_name,
            "gradient": self.gradient.name,
            "shots": self.shots,
            "per_training_step": {
                "batch_size": batch_size,
                "circuits": circuits,
                "shots": circuits * (self.shots or 0),
                "jobs": self.backend.jobs_for(circuits),
            },
        }

    def extra_repr(self) -> str:
        return (
            f"n_qubits={self.n_qubits}, encoder={self.encoder.name!r}, ansatz={self.ansatz.name!r}, layers={self.layers}, "
            f"backend={self.backend.full_name!r}, gradient={self.gradient.name!r}, shots={self.shots}"
        )
