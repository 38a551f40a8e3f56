"""The generators behind the reference pages cover everything in the code (needs Sphinx, the docs extra)."""

from __future__ import annotations

import pytest

pytest.importorskip("sphinx", reason="the docs generators need Sphinx: pip install sphinx myst-parser furo (the tox 'docs' env)")

import click  # noqa: E402
import hqnn_docs  # noqa: E402

from hqnn_core.cli import cli  # noqa: E402
from hqnn_core.config import iter_fields, schema_markdown  # noqa: E402


def test_profile_reference_has_every_field_of_the_models():
    text = "\n".join(hqnn_docs.profile_reference_lines(schema_markdown(), level=3))
    paths = [path for path, _, _ in iter_fields()]
    missing = [p for p in paths if f"`{p}`" not in text]
    sections = [p for p in paths if "." not in p]
    assert missing == [] or set(missing) <= set(sections)  # top-level sections are headings, not rows
    assert all(f"### `{s}`" in text for s in sections)
    assert "# Run profile reference" not in text and "<profile name>" not in text  # title dropped; raw HTML escaped
    assert "&lt;profile name&gt;" in text


def test_cli_reference_has_every_command_and_option():
    text = "\n".join(hqnn_docs.cli_reference_lines(cli, level=2))
    ctx = click.Context(cli, info_name="hqnn")
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert f"### `hqnn {name}`" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert opt in text, (name, opt)
    assert "`--strict-plugins`" in text


def test_cli_reference_includes_commands_added_by_plugins():
    group = click.Group("hqnn", help="Test group.")

    @group.command(name="acme-queue")
    @click.option("--device", default="alpha", help="Device <name> to ask.")
    def acme_queue(device: str) -> None:
        """Show the queue of <device>."""

    text = "\n".join(hqnn_docs.cli_reference_lines(group, level=2))
    assert "### `hqnn acme-queue`" in text
    assert "Show the queue of &lt;device&gt;." in text and "Device &lt;name&gt; to ask." in text


def test_capability_cells_read_the_declaration():
    from hqnn_core import BackendCapabilities

    caps = BackendCapabilities(max_qubits=5, analytic=False, native_gates=frozenset({"RX", "CNOT"}), max_circuits_per_job=100)
    cells = dict(zip(hqnn_docs.CAPABILITY_FIELDS, hqnn_docs.capability_cells(caps)))
    assert cells["max_qubits"] == "5" and cells["analytic"] == "no" and cells["max_shots"] == "no limit"
    assert cells["native_gates"].startswith("2 (not ") and "RY" in cells["native_gates"]
    assert cells["max_circuits_per_job"] == "100"


def test_component_pages_list_every_builtin_with_its_options():
    with hqnn_docs.shipped_plugins() as plugins:
        text = "\n".join(hqnn_docs.component_lines(plugins, ["encoder", "ansatz", "gradient", "mitigator", "backend"], 3))
        for kind in ("encoder", "ansatz", "gradient", "backend"):
            for entry in plugins.registry(kind).entries():
                assert f"`{entry.name}" in text, entry.name
        assert {e.name for e in plugins.backends.entries()} >= {"torch", "qiskit.aer", "pennylane", "braket.local"}
    assert "| `rotation` | X \\| Y \\| Z |" in text  # the angle encoder's option, from its pydantic model
