"""Run profiles: strict loading, one clear error per malformed profile, overrides, TOML = YAML, schema docs."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from hqnn_core.config import (
    ConfigError,
    Profile,
    apply_overrides,
    iter_fields,
    load_profile,
    schema_markdown,
    validate_profile,
)
from hqnn_core.errors import HQNNError
from hqnn_core.training.validate import check_components

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
LINSEP = DATASETS / "qml_benchmarks" / "linearly_separable" / "linearly_separable_4d.npz"

BASE = {
    "data": {"source": "digits", "classes": [0, 1], "pca": 4, "max_train": 40, "max_test": 20},
    "model": {"quantum": {"n_qubits": 4, "layers": 1}},
    "backend": {"name": "torch"},
    "train": {"epochs": 1, "batch_size": 20},
}


def _with(patch: dict) -> dict:
    """BASE with ``{"a.b": value}`` keys set (``None`` deletes)."""
    out = copy.deepcopy(BASE)
    for path, value in patch.items():
        keys = path.split(".")
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return out


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


BASE_TEXT = _yaml(BASE)

# (id, profile text, fragments the message must contain: key path, value/type, fix)
MALFORMED = [
    ("unknown-key", _yaml(_with({"train.epochz": 3})), ["train.epochz", "did you mean 'epochs'"]),
    ("key-in-wrong-section", _yaml({**BASE, "epochs": 3}), ["epochs", "belongs at train.epochs"]),
    ("shots-1e3-string", BASE_TEXT.replace("name: torch", "name: torch\n  shots: 1e3"), ["backend.shots", "'1e3'", "str", "shots: 1000"]),
    ("shots-float", BASE_TEXT.replace("name: torch", "name: torch\n  shots: 1000.0"), ["backend.shots", "float", "shots: 1000"]),
    ("shots-bool", BASE_TEXT.replace("name: torch", "name: torch\n  shots: true"), ["backend.shots", "bool", "not 1e3, 1000.0 or true"]),
    ("shots-zero", BASE_TEXT.replace("name: torch", "name: torch\n  shots: 0"), ["backend.shots", "at least 1", "shots: null"]),
    ("backend-no-as-bool", BASE_TEXT.replace("backend:\n  name: torch", "backend: no"), ["backend", "boolean False", "Quote it"]),
    ("duplicate-key", BASE_TEXT.replace("  epochs: 1\n", "  epochs: 1\n  epochs: 2\n"), ["duplicate key 'epochs'", "first defined on line", "keep only one"]),
    ("yaml-syntax", BASE_TEXT.replace("pca: 4", "pca: [4"), ["bad.yaml:7:", "YAML syntax error", "Fix the syntax"]),
    ("unsafe-tag", BASE_TEXT + "description: !!python/object/apply:os.system ['touch PWNED']\n", ["unsupported YAML tag", "python/object/apply", "Remove the tag"]),
    ("credential-key", _yaml(_with({"backend.options": {"token": "hunter2-secret-value"}})), ["backend.options.token", "credential", "QISKIT_IBM_TOKEN"]),
    ("unknown-backend", _yaml(_with({"backend.name": "toch"})), ["backend.name", "'toch'", "Did you mean 'torch'"]),
    ("unknown-encoder", _yaml(_with({"model.quantum.encoder": "angel"})), ["model.quantum.encoder.name", "Did you mean 'angle'"]),
    ("encoder-option-typo", _yaml(_with({"model.quantum.encoder": {"name": "angle", "options": {"rotatoin": "X"}}})),
     ["model.quantum.encoder.options.rotatoin", "did you mean 'rotation'"]),
    ("unknown-optimizer", _yaml(_with({"train.optimizer": "adma"})), ["train.optimizer.name", "Did you mean 'adam'"]),
    ("optimizer-option-typo", _yaml(_with({"train.optimizer": {"name": "sgd", "options": {"momentun": 0.9}}})),
     ["train.optimizer.options.momentun", "did you mean 'momentum'"]),
    ("epochs-zero", _yaml(_with({"train.epochs": 0})), ["train.epochs", "greater than or equal to 1", "0 (int)"]),
    ("lr-quoted", _yaml(_with({"train.lr": "0.01"})), ["train.lr", "'0.01' (str)", "without quotes"]),
    ("npz-without-path", _yaml(_with({"data.source": "npz", "data.classes": None, "data.pca": None})), ["data.path", "set data.path"]),
    ("missing-file", _yaml(_with({"data.source": "npz", "data.path": "nowhere/x.npz", "data.classes": None, "data.pca": None})),
     ["data.path", "does not exist", "fix the path"]),
    ("front-end-pca", _yaml(_with({"model.front_end": {"kind": "pca"}})), ["model.front_end.kind", "'pca'", "data.pca"]),
    ("features-mismatch", _yaml(_with({"data.pca": 6})), ["model.front_end.kind", "6 data features", "set data.pca: 4"]),
    ("class-not-in-data", _yaml(_with({"data.classes": [0, 11]})), ["data.classes", "[11]", "labels present"]),
    ("bad-observable", _yaml(_with({"model.quantum.observables": ["Q0"]})), ["model.quantum", "'Q0'", "Pauli letters"]),
    ("missing-section", _yaml({k: v for k, v in BASE.items() if k != "model"}), ["model", "required key is missing"]),
    ("angle-range-reversed", _yaml(_with({"data.angle_range": [3.0, 0.0]})), ["data.angle_range", "low < high"]),
]


@pytest.mark.parametrize(("text", "fragments"), [pytest.param(t, f, id=i) for i, t, f in MALFORMED])
def test_malformed_profile_gives_one_clear_error_and_writes_nothing(tmp_path, monkeypatch, text, fragments):
    from hqnn_core.training import train

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        train(path, out=tmp_path / "out", quiet=True)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message, f"one clear message, not a list: {message}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"
    assert "hunter2" not in message  # a credential's value is never echoed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]  # no run directory, no runs/, nothing trained
    assert not (tmp_path / "PWNED").exists()


def test_malformed_table_is_big_enough():
    assert len(MALFORMED) >= 15


def test_valid_base_profile_passes(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(BASE_TEXT)
    loaded = load_profile(path)
    check_components(loaded)
    assert loaded.profile.backend.shots is None and loaded.profile.train.epochs == 1
    assert loaded.base_dir == tmp_path.resolve()


def test_set_overrides_values_and_are_validated_the_same_way(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(BASE_TEXT)
    loaded = load_profile(path, ["train.epochs=3", "backend.shots=500", "model.quantum.encoder.options.rotation=X", "data.classes=[1, 0]"])
    p = loaded.profile
    assert p.train.epochs == 3 and p.backend.shots == 500 and p.data.classes == [1, 0]
    assert p.model.quantum.encoder.name == "angle" and p.model.quantum.encoder.options == {"rotation": "X"}  # shorthand gained options
    assert loaded.overrides == ["train.epochs=3", "backend.shots=500", "model.quantum.encoder.options.rotation=X", "data.classes=[1, 0]"]
    with pytest.raises(ConfigError, match=r"backend\.shots: .*'1e3'.*\(from --set backend\.shots=1e3\)"):
        load_profile(path, ["backend.shots=1e3"])
    with pytest.raises(ConfigError, match=r"train\.epochz.*did you mean 'epochs'.*--set train\.epochz=2"):
        load_profile(path, ["train.epochz=2"])
    with pytest.raises(ConfigError, match=r"write KEY\.PATH=VALUE"):
        load_profile(path, ["train.epochs"])
    swapped = load_profile(path, ["backend.name=qiskit.aer"])
    with pytest.raises(HQNNError, match=r'backend\.name.*hqnn\[qiskit\]'):  # unknown or missing SDK: the error names the extra
        check_components(swapped)


def test_override_into_string_shorthand_section():
    raw = apply_overrides({"backend": "torch"}, ["backend.shots=100"])
    assert raw == {"backend": {"name": "torch", "shots": 100}}


def test_toml_and_yaml_give_the_same_profile(tmp_path):
    toml = """
