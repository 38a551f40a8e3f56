"""A classifier profile's model described, not built: what ``hqnn validate`` prints, without torch.

Validating needs the model's shape (qubits, gradient, parameter count) and the run's usage (jobs,
circuits, shots), not a torch module. :func:`describe_model` computes them from the components'
torch-free layouts (:mod:`hqnn_core.interfaces.layout`, read through the registries) and the same
circuit the layer builds (:func:`~hqnn_core.circuit_assembly.build_circuit`), counting rows the way
the executor sends them. It covers the common case and returns ``None`` for anything else (a
backend or gradient without a registered layout, mitigation, a retry or fallback chain, a
pretrained front end, or a profile the build would reject): the caller then builds the model, which
gives the same figures and every error message (tests/training/test_describe.py checks both agree).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hqnn_core.circuit import Circuit
from hqnn_core.circuit_assembly import build_circuit, check_init, parse_observables
from hqnn_core.config import FrontEndConfig, HeadConfig, LoadedProfile
from hqnn_core.errors import HQNNError
from hqnn_core.interfaces.capabilities import BackendCapabilities
from hqnn_core.interfaces.layout import BackendLayout, GradientLayout, OptimizerLayout
from hqnn_core.plugin_manager import Plugins, get_plugins
from hqnn_core.training.data_summary import DataSummary
from hqnn_core.training.usage import Usage

if TYPE_CHECKING:
    from hqnn_core.training.prepare import PreparedModel


@dataclass(frozen=True)
class ModelDescription:
    """The model and run a classifier profile describes: what ``hqnn validate`` reports of the built model."""

    n_qubits: int
    encoder: str
    ansatz: str
    layers: int
    gradient: str
    backend: str
    shots: int | None
    parameters: int
    circuit: Circuit
    usage: Usage


def describe_model(loaded: LoadedProfile, data: DataSummary) -> ModelDescription | None:
    """The model and usage of a checked classifier profile for data of shape ``data``, or ``None`` when it must be built to tell."""
    try:
        return _describe(loaded, data, get_plugins())
    except HQNNError:  # the build raises the same problem with its full message
        return None


def built_description(prepared: PreparedModel, usage: Usage) -> ModelDescription:
    """The same description read from a built model (``usage``: its ``training.prepare.estimate``), for what :func:`describe_model` cannot tell."""
    layer = prepared.layer
    parameters = sum(x.numel() for x in prepared.model.parameters())
    return ModelDescription(layer.n_qubits, layer.encoder.name, layer.ansatz.name, layer.layers, layer.gradient.name, layer.backend.full_name,
                            layer.shots, parameters, layer.circuit, usage)


def _describe(loaded: LoadedProfile, data: DataSummary, plugins: Plugins) -> ModelDescription | None:
    p = loaded.profile
    q, b, t = p.model.quantum, p.backend, p.train
    if p.model.kind != "classifier" or p.mitigation or b.fallback or "retry" in b.model_fields_set or b.call_timeout_s is not None:
        return None
    optimizer = plugins.optimizers.layout(t.optimizer.name)(**t.optimizer.options)
    encoder = plugins.encoders.layout(q.encoder.name)(**q.encoder.options)
    ansatz = plugins.ansatze.layout(q.ansatz.name)(**q.ansatz.options)
    n = q.n_qubits
    if any(n < part.min_qubits() for part in (encoder, ansatz)):
        return None
    check_init(q.init, q.layers, encoder.reupload)
    circuit = build_circuit(n, encoder, ansatz, q.layers, parse_observables(q.observables, n), q.init == "identity_blocks")
    backend_entry, target = plugins.backends.resolve(b.name)
    if backend_entry.layout is None:
        return None
    backend = plugins.backends.layout(b.name)(**b.options)
    caps = backend.capabilities_for(target, backend.options)
    if caps.remote or not runs_on(caps, circuit, b.shots):
        return None
    gradient = _gradient(plugins, q.gradient.name, dict(q.gradient.options), backend, circuit, b.shots)
    inputs_need_grad = _front_end_trains(p.model.front_end)
    if gradient is None or inputs_need_grad is None:
        return None
    front = _front_end_parameters(p.model.front_end, data, encoder.n_features(n))
    head = _head_parameters(p.model.head, circuit.n_outputs, data.n_classes)
    if front is None or head is None:
        return None
    trainable = _trainable_slots(circuit, inputs_need_grad)
    per_sample = gradient.rows_per_sample(circuit, trainable) if not gradient.through_backend and any(trainable) else 1
    if per_sample is None:
        return None
    uploads = q.layers if encoder.reupload else 1
    parameters = front + q.layers * ansatz.weights_per_layer(n) + uploads * encoder.weights_per_upload(n) + head  # all trainable
    shots = _budgeted_shots(loaded, data, optimizer, parameters, per_sample, b.shots)
    if shots is False or not runs_on(caps, circuit, shots):
        return None
    usage = _usage(loaded, data, caps, optimizer, parameters, per_sample, shots)
    return ModelDescription(n, encoder.name, ansatz.name, q.layers, gradient.name, backend_label(b.name, target), shots, parameters, circuit,
                            usage)


def backend_label(name: str, target: str | None) -> str:
    """The backend's ``full_name`` as the built backend gives it (``braket.local:sv``), from its profile name and target."""
    return f"{name.partition(':')[0]}:{target}" if target else name


