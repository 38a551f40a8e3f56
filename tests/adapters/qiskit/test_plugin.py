"""The plugin module: lazy registration, the install hint when the SDK is missing, environment info."""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("qiskit_aer")

import hqnn_core  # noqa: E402
import hqnn_qiskit  # noqa: E402
from hqnn_core import MissingExtraError, get_backend  # noqa: E402

pytestmark = pytest.mark.vendor


def test_backends_are_registered_lazily_with_their_extra(adapter_plugin):
    entries = {e.name: e for e in adapter_plugin.backends.entries()}
    assert entries["qiskit.aer"].target == "hqnn_qiskit.backend:AerBackend"
    assert entries["qiskit.fake"].family and entries["qiskit.ibm"].family
    assert {e.extra for n, e in entries.items() if n.startswith("qiskit")} == {"qiskit"}
    assert entries["qiskit.ibm"].requires == ("qiskit", "qiskit_aer", "qiskit_ibm_runtime")
    assert all(entries[n].available for n in ("qiskit.aer", "qiskit.fake", "qiskit.ibm"))


@pytest.mark.parametrize("name", ["qiskit.aer", "qiskit.fake:manila", "qiskit.ibm:ibm_brisbane"])
def test_missing_sdk_names_the_extra(monkeypatch, name):
    import hqnn_core.registry as registry

    real = registry.missing_modules
    monkeypatch.setattr(registry, "missing_modules", lambda modules: [m for m in modules if m.startswith("qiskit")] or real(modules))
    with pytest.raises(MissingExtraError) as info:
        get_backend(name)
    assert 'pip install "hqnn[qiskit]"' in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_listing_backends_imports_no_sdk():
    code = textwrap.dedent("""
        import sys
        import hqnn_core, hqnn_qiskit
        with hqnn_core.temporary_plugin(hqnn_qiskit, name="qiskit", distribution="hqnn") as plugins:
            rows = [e.as_dict() for e in plugins.backends.entries()]
        assert {"qiskit.aer", "qiskit.fake:<target>", "qiskit.ibm:<target>"} <= {r["name"] for r in rows}, rows
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("qiskit", "qiskit_aer", "qiskit_ibm_runtime"))
        assert not loaded, loaded
        print(hqnn_qiskit.hqnn_environment_info())
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"HQNN_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "qiskit-aer" in done.stdout


def test_environment_info_reads_metadata():
    import importlib.metadata as md

    info = hqnn_qiskit.hqnn_environment_info()
    assert info["qiskit"] == md.version("qiskit") and info["qiskit-aer"] == md.version("qiskit-aer")


def test_plugin_module_imports_only_hqnn_core():
    from pathlib import Path

    source = Path(hqnn_qiskit.__file__).read_text()
    imports = [line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert all(m == "__future__" or m.startswith(("hqnn_core", "importlib")) for m in imports), imports
    assert hqnn_core.get_backend("qiskit.aer").name == "qiskit.aer"


def test_docs_page_lists_every_option_and_backend():
    from pathlib import Path

    from hqnn_qiskit.backend import AerBackend, FakeDeviceBackend, IBMBackend

    page = (Path(__file__).resolve().parents[3] / "docs" / "adapters" / "qiskit.md").read_text()
    for cls in (AerBackend, FakeDeviceBackend, IBMBackend):
        assert f"`{cls.name}" in page
        for option in cls.Options.model_fields:
            assert f"`{option}`" in page, f"{cls.name} option {option!r} is not documented in docs/adapters/qiskit.md"