[data]
source = "digits"
classes = [0, 1]
pca = 4
max_train = 40
max_test = 20

[model.quantum]
n_qubits = 4
layers = 1

[backend]
name = "torch"

[train]
epochs = 1
batch_size = 20
"""
    (tmp_path / "p.toml").write_text(toml)
    (tmp_path / "p.yaml").write_text(BASE_TEXT)
    a, b = load_profile(tmp_path / "p.toml"), load_profile(tmp_path / "p.yaml")
    assert a.profile == b.profile and a.config_hash == b.config_hash
    assert a.file_sha256 != b.file_sha256  # the file hash is of the bytes; the config hash of the meaning


def test_toml_errors_name_line_and_duplicate_keys(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[train]\nepochs = 1\nepochs = 2\n')
    with pytest.raises(ConfigError, match=r"p\.toml:3:\d+: TOML syntax error"):
        load_profile(path)
    path.write_text('[train]\nepochs = "3"\n[data]\nsource = "digits"\n[model.quantum]\nn_qubits = 2\n')
    with pytest.raises(ConfigError, match=r"train\.epochs: expected an integer, got '3' \(str\)"):
        load_profile(path)


def test_config_hash_ignores_limits_output_and_description(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(BASE_TEXT)
    base = load_profile(path).config_hash
    assert load_profile(path, ["limits.max_jobs=5", "output.runs_dir=elsewhere", "description=x"]).config_hash == base
    assert load_profile(path, ["train.lr=0.02"]).config_hash != base


def test_relative_paths_resolve_against_the_profile_and_datasets_variable(tmp_path, monkeypatch):
    from hqnn_core.training import load_dataset

    folder = tmp_path / "profiles"
    folder.mkdir()
    shutil.copy(LINSEP, folder / "ls.npz")
    raw = {"data": {"source": "npz", "path": "ls.npz"}, "model": {"quantum": {"n_qubits": 4}}}
    (folder / "p.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.chdir(tmp_path)  # not the profile's folder
    loaded = load_profile(folder / "p.yaml")
    data = load_dataset(loaded.profile.data, loaded.base_dir, loaded.source)
    assert data.x_train.shape == (240, 4) and data.x_test.shape == (60, 4)
    monkeypatch.setenv("HQNN_DATASETS", str(DATASETS))
    raw["data"]["path"] = "${HQNN_DATASETS}/qml_benchmarks/linearly_separable/linearly_separable_4d.npz"
    loaded = validate_profile(raw, "x.yaml", tmp_path)
    assert loaded.resolved()["data"]["path"] == str(LINSEP)
    raw["data"]["path"] = "${HOME}/x.npz"
    with pytest.raises(ConfigError, match=r"only \$\{HQNN_DATASETS\} is expanded"):
        validate_profile(raw, "x.yaml", tmp_path).resolved()


def test_profile_parsing_guards(tmp_path):
    cases = {
        "empty.yaml": ("", "the profile is empty"),
        "list.yaml": ("- 1\n", "a profile is a mapping"),
        "alias.yaml": ("a: &x 1\nb: *x\n", "aliases"),
        "two.yaml": ("a: 1\n---\nb: 2\n", "2 YAML documents"),
        "boolkey.yaml": ("on: 1\n", "quote the key"),
        "profile.json": ("{}", "use a .yaml, .yml or .toml"),
    }
    for name, (text, fragment) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=fragment):
            load_profile(tmp_path / name)
    with pytest.raises(ConfigError, match="no such profile file"):
        load_profile(tmp_path / "missing.yaml")


def test_schema_reference_documents_every_field():
    text = schema_markdown()
    paths = [path for path, _, _ in iter_fields(Profile)]
    assert len(paths) > 40
    for path in paths:
        assert f"`{path}`" in text, path
    assert "| `backend.shots` | integer \\| null | `null` |" in text
    for section in Profile.model_fields:
        assert f"## `{section}`" in text


def test_resolved_profile_is_json_and_round_trips(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(BASE_TEXT)
    loaded = load_profile(path)
    again = validate_profile(json.loads(json.dumps(loaded.resolved())), "r", tmp_path)
    assert again.profile == loaded.profile
    assert np.isfinite(loaded.profile.data.test_size)
