"""R11: every bad input of RELIABILITY.md section 5 raises its own hqnn error, naming value and fix, before any backend call."""

from __future__ import annotations

import time
import types

import pytest
import torch
import yaml

import hqnn_core
from hqnn_core import (
    BackendCapabilities,
    CapabilityError,
    CheckpointError,
    ConfigError,
    InputError,
    QuantumLayer,
    UnknownComponentError,
)
from hqnn_core.hookspecs import hookimpl
from hqnn_plugins.torch_backend import TorchBackend

CALLS: list[int] = []


class Recording(TorchBackend):
    """The torch simulator, counting submissions; at most 8 qubits and 1000 shots, like a small device."""

    name = "recording"
    capabilities = BackendCapabilities(max_qubits=8, max_shots=1000, backprop=True, adjoint=True)

    def _run(self, tasks, shots, seed):
        CALLS.append(len(tasks))
        return super()._run(tasks, shots, seed)


@pytest.fixture(autouse=True)
def recording():
    CALLS.clear()
    mod = types.SimpleNamespace(hqnn_register_backends=hookimpl(lambda registry: registry.add_family("recording", Recording)))
    with hqnn_core.temporary_plugin(mod, name="bad-inputs"):
        yield CALLS


def _layer(**kw):
    return QuantumLayer(**{"n_qubits": 4, "backend": "recording:dev", **kw})


def _nan_weights():
    layer = _layer()
    with torch.no_grad():
        next(layer.parameters()).view(-1)[0] = float("nan")
    layer(torch.zeros(2, 4))


LAYER_CASES = [
    # (RELIABILITY.md #, what, callable, error class, substrings of the message)
    (1, "NaN in the input", lambda: _layer()(torch.tensor([[0.1, 0.2, float("nan"), 0.3], [0, 0, 0, float("inf")]])), InputError,
     ["2 non-finite values", "[0, 2]", "normalisation"]),
    (2, "NaN in the weights", _nan_weights, InputError, ["NaN or inf", "lower the learning rate or clip gradients"]),
    (3, "too few features", lambda: _layer()(torch.zeros(2, 3)), InputError, ["expected 4 features", "got 3", "PCA"]),
    (4, "too many features", lambda: _layer()(torch.zeros(2, 5)), InputError, ["expected 4 features", "got 5"]),
    (5, "integer dtype", lambda: _layer()(torch.zeros(2, 4, dtype=torch.int64)), InputError, ["floating-point", "int64", "x.float()"]),
    (5, "3-D input with too few features", lambda: _layer()(torch.zeros(2, 2, 3)), InputError, ["expected 4 features", "got 3", "(2, 2, 3)"]),
    (5, "scalar input", lambda: _layer()(torch.tensor(0.5)), InputError, ["shape (..., 4)", "scalar"]),
    (6, "more qubits than the device", lambda: _layer(n_qubits=12), CapabilityError, ["needs 12 qubits", "at most 8", "hqnn backends"]),
    (7, "zero shots", lambda: _layer(shots=0), ConfigError, ["at least 1, got 0", "shots: null"]),
    (8, "negative shots", lambda: _layer(shots=-5), ConfigError, ["at least 1, got -5"]),
    (8, "float shots", lambda: _layer(shots=1000.0), ConfigError, ["1000.0 of type float", "shots: 1000"]),
    (8, "bool shots", lambda: _layer(shots=True), ConfigError, ["True of type bool"]),
    (8, "string shots", lambda: _layer(shots="1e3"), ConfigError, ["'1e3' of type str"]),
    (9, "shots over the device maximum", lambda: _layer(shots=5000), CapabilityError, ["shots=5000", "maximum of 1000", "lower shots"]),
    (10, "unknown backend", lambda: _layer(backend="recordnig:dev"), UnknownComponentError, ["recordnig", "Did you mean 'recording'"]),
]


@pytest.mark.parametrize(("case", "what", "call", "error", "fragments"), LAYER_CASES, ids=[f"{c[0]}-{c[1]}" for c in LAYER_CASES])
def test_layer_inputs_fail_before_any_backend_call(recording, case, what, call, error, fragments):
    start = time.perf_counter()
    with pytest.raises(error) as info:
        call()
    assert time.perf_counter() - start < 1.0  # the budget is 100 ms; 1 s keeps a loaded CI machine from flaking
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))
    assert isinstance(info.value, hqnn_core.HQNNError) and recording == []


BASE = {"data": {"source": "digits", "classes": [0, 1], "pca": 4, "max_train": 16, "max_test": 8},
        "model": {"quantum": {"n_qubits": 4}}, "backend": {"name": "recording:dev"}, "train": {"epochs": 1}}

