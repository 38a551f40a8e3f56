"""The Braket plugin: lazy registration, the missing-SDK message, environment info, provenance.

Unlike the other modules here this one does not skip as a whole without the SDK: registration
and the missing-SDK message must work exactly then. Tests that need the SDK skip one by one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import hqnn_braket
from hqnn_core import ConfigError, MissingExtraError, get_backend

pytestmark = pytest.mark.vendor


def test_families_are_registered_lazily_with_the_extra(adapter_plugin):
    entries = {e.name: e for e in adapter_plugin.backends.entries()}
    for name in ("braket.local", "braket.aws"):
        entry = entries[name]
        assert entry.family and entry.extra == "braket" and entry.requires == ("braket",)
        assert isinstance(entry.target, str) and entry.target.startswith("hqnn_braket.backend:")


def test_missing_sdk_names_the_extra(monkeypatch):
    import hqnn_core._optional
    import hqnn_core.registry

    def missing(modules):
        return [m for m in modules if m.startswith("braket")]

    monkeypatch.setattr(hqnn_core._optional, "missing_modules", missing)
    monkeypatch.setattr(hqnn_core.registry, "missing_modules", missing)
    for name in ("braket.local:sv", "braket.aws:arn:aws:braket:::device/quantum-simulator/amazon/sv1"):
        with pytest.raises(MissingExtraError, match=r'pip install "hqnn\[braket\]"') as info:
            get_backend(name)
        assert "Amazon Braket SDK" in str(info.value)


def test_listing_and_plugin_import_do_not_import_the_sdk():
    code = (
        "import sys, hqnn_core, hqnn_braket; from hqnn_core.plugin_manager import get_plugins;"
        "p = hqnn_core.temporary_plugin(hqnn_braket, name='braket', distribution='hqnn').__enter__();"
        "print([e.available for e in p.backends.entries()]); sys.exit(1 if 'braket' in sys.modules else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_environment_info_reports_sdk_versions(adapter_plugin):
    pytest.importorskip("braket.devices")
    info = hqnn_braket.hqnn_environment_info()
    assert set(info) >= {"amazon-braket-sdk", "amazon-braket-default-simulator"}
    assert adapter_plugin.environment_info()["amazon-braket-sdk"] == info["amazon-braket-sdk"]


def test_unknown_local_simulator_is_a_config_error():
    pytest.importorskip("braket.devices")
    with pytest.raises(ConfigError, match="braket.local:sv"):
        get_backend("braket.local:qubit")


def test_describe_is_json_provenance_without_secrets(monkeypatch):
    pytest.importorskip("braket.devices")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-secret-value-1234567890")
    info = get_backend("braket.local:dm", depolarizing=0.01).describe()
    text = json.dumps(info)
    assert info["vendor"] == "Amazon Braket" and info["device"]["simulator"] == "braket_dm" and info["device"]["engine"] == "direct"
    assert info["options"]["depolarizing"] == 0.01 and info["capabilities"]["noise"] is True
    assert info["versions"]["amazon-braket-sdk"] and "canary-secret" not in text


def test_the_docs_list_every_option():
    pytest.importorskip("braket.devices")
    from pathlib import Path

    from hqnn_braket.backend import BraketAwsBackend, BraketLocalBackend

    text = (Path(__file__).parents[3] / "docs" / "adapters" / "braket.md").read_text()
    for cls in (BraketLocalBackend, BraketAwsBackend):
        for name in cls.Options.model_fields:
            assert f"| `{name}` |" in text, f"docs/adapters/braket.md does not document {cls.name} option {name!r}"
