"""Kernel and Born machine profiles described, not built: what ``hqnn validate`` prints, without torch or scikit-learn.

Building a kernel or a Born machine imports torch (and scikit-learn for the kernel's data): seconds.
Validating needs only the circuit's width and gates, the backend's declared capabilities and the
run's row counts. This covers the common case, an exact run on a local backend that returns
statevectors: a kernel's Gram matrices are then one call of one row per point (the fidelity
kernel's ``state`` method, the projected kernel's reduced states), and a Born machine's training
step and final evaluation one call of one row each (its state read with backprop). Anything else
returns ``None`` and the caller builds (``kernel_run.validate_lines``, ``generative.validate_lines``),
which gives the same lines and every error message (tests/training/test_describe_kinds.py checks
both agree).
"""

from __future__ import annotations

from hqnn_core.circuit import Circuit, CircuitBuilder
from hqnn_core.circuit_assembly import build_ansatz_circuit
from hqnn_core.config import KernelConfig, LoadedProfile
from hqnn_core.errors import HQNNError
from hqnn_core.interfaces.capabilities import BackendCapabilities
from hqnn_core.interfaces.layout import BackendLayout, EncoderLayout
from hqnn_core.plugin_manager import get_plugins
from hqnn_core.training.data_summary import DataSummary
from hqnn_core.training.describe import backend_label, jobs_per_call, runs_on
from hqnn_core.training.spec import RunSpec


def describe_kernel(loaded: LoadedProfile, spec: RunSpec, data: DataSummary) -> list[str] | None:
    """``hqnn validate``'s lines for a resolved kernel profile with data of shape ``data``, or ``None`` when it must be built to tell."""
    try:
        return _describe(loaded, spec, data)
    except HQNNError:  # the build raises the same problem with its full message
        return None


def _describe(loaded: LoadedProfile, spec: RunSpec, d: DataSummary) -> list[str] | None:
    p = loaded.profile
    cfg = p.model.kernel or KernelConfig()
    if p.model.kind != "kernel" or p.mitigation or spec.chain is not None or spec.shots is not None:
        return None
    if cfg.type == "fidelity" and cfg.method == "compute_uncompute":
        return None
    plugins = get_plugins()
    encoder = plugins.encoders.layout(spec.encoder.name)(**spec.encoder.options)
    n = spec.n_qubits
    if n < encoder.min_qubits() or encoder.n_features(n) != d.n_features:
        return None
    local = _local_state_backend(spec)
    if local is None:
        return None
    name, caps = local
    if not runs_on(caps, _feature_map(encoder, n), None):
        return None
    rows = {"training": d.n_train, "evaluation": d.n_test + d.n_train}  # K(train, train) and K(test, train): one row per point
    jobs = sum(jobs_per_call(caps, r) for r in rows.values())
    method = ", method state" if cfg.type == "fidelity" else f", gamma {cfg.gamma}"
    return [
        f"  data: {p.data.source}, {d.n_train} train / {d.n_test} test, {d.n_features} features, classes {d.labels}",
        f"  model: {cfg.type} kernel SVC (C={cfg.C}{method}) on {n} qubits ({encoder.name} feature map)",
        f"  backend: {name}, shots None; baseline {'RBF SVC' if p.train.baseline else 'none'}",
        f"  estimated usage: {jobs} jobs, {sum(rows.values())} circuits, 0 shots; limits: jobs {p.limits.max_jobs}, "
        f"shots {p.limits.max_shots}",
        f"  config hash {loaded.config_hash[:16]}",
    ]


def describe_born_machine(loaded: LoadedProfile, spec: RunSpec, data: DataSummary | None) -> list[str] | None:
    """``hqnn validate``'s lines for a resolved Born machine profile (``data``: the data section's shape, ``None`` for
    generated bars and stripes), or ``None`` when it must be built to tell."""
    try:
        return _describe_born(loaded, spec, data)
    except HQNNError:
        return None


def _describe_born(loaded: LoadedProfile, spec: RunSpec, data: DataSummary | None) -> list[str] | None:
    p = loaded.profile
    if p.model.kind != "born_machine" or p.mitigation or spec.chain is not None or spec.shots is not None or spec.optimizer.name != "adam":
        return None
    if spec.gradient is not None and spec.gradient.name != "backprop":  # best reads the state with backprop
        return None
    if data is None:
        assert p.data.pattern_shape is not None  # the schema requires it for bars_and_stripes
        rows, cols = p.data.pattern_shape
        n_bits, n_train = rows * cols, 2**rows + 2**cols - 2  # every distinct pattern once; blank and full are both
    else:
        n_bits, n_train = data.n_features, data.n_train
    n = spec.n_qubits
    ansatz = get_plugins().ansatze.layout(spec.ansatz.name)(**spec.ansatz.options)
    if n != n_bits or n < ansatz.min_qubits():
        return None
    local = _local_state_backend(spec)
    if local is None:
        return None
    name, caps = local
    if not caps.backprop or not runs_on(caps, build_ansatz_circuit(n, ansatz, spec.layers, spec.init == "identity_blocks"), None):
        return None
    steps = p.train.epochs
    calls = steps + 1  # one exact call per training step, one for the final distribution
    return [
        f"  data: {p.data.source}, {n_train} training strings of {n_bits} bits",
        f"  model: born_machine on {n} qubits ({ansatz.name} x{spec.layers}, gradient backprop); "
        f"{spec.layers * ansatz.weights_per_layer(n)} parameters; MMD bandwidths {list(p.model.born_machine.bandwidths)}",
        f"  backend: {name}, shots None; optimizer adam, {steps} steps",
        f"  estimated usage: {calls} jobs, {calls} circuits, 0 shots; limits: jobs {p.limits.max_jobs}, shots {p.limits.max_shots}",
    ]


def _local_state_backend(spec: RunSpec) -> tuple[str, BackendCapabilities] | None:
    """The primary backend's full name and declared capabilities, if it is local, exact and returns states."""
    plugins = get_plugins()
    member = spec.backend
    entry, target = plugins.backends.resolve(member.name)
    if entry.layout is None:
        return None
    backend: BackendLayout = plugins.backends.layout(member.name)(**member.options)
    caps = backend.capabilities_for(target, backend.options)
    if caps.remote or not caps.state:
        return None
    return backend_label(member.name, target), caps


def _feature_map(encoder: EncoderLayout, n_qubits: int) -> Circuit:
    """The encoder's circuit alone (a kernel's feature map has no ansatz), for the backend's gate check."""
    builder = CircuitBuilder(n_qubits)
    encoder.add_ops(builder, list(range(n_qubits)))
    return builder.build(None)


__all__ = ["describe_born_machine", "describe_kernel"]