PROFILE_CASES = [
    (13, "YAML syntax", "data: {source: digits\nmodel: [", ConfigError, ["profile.yaml:", "YAML syntax error"]),
    (14, "unsafe YAML tag", "data: !!python/object/apply:os.system ['touch {sentinel}']\n", ConfigError, ["unsupported YAML tag", "plain data"]),
    (15, "unknown key", yaml.safe_dump({**BASE, "train": {"epoch": 2}}), ConfigError, ["train.epoch", "did you mean 'epochs'"]),
    (15, "duplicate key", "train: {epochs: 1}\ntrain: {epochs: 2}\n", ConfigError, ["duplicate key 'train'", "keep only one"]),
    (16, "secret-looking key", yaml.safe_dump({**BASE, "backend": {"name": "recording:dev", "options": {"api_key": "x"}}}), ConfigError,
     ["backend.options.api_key", "looks like a credential", "QISKIT_IBM_TOKEN"]),
    (10, "unknown backend in a profile", yaml.safe_dump({**BASE, "backend": {"name": "recordnig:dev"}}), ConfigError,
     ["backend.name", "Did you mean 'recording'"]),
    (8, "shots written as 1e3", yaml.safe_dump({**BASE, "backend": {"name": "recording:dev"}}).replace("name: recording:dev", "name: recording:dev\n  shots: 1e3"),
     ConfigError, ["backend.shots", "'1e3'"]),
    (9, "shots over the device maximum in a profile", yaml.safe_dump({**BASE, "backend": {"name": "recording:dev", "shots": 5000}}), ConfigError,
     ["backend.shots", "5000", "maximum of 1000"]),
]


@pytest.mark.parametrize(("case", "what", "text", "error", "fragments"), PROFILE_CASES, ids=[f"{c[0]}-{c[1]}" for c in PROFILE_CASES])
def test_profiles_fail_before_any_backend_call_or_file_written(recording, tmp_path, case, what, text, error, fragments):
    from hqnn_core.training import train

    sentinel = tmp_path / "sentinel"
    profile = tmp_path / "profile.yaml"
    profile.write_text(text.replace("{sentinel}", str(sentinel)))
    with pytest.raises(error) as info:
        train(profile, out=tmp_path / "run", quiet=True)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))
    assert recording == [] and not (tmp_path / "run").exists() and not sentinel.exists()


def test_checkpoint_from_another_config_is_refused_before_any_call(recording, tmp_path):
    """Case 19: resuming with a changed profile names the hash mismatch and --force (case 20 is in test_training_checkpoints)."""
    from hqnn_core.training import train

    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump(BASE))
    run = train(profile, out=tmp_path / "run", quiet=True)
    done = len(recording)
    other = tmp_path / "q.yaml"
    other.write_text(yaml.safe_dump({**BASE, "model": {"quantum": {"n_qubits": 4, "layers": 2}}}))
    with pytest.raises(CheckpointError, match=r"differs from the profile run .* \(config hash \w+ vs \w+\).*Pass --force"):
        train(other, resume=run.run_dir, quiet=True)
    assert len(recording) == done


@pytest.mark.vendor
def test_no_credentials_for_a_remote_backend_names_the_sources_not_values(recording, monkeypatch, tmp_path):
    """Case 18: Braket without credentials fails once, offline, naming where credentials come from."""
    hqnn_braket = pytest.importorskip("hqnn_braket")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-role lookup over the network
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with hqnn_core.temporary_plugin(hqnn_braket, name="braket", distribution="hqnn"), pytest.raises(hqnn_core.PermanentBackendError) as info:
        hqnn_core.get_backend("braket.aws:arn:aws:braket:::device/quantum-simulator/amazon/sv1")
    message = str(info.value)
    assert "NoCredentialsError" in message and "AWS default chain" in message and "never takes keys as options" in message


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_model_file_with_a_matching_checksum_never_executes(recording, tmp_path):
    """Case 20 / R10 for ``hqnn eval``: the attacker rewrites model.pt and its sha256 in run.json; loading still refuses it."""
    import hashlib
    import json
    import pickle

    from hqnn_core.training import evaluate_run, train

    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump(BASE))
    run = train(profile, out=tmp_path / "run", quiet=True)
    marker = tmp_path / "PWNED"
    model = run.run_dir / "model.pt"
    torch.save({"weights": _Payload(marker)}, model, pickle_module=pickle)
    record = json.loads((run.run_dir / "run.json").read_text())
    record["hybrid"]["weights"]["sha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    (run.run_dir / "run.json").write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match=r"model\.pt"):
        evaluate_run(run.run_dir)
    assert not marker.exists()


def test_no_source_file_loads_checkpoints_without_weights_only():
    """R10's static check: every torch.load in hqnn passes weights_only=True, and nothing says weights_only=False."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("hqnn_core/**/*.py"), *root.glob("plugins/**/*.py"), *root.glob("adapters/**/*.py")]:
        text = path.read_text()
        for m in re.finditer(r"torch\.load\(([^)]*)\)", text):
            if "weights_only=True" not in m.group(1):
                offenders.append(f"{path.relative_to(root)}: {m.group(0)}")
        offenders += [f"{path.relative_to(root)}: weights_only=False" for line in text.splitlines()
                      if re.search(r"weights_only\s*=\s*False", line) and "never" not in line]
    assert offenders == []
