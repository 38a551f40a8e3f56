"""The ``hqnn`` command line. Plugins add subcommands through ``hqnn_register_commands``."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from hqnn_core import __version__
from hqnn_core.errors import HQNNError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hqnn")
@click.option("--strict-plugins", is_flag=True, help="Fail when a plugin cannot be loaded (same as HQNN_STRICT_PLUGINS=1).")
def cli(strict_plugins: bool) -> None:
    """Hybrid quantum-classical neural networks on any vendor's simulators and QPUs."""
    if strict_plugins:
        import os

        from hqnn_core.plugin_manager import reset_plugins

        os.environ["HQNN_STRICT_PLUGINS"] = "1"
        reset_plugins()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List installed plugins: distribution, version, hooks and status."""
    from hqnn_core.plugin_manager import get_plugins

    infos = get_plugins().plugins()
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in infos], indent=2))
        return
    table = Table("plugin", "distribution", "version", "status", "hooks / error")
    for p in infos:
        table.add_row(p.name, p.distribution, p.version, p.status, p.error or ", ".join(h.removeprefix("hqnn_") for h in p.hooks))
    Console().print(table)


@cli.command()
@click.option("--kind", type=click.Choice(["encoder", "ansatz", "gradient", "mitigator", "backend"]), help="Only this kind.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def components(kind: str | None, as_json: bool) -> None:
    """List registered components with the plugin that provides them and whether they can be used."""
    from hqnn_core.plugin_manager import get_plugins

    plugins_ = get_plugins()
    kinds = [kind] if kind else ["encoder", "ansatz", "gradient", "mitigator", "backend"]
    rows = [e.as_dict() for k in kinds for e in plugins_.registry(k).entries()]
    _print_entries(rows, as_json)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def backends(as_json: bool) -> None:
    """List every backend with its availability and the pip extra that provides it."""
    from hqnn_core.plugin_manager import get_plugins

    _print_entries([e.as_dict() for e in get_plugins().backends.entries()], as_json)


def _print_entries(rows: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "kind", "from", "available", "note")
    for r in rows:
        table.add_row(str(r["name"]), str(r["kind"]), f"{r['distribution']} ({r['plugin']})", "yes" if r["available"] else "no", str(r["reason"]))
    Console().print(table)


def _register_plugin_commands() -> None:
    from hqnn_core.plugin_manager import get_plugins

    get_plugins().pm.hook.hqnn_register_commands(cli=cli)


def main() -> None:
    """Entry point of the ``hqnn`` console script: turns hqnn errors into one clear line."""
    try:
        _register_plugin_commands()
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except HQNNError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(2)
