"""The ``hqnn`` command line. Plugins add subcommands through ``hqnn_register_commands``."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from hqnn_core import __version__
from hqnn_core.errors import HQNNError

#: built-in commands defined in other modules, imported when named (``hqnn diagnose``) or listed (``hqnn --help``)
_ELSEWHERE = {"compare": "hqnn_core.cli_diagnostics", "conformance": "hqnn_core.cli_conformance", "diagnose": "hqnn_core.cli_diagnostics",
              "draw": "hqnn_core.cli_draw", "explain": "hqnn_core.cli_explain", "monitor": "hqnn_core.cli_ops",
              "predict": "hqnn_core.cli_ops"}


class _Hqnn(click.Group):
    """The ``hqnn`` group: commands kept in other modules and plugin commands load when first needed.

    So ``hqnn --version`` and ``hqnn --help`` start without torch or a vendor SDK; each command
    imports what it uses when it runs.
    """

    _plugin_commands_added = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return sorted({*self.commands, *_ELSEWHERE})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _ELSEWHERE:
            self.add_command(getattr(importlib.import_module(_ELSEWHERE[cmd_name]), cmd_name))
        if cmd_name not in self.commands:
            self._add_plugin_commands()
        return self.commands.get(cmd_name)

    def _add_plugin_commands(self) -> None:
        if not self._plugin_commands_added:
            from hqnn_core.plugin_manager import command_plugins

            self._plugin_commands_added = True
            command_plugins().pm.hook.hqnn_register_commands(cli=self)


@click.group(cls=_Hqnn, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hqnn")
@click.option("--strict-plugins", is_flag=True, help="Fail when a plugin cannot be loaded (same as HQNN_STRICT_PLUGINS=1).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Log to stderr at this level, credentials redacted (HTTP libraries stay at INFO unless HQNN_UNSAFE_DEBUG_HTTP=1).")
def cli(strict_plugins: bool, log_level: str | None) -> None:
    """Hybrid quantum-classical neural networks on any vendor's simulators and QPUs."""
    if log_level is not None:
        import logging

        from hqnn_core.redaction import configure_logging

        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        configure_logging(getattr(logging, log_level.upper()), handler)
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
    table = Table("plugin", "distribution", "version", "status", Column("hooks / error", overflow="fold"))
    for p in infos:  # Text cells: an error message is plain text, not rich markup
        table.add_row(*map(Text, (p.name, p.distribution, p.version, p.status, p.error or ", ".join(h.removeprefix("hqnn_") for h in p.hooks))))
    Console().print(table)