def jobs_per_call(caps: BackendCapabilities, rows: int) -> int:
    """Vendor jobs of one call of ``rows`` circuits (as ``Backend.jobs_for`` counts them)."""
    limit = caps.max_circuits_per_job
    return 1 if not limit else max(1, math.ceil(rows / limit))


def runs_on(caps: BackendCapabilities, circuit: Circuit, shots: int | None) -> bool:
    """Whether the backend's declared capabilities take the circuit at ``shots`` (what ``Backend.validate`` checks)."""
    if circuit.n_qubits > caps.max_qubits or circuit.gate_names - caps.native_gates:
        return False
    if shots is None:
        return caps.analytic
    return caps.shots and (caps.max_shots is None or shots <= caps.max_shots)


def _gradient(plugins: Plugins, name: str, options: dict[str, object], backend: BackendLayout, circuit: Circuit,
              shots: int | None) -> GradientLayout | None:
    """The gradient's layout as the layer would choose it (``best`` through the hook), or ``None``."""
    if name == "best":  # every chooser is asked, as the layer asks them, with the backend's layout (hookspecs.hqnn_choose_gradient)
        try:
            name = plugins.pm.hook.hqnn_choose_gradient(backend=backend, circuit=circuit, shots=shots) or "parameter_shift"
        except AttributeError:  # a chooser that reads more of the backend than its layout holds: build to ask it
            return None
    if plugins.gradients.entry(name).layout is None:
        return None  # its `supports` may need the backend itself
    gradient = plugins.gradients.layout(name)(**options)
    return gradient if gradient.supported_by(backend.capabilities, shots) else None


def _trainable_slots(circuit: Circuit, inputs: bool) -> list[bool]:
    """Slots whose angle reads a weight, or an input when the inputs need gradients (as ``QuantumLayer.trainable_slots``)."""
    wanted = {"weight", "input"} if inputs else {"weight"}
    return [s.source in wanted or any(f.source in wanted for f in s.factors) for s in circuit.slots]


def _front_end_trains(cfg: FrontEndConfig) -> bool | None:
    """Whether the front end has trainable parameters (so the quantum inputs need gradients); ``None`` for pretrained."""
    return None if cfg.kind == "pretrained" else cfg.kind != "none"


