"""``QuantumLayer``: a torch module whose forward pass runs a neutral circuit on any backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable
from hqnn_core.components import ComponentSpec, get_ansatz, get_backend, get_encoder, get_gradient, get_mitigator
from hqnn_core.errors import ConfigError, InputError, UnsupportedError
from hqnn_core.execution import Executor
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.execution.retry import RetryPolicy
from hqnn_core.initialisation import DEFAULT_STD, add_ansatz_layer, check_init, initial_weights
from hqnn_core.interfaces import Ansatz, Backend, Encoder
from hqnn_core.interfaces.backend import check_shots
from hqnn_core.plugin_manager import get_plugins

_SOURCE_CODES = {"input": 0, "weight": 1, "const": 2}


def build_circuit(n_qubits: int, encoder: Encoder, ansatz: Ansatz, layers: int, observables: Sequence[Observable] | None = None,
                  mirrored: bool = False) -> Circuit:
    """Encoder then ``layers`` ansatz layers (re-uploading encoders repeat before every layer; ``mirrored``: odd layers are adjoints)."""
    wires = list(range(n_qubits))
    builder = CircuitBuilder(n_qubits)
    per_layer = ansatz.weights_per_layer(n_qubits)
    for layer in range(layers):
        if layer == 0 or encoder.reupload:
            encoder.add_ops(builder, wires)
        builder.weight_offset = layer * per_layer
        add_ansatz_layer(builder, ansatz, wires, layer, mirrored)
    return builder.build(observables)


def _observables(spec: Sequence[Observable | str] | None, n_qubits: int) -> list[Observable] | None:
    if spec is None:
        return None
    if isinstance(spec, (str, Observable)):
        spec = [spec]
    out = [o if isinstance(o, Observable) else Observable.parse(o) for o in spec]
    if not out:
        raise ConfigError("observables is empty; give at least one, e.g. ['Z0'], or leave it unset for Z on every qubit.")
    return out


class _QuantumFunction(torch.autograd.Function):
    """Bridges non-differentiable backends into autograd with the estimator's Jacobian."""

    @staticmethod
    def forward(ctx: Any, slot_values: torch.Tensor, layer: QuantumLayer, trainable: torch.Tensor) -> torch.Tensor:
        if ctx.needs_input_grad[0] and bool(trainable.any()):
            values, jac = layer.executor.values_and_jacobian(layer.circuit, slot_values, trainable)
            ctx.save_for_backward(jac.to(slot_values.dtype))
        else:
            values = layer.executor.values(layer.circuit, slot_values)
            ctx.save_for_backward(None)
        return values.to(slot_values.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        (jac,) = ctx.saved_tensors
        if jac is None:
            return None, None, None
        return torch.einsum("nk,nks->ns", grad_output, jac.to(grad_output.device)), None, None


class QuantumLayer(nn.Module):
    """A quantum circuit as a torch layer: ``(B, n_features)`` inputs to ``(B, K)`` expectations.

    Every component may be a registered name, ``{"name": ..., "options": {...}}`` or an instance.
    Gradients reach both the weights and the inputs, so classical layers before it train too.

    Args:
        n_qubits: qubits of the circuit.
        encoder: how inputs enter the circuit (``angle``, ``amplitude``, ``basis``, ``iqp``, ``reuploading``).
        ansatz: trainable layers (``hardware_efficient``, ``strongly_entangling``, ``basic_entangler``).
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

    def __init__(
        self,
        n_qubits: int,
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
        init: str = "uniform",
        init_std: float = DEFAULT_STD,
    ) -> None:
        super().__init__()
        if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 1:
            raise ConfigError(f"n_qubits must be a positive integer, got {n_qubits!r}.")
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
            raise ConfigError(f"layers must be a positive integer, got {layers!r}.")
        self.n_qubits, self.layers = n_qubits, layers
        self.shots = check_shots(shots)
        self.encoder = get_encoder(encoder)
        self.ansatz = get_ansatz(ansatz)
        for part in (self.encoder, self.ansatz):
            if n_qubits < part.min_qubits():
                raise ConfigError(f"{part.kind} {part.name!r} needs at least {part.min_qubits()} qubits, got {n_qubits}.")
        self.n_features = self.encoder.n_features(n_qubits)
        check_init(init, layers, self.encoder.reupload)
        self.init, self.init_std = init, init_std
        self.backend: Backend = self._resilient(get_backend(backend, **dict(backend_options or {})), fallback, retry)
        self.circuit = build_circuit(n_qubits, self.encoder, self.ansatz, layers, _observables(observables, n_qubits), init == "identity_blocks")
        self.backend.validate(self.circuit, self.shots)
        self.gradient = self._choose_gradient(gradient)
        self.backend.configure_gradient(self.gradient.name)
        self.mitigators = [get_mitigator(m) for m in mitigation]
        self.executor = Executor(self.backend, self.gradient, self.mitigators, self.shots)

        generator = torch.Generator()
        if seed is None:
            generator.manual_seed(int(torch.randint(0, 2**62, (1,)).item()))
        else:
            generator.manual_seed(seed)
        shape = (layers, self.ansatz.weights_per_layer(n_qubits))
        self.weights = nn.Parameter(initial_weights(init, self.ansatz, shape, generator, torch.get_default_dtype(), init_std))
        self._register_slot_maps()

    @staticmethod
    def _resilient(primary: Backend, fallback: Sequence[ComponentSpec], retry: RetryPolicy | Mapping[str, Any] | None) -> Backend:
        """Wrap the backend in a retrying fallback chain when asked to, and always for remote backends."""
        if not fallback and retry is None and not primary.capabilities.remote:
            return primary
        if isinstance(retry, Mapping):
            retry = RetryPolicy(**retry)
        return FallbackBackend([primary, *(get_backend(f) for f in fallback)], retry)

    def _choose_gradient(self, spec: ComponentSpec) -> Any:
        if spec == "best":
            name = get_plugins().pm.hook.hqnn_choose_gradient(backend=self.backend, circuit=self.circuit, shots=self.shots)
            spec = name or "parameter_shift"
        gradient = get_gradient(spec)
        if not gradient.supports(self.backend, self.circuit, self.shots):
            raise UnsupportedError(gradient.unsupported_reason(self.backend, self.circuit, self.shots) + ".")
        return gradient

    def _register_slot_maps(self) -> None:
        slots = self.circuit.slots
        self.register_buffer("_slot_source", torch.tensor([_SOURCE_CODES[s.source] for s in slots], dtype=torch.long), persistent=False)
        self.register_buffer("_slot_index", torch.tensor([s.index for s in slots], dtype=torch.long), persistent=False)
        self.register_buffer("_slot_coeff", torch.tensor([s.coeff for s in slots], dtype=torch.float64), persistent=False)
        self.register_buffer("_slot_offset", torch.tensor([s.offset for s in slots], dtype=torch.float64), persistent=False)

    @property
    def n_outputs(self) -> int:
        return len(self.circuit.observables)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise InputError(f"QuantumLayer takes a torch.Tensor of shape (batch, {self.n_features}), got {type(x).__name__}.")
        if not torch.is_floating_point(x):
            raise InputError(f"QuantumLayer takes floating-point inputs, got dtype {x.dtype}; convert with x.float().")
        if x.ndim != 2:
            raise InputError(f"QuantumLayer takes inputs of shape (batch, {self.n_features}), got shape {tuple(x.shape)}.")
        if x.shape[1] != self.n_features:
            raise InputError(
                f"expected {self.n_features} features per sample for encoder {self.encoder.name!r} on {self.n_qubits} qubits, "
                f"got {x.shape[1]}. Reduce or pad the features (e.g. PCA) or change n_qubits."
            )
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            first = [int(i) for i in bad.nonzero()[0]]
            raise InputError(f"input batch contains {int(bad.sum())} non-finite values (first at {first}); check data normalisation.")
        if not bool(torch.isfinite(self.weights).all()):
            raise InputError("the layer's weights contain NaN or inf (a diverged optimiser step); lower the learning rate or clip gradients.")
        self.encoder.check_inputs(x, self.n_qubits)
        return x

    def slot_values(self, x: torch.Tensor) -> torch.Tensor:
        """Angles ``[B, n_slots]`` of every gate for inputs ``x``: ``coeff * source[index] + offset``."""
        features = self.encoder.transform(x, self.n_qubits)
        dtype = torch.promote_types(features.dtype, self.weights.dtype)
        features, weights = features.to(dtype), self.weights.reshape(-1).to(dtype)
        src, idx = self._slot_source, self._slot_index
        from_input = features[:, torch.where(src == 0, idx, 0)] if features.shape[1] else features.new_zeros(x.shape[0], len(idx))
        from_weight = weights[torch.where(src == 1, idx, 0)].unsqueeze(0) if weights.numel() else features.new_zeros(1, len(idx))
        base = torch.where(src == 0, from_input, torch.where(src == 1, from_weight, torch.zeros_like(from_input)))
        return base * self._slot_coeff.to(dtype) + self._slot_offset.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check_input(x)
        values = self.slot_values(x)
        if self.gradient.through_backend:
            out = self.executor.values(self.circuit, values)
        else:
            trainable = torch.zeros(self.circuit.n_slots, dtype=torch.bool, device=values.device)
            if x.requires_grad:
                trainable |= self._slot_source == 0
            if self.weights.requires_grad:
                trainable |= self._slot_source == 1
            out = _QuantumFunction.apply(values, self, trainable.cpu())
        return out.to(dtype=x.dtype)

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
        trainable = self._slot_source == 1
        if inputs_need_grad:
            trainable = trainable | (self._slot_source == 0)
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