@cli.command()
@click.option("--kind", type=click.Choice(["encoder", "ansatz", "gradient", "mitigator", "optimizer", "backend"]), help="Only this kind.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def components(kind: str | None, as_json: bool) -> None:
    """List registered components with the plugin that provides them and whether they can be used."""
    from hqnn_core.plugin_manager import get_plugins

    plugins_ = get_plugins()
    kinds = [kind] if kind else ["encoder", "ansatz", "gradient", "mitigator", "optimizer", "backend"]
    rows = [e.as_dict() for k in kinds for e in plugins_.registry(k).entries()]
    _print_entries(rows, as_json)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def backends(as_json: bool) -> None:
    """List every backend with its availability and the pip extra that provides it."""
    from hqnn_core.plugin_manager import get_plugins

    _print_entries([e.as_dict() for e in get_plugins().backends.entries()], as_json)


@cli.command()
@click.argument("profile", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a profile key, e.g. --set train.epochs=3 (repeatable).")
@click.option("--resume", "resume", type=click.Path(file_okay=False), help="Continue the stopped run in this run directory.")
@click.option("--out", type=click.Path(file_okay=False), help="Write the run here instead of output.runs_dir/<name>.")
@click.option("--force", is_flag=True, help="Resume even though the profile differs from the run's.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Data-parallel training on N local processes (torch.distributed; train.batch_size is the global batch).")
@click.option("--log-to", "log_to", metavar="TRACKERS", help="Also log to these trackers, comma-separated: tensorboard, mlflow (output.log_to).")
def train(profile: str | None, overrides: tuple[str, ...], resume: str | None, out: str | None, force: bool, quiet: bool, nproc: int,
          log_to: str | None) -> None:
    """Train PROFILE (YAML or TOML) and write a run directory; or continue one with --resume RUN_DIR."""
    from hqnn_core.training import train as run_training

    if log_to is not None:  # validated like the profile key it sets
        overrides = (*overrides, f"output.log_to=[{', '.join(t.strip() for t in log_to.split(',') if t.strip())}]")

    if profile is None and resume is None:
        raise click.UsageError("give a PROFILE (e.g. examples/digits.yaml) or --resume RUN_DIR.")
    if out is not None and resume is not None:
        raise click.UsageError("--out starts a new run; --resume continues the run in its own folder. Use one of them.")
    import signal

    def _terminate(signum: int, frame: object) -> None:  # record "interrupted" and keep the last checkpoint
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _terminate)
    result: Any
    if nproc > 1:  # see docs/distributed.md
        from types import SimpleNamespace

        from hqnn_core.training.launch import launch

        result = SimpleNamespace(**launch(nproc, profile=profile, overrides=overrides, out=out, resume=resume, force=force, quiet=quiet))
    else:
        result = run_training(profile, overrides=overrides, out=out, resume=resume, force=force, quiet=quiet)
    import os

    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 prints the summary
        return
    record = result.record
    if record.get("kind") == "born_machine":
        from hqnn_core.training.generative import summary_table

        Console().print(summary_table(record))
        Console().print(f"run directory: {result.run_dir}", highlight=False, soft_wrap=True, markup=False)
        return
    table = Table("model", "test accuracy", "test loss", "parameters", "jobs", "shots", "wall time (s)")
    for name in ("hybrid", "baseline"):
        phase = record.get(name) or {}
        final = phase.get("final")
        if not final:
            continue
        acc = phase.get("accounting") or {}
        params = (record.get("model") or {}).get(name, {}).get("parameters", "")
        table.add_row(name, f"{final['test_accuracy']:.4f}", f"{final['test_loss']:.4f}", str(params), str(acc.get("jobs", "-")),
                      str(acc.get("shots", "-")), f"{phase.get('wall_time_s', 0):.1f}")
    comparison = record.get("comparison") or {}
    if comparison.get("summary"):
        table.caption = comparison["summary"]  # better / equal within noise / worse, with the numbers
    console = Console()
    console.print(table)
    console.print(f"run directory: {result.run_dir}", highlight=False, soft_wrap=True, markup=False)


@cli.command(name="eval")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--backend", help="Evaluate on this backend instead of the one the run trained on (e.g. qiskit.aer).")
@click.option("--shots", help="Shots for the evaluation backend: a positive integer, or 'none' for exact.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_(run_dir: str, backend: str | None, shots: str | None, as_json: bool) -> None:
    """Evaluate a run's saved model on its test set, on another backend if asked."""
    from hqnn_core.errors import ConfigError
    from hqnn_core.training import evaluate_run

    shot_value: object = "profile"
    if shots is not None:
        if shots.lower() in {"none", "null", "exact"}:
            shot_value = None
        elif shots.isdigit() and int(shots) > 0:
            shot_value = int(shots)
        else:
            raise ConfigError(f"--shots {shots!r}: give a positive integer, or 'none' for exact expectations.")
    result = evaluate_run(run_dir, backend=backend, shots=shot_value)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    recorded = result["recorded_test_accuracy"]
    click.echo(f"backend {result['backend']['name']} (shots {result['shots']}), weights {result['weights']}, {result['n_test']} test samples")
    click.echo(f"test accuracy {result['test_accuracy']:.4f}  (recorded in run.json: {'-' if recorded is None else f'{recorded:.4f}'})")
    click.echo(f"test loss {result['test_loss']:.4f}; jobs {result['accounting']['jobs']}, shots {result['accounting']['shots']}")
    if result["data_changed"]:
        click.echo("warning: the data files changed since training (sha256 differs).", err=True)


@cli.command()
@click.argument("profile", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a profile key (repeatable).")
@click.option("--schema", is_flag=True, help="Print the profile reference (Markdown) instead.")
def validate(profile: str | None, overrides: tuple[str, ...], schema: bool) -> None:
    """Check PROFILE without running it: schema, component names and options, data, model, estimated usage."""
    from hqnn_core.config import load_profile, schema_markdown

    if schema:
        click.echo(schema_markdown())
        return
    if profile is None:
        raise click.UsageError("give a PROFILE to validate, or --schema for the reference.")
    loaded = load_profile(profile, overrides)
    if loaded.profile.model.kind == "born_machine":
        from hqnn_core.training.data_summary import describe_data
        from hqnn_core.training.describe_kinds import describe_born_machine
        from hqnn_core.training.spec import resolve

        p = loaded.profile
        data = None if p.data.source == "bars_and_stripes" else describe_data(p.data, loaded.base_dir, loaded.source)
        lines = describe_born_machine(loaded, resolve(loaded, with_fallback=bool(p.backend.fallback)), data)
        if lines is None:  # what only the built machine can tell (torch)
            from hqnn_core.training.generative import prepare_born_machine
            from hqnn_core.training.generative import validate_lines as born_machine_lines

            lines = born_machine_lines(prepare_born_machine(loaded))
        click.echo("\n".join([f"OK {profile}", *lines, f"  config hash {loaded.config_hash[:16]}"]))
        return
    if loaded.profile.model.kind == "kernel":
        from hqnn_core.training.data_summary import describe_data
        from hqnn_core.training.describe_kinds import describe_kernel
        from hqnn_core.training.spec import resolve

        lines = describe_kernel(loaded, resolve(loaded), describe_data(loaded.profile.data, loaded.base_dir, loaded.source))
        if lines is None:  # what only the built kernel can tell (torch, scikit-learn)
            from hqnn_core.training.kernel_run import validate_lines as kernel_lines

            lines = kernel_lines(loaded)
        click.echo("\n".join([f"OK {profile}", *lines]))
        return
    from hqnn_core.training.data_summary import describe_data
    from hqnn_core.training.describe import built_description, describe_model
    from hqnn_core.training.spec import resolve

    p = loaded.profile
    d = describe_data(p.data, loaded.base_dir, loaded.source)  # the data's shape, not its arrays: no scikit-learn (docs/cli.md)
    resolve(loaded)  # every name and option checked against the registries, once (no torch)
    m = describe_model(loaded, d)  # described from the components' layouts: no torch (docs/architecture.md, deviation 11)
    if m is None:  # what only the built model can tell
        from hqnn_core.training.estimate import model_as_run
        from hqnn_core.training.prepare import estimate

        prepared = model_as_run(loaded)
        m = built_description(prepared, estimate(prepared))
    usage = m.usage
    click.echo(f"OK {profile}")
    images = f" (images C x H x W = {' x '.join(map(str, d.image_shape))})" if d.image_shape else ""
    click.echo(f"  data: {p.data.source}, {d.n_train} train / {d.n_test} test, {d.n_features} features{images}, classes {d.labels}")
    click.echo(
        f"  model: front end {p.model.front_end.kind} -> {m.n_qubits} qubits ({m.encoder}, {m.ansatz} x{m.layers}, "
        f"gradient {m.gradient}) -> head {p.model.head.kind}; {m.parameters} parameters"
    )
    click.echo(f"  backend: {m.backend}, shots {m.shots}; optimizer {p.train.optimizer.name}, {p.train.epochs} epochs")
    click.echo(f"  estimated usage: {usage.jobs} jobs, {usage.circuits} circuits, {usage.shots} shots; limits: jobs {p.limits.max_jobs}, shots {p.limits.max_shots}")
    click.echo(f"  config hash {loaded.config_hash[:16]}")


@cli.command()
@click.argument("profile", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a profile key (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def estimate(profile: str, overrides: tuple[str, ...], as_json: bool) -> None:
    """Predict the jobs, circuits, shots and cost (USD, list prices) of training PROFILE, without running anything."""
    from hqnn_core.config import load_profile
    from hqnn_core.training.estimate import estimate_run, model_as_run, render

    loaded = load_profile(profile, overrides)
    if loaded.profile.model.kind == "kernel":
        from hqnn_core.training.kernel_run import estimate_kernel_run, prepare_kernel

        est = estimate_kernel_run(prepare_kernel(loaded))
    elif loaded.profile.model.kind == "born_machine":
        from hqnn_core.training.generative import estimate_born_machine, prepare_born_machine

        est = estimate_born_machine(prepare_born_machine(loaded))
    else:
        est = estimate_run(model_as_run(loaded))
    if as_json:
        click.echo(json.dumps(est.as_dict(), indent=2))
        return
    Console().print(render(est, profile))


def _print_entries(rows: list[dict[str, object]], as_json: bool) -> None:
    """One table per kind: name, the plugin that provides it (distribution and plugin), availability and why not.

    Cells are rich Text, never markup: rich would read the extra in ``pip install "hqnn[qiskit]"``
    as a style tag and drop it. The table fits 80 columns; long cells wrap or fold, never end in "…".
    """
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    console = Console()
    for kind in dict.fromkeys(str(r["kind"]) for r in rows):
        table = Table(title=Text(kind), title_justify="left")
        table.add_column("name", overflow="fold")
        table.add_column("from", overflow="fold")
        table.add_column("ok")
        table.add_column("note", overflow="fold", min_width=20, ratio=1)
        for r in rows:
            if r["kind"] == kind:
                plugin = str(r["plugin"]).removeprefix("hqnn_plugins.")  # the built-in plugin modules, shortened
                table.add_row(Text(str(r["name"])), Text(f"{r['distribution']} ({plugin})"), Text("yes" if r["available"] else "no"),
                              Text(str(r["reason"])))
        console.print(table)


def main() -> None:
    """Entry point of the ``hqnn`` console script: turns hqnn errors into one clear line."""
    try:
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)  # commands that end with ctx.exit(n), e.g. conformance failures
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except HQNNError as e:
        from hqnn_core.redaction import redact_text

        click.echo(f"Error: {redact_text(str(e))}", err=True)  # vendor messages may echo a credential
        sys.exit(2)