def _linear(widths: Sequence[int]) -> int:
    """Parameters of ``Linear`` layers (weights and biases) between consecutive ``widths``."""
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def _front_end_parameters(cfg: FrontEndConfig, data: DataSummary, n_outputs: int) -> int | None:
    """Parameters of the front end ``build_front_end`` makes, or ``None`` where it would reject the data."""
    n_inputs = data.n_features
    if cfg.kind == "none":
        return 0 if n_inputs == n_outputs else None
    if cfg.kind == "mlp":
        return _linear([n_inputs, *cfg.hidden, n_outputs])
    if data.image_shape is None or cfg.kernel_size % 2 == 0:  # an even kernel changes the image size: let the build check it
        return None
    c, h, w = data.image_shape if len(data.image_shape) == 3 else (1, *data.image_shape)
    if c * h * w != n_inputs:
        return None
    channels = [c, *cfg.channels]
    convolutions = sum(a * b * cfg.kernel_size**2 + b for a, b in zip(channels[:-1], channels[1:]))
    for _ in channels[1:]:
        if h >= 2 and w >= 2:
            h, w = h // 2, w // 2
    return convolutions + _linear([channels[-1] * h * w, *cfg.hidden, n_outputs])


def _head_parameters(cfg: HeadConfig, n_inputs: int, n_classes: int) -> int | None:
    """Parameters of the head ``build_head`` makes, or ``None`` where it would reject the shapes."""
    if cfg.kind == "none":
        return 0 if not cfg.hidden and n_inputs == n_classes else None
    return _linear([n_inputs, *cfg.hidden, n_classes])


def _rows(batch: int, per_sample: int, differentiated: bool) -> int:
    return batch * per_sample if differentiated else batch


def _budgeted_shots(loaded: LoadedProfile, data: DataSummary, optimizer: OptimizerLayout, n_params: int, per_sample: int,
                    shots: int | None) -> int | None | bool:
    """The shots per circuit after ``train.shots_per_step`` (as ``training.shots.apply_shot_budget``); ``False`` where it would fail."""
    t = loaded.profile.train
    if t.shots_per_step is None:
        return shots
    rows = data.n_train if optimizer.stepping == "whole_set" else min(t.batch_size, data.n_train)
    circuits = optimizer.evaluations_per_step(n_params) * _rows(rows, per_sample, not optimizer.gradient_free())
    per_circuit = t.shots_per_step // circuits
    if per_circuit < 1:
        return False
    return per_circuit if shots is None else min(shots, per_circuit)


def _batches(n: int, size: int) -> list[int]:
    full, last = divmod(n, size)
    return [size] * full + ([last] if last else [])


def _usage(loaded: LoadedProfile, data: DataSummary, caps: BackendCapabilities, optimizer: OptimizerLayout, n_params: int, per_sample: int,
           shots: int | None) -> Usage:
    """Training and evaluation usage of every epoch, as ``training.budget.estimate_parts`` counts it (no calibration: no mitigators)."""
    t = loaded.profile.train
    def calls(batches: list[int], differentiated: bool) -> Usage:
        total = Usage()
        for batch in batches:
            rows = _rows(batch, per_sample, differentiated)
            total = total + Usage(jobs_per_call(caps, rows), rows, rows * (shots or 0))
        return total

    train = _batches(data.n_train, t.batch_size)
    evaluations = optimizer.evaluations_per_step(n_params)
    if optimizer.stepping == "whole_set":  # each step is one pass over the training set in evaluation batches
        per_epoch = calls(_batches(data.n_train, t.eval_batch_size), False).times(evaluations * optimizer.steps_per_epoch(len(train), n_params))
    else:
        per_epoch = calls(train, not optimizer.gradient_free()).times(evaluations)
    return per_epoch.times(t.epochs) + calls(_batches(data.n_test, t.eval_batch_size), False).times(t.epochs)


__all__ = ["ModelDescription", "backend_label", "built_description", "describe_model", "jobs_per_call", "runs_on"]
