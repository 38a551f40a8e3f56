"""Sphinx directives that render reference pages from hqnn's code, so the docs cannot drift from it.

Each directive builds Markdown from live objects and parses it in place (headings included, so the
generated sections appear in the page's table of contents):

- ``hqnn-profile-reference``: the run-profile schema, from the pydantic models in
  ``hqnn_core.config`` (through ``schema_markdown()``, the same text ``hqnn validate --schema`` prints);
- ``hqnn-cli``: every command and option of the click group ``hqnn_core.cli.cli``;
- ``hqnn-components``: registered components with their ``Options`` models;
- ``hqnn-backends`` and ``hqnn-backend-capabilities``: backend names, availability and declared
  capabilities (read from the backend instances, so per-device values are the real ones);
- ``hqnn-conformance-checks``: the checks of ``hqnn_core.testing``;
- ``hqnn-optimizers``: the optimisers a profile can name, with their options.

The build also runs the docs-sync checks of :mod:`docsync` and warns on drift, so
``sphinx-build -W`` fails when a hookspec or a public name is added without documentation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata as md
import os
import re
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal

import docsync
from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from hqnn_core.interfaces import BackendCapabilities as Capabilities

logger = logging.getLogger(__name__)

KINDS = ("encoder", "ansatz", "gradient", "mitigator", "optimizer", "backend")
KIND_TITLES = {"encoder": "Encoders", "ansatz": "Ansätze", "gradient": "Gradient estimators", "mitigator": "Mitigators", "optimizer": "Optimisers",
               "backend": "Backends"}


# -- Markdown helpers ---------------------------------------------------------------------------
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


def md_text(text: object) -> str:
    """Prose from code (docstrings, help texts) made safe for Markdown: ``<x>`` outside code spans
    would be read as raw HTML and vanish, so it is escaped there."""
    s, out, pos = str(text), [], 0
    for m in _CODE_SPAN.finditer(s):
        out.append(s[pos:m.start()].replace("<", "&lt;").replace(">", "&gt;"))
        out.append(m.group(0))
        pos = m.end()
    out.append(s[pos:].replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell (one line, pipes escaped, no raw HTML)."""
    return md_text(" ".join(str(text).split())).replace("|", "\\|")


def code(text: object) -> str:
    """Inline code that survives backticks inside the text."""
    s = str(text)
    fence = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out + [""]


def first_line(doc: str | None) -> str:
    lines = [line.strip() for line in (doc or "").strip().splitlines()]
    out: list[str] = []
    for line in lines:  # the first paragraph, joined
        if not line:
            break
        out.append(line)
    return " ".join(out)


def type_text(annotation: Any) -> str:
    """A short, readable name for a pydantic field's annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        inner = [type_text(a) for a in args if a is not Ellipsis]
        return f"{origin.__name__}[{', '.join(inner)}]" if inner else origin.__name__
    if origin is dict or annotation is dict:
        return "mapping"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(annotation.__name__, annotation.__name__)
    return str(annotation).replace("typing.", "")


def default_text(info: Any) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, tuple):
        value = list(value)
    try:
        import json

        return code(json.dumps(value))
    except TypeError:
        return code(repr(value))


def constraints_text(info: Any) -> str:
    parts = []
    for meta in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "min length"),
                          ("max_length", "max length"), ("pattern", "pattern")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value}")
    return ", ".join(parts)


def options_rows(model: type) -> list[list[str]]:
    rows = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        limits = constraints_text(info)
        desc = (info.description or "") + (f" ({limits})" if limits else "")
        rows.append([code(name), type_text(info.annotation), default_text(info), desc])
    return rows


# -- the plugins the docs describe --------------------------------------------------------------
@contextlib.contextmanager
def shipped_plugins() -> Iterator[Any]:
    """The built-ins plus the adapters hqnn itself ships (its own ``hqnn`` entry points), nothing else.

    Third-party plugins installed in the build environment are left out, so the pages describe hqnn
    and not whatever happens to be installed. Adapter plugin modules import no vendor SDK.
    """
    from hqnn_core.plugin_manager import ENTRY_POINT_GROUP, get_plugins, reset_plugins, temporary_plugin

    saved = os.environ.get("HQNN_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["HQNN_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    reset_plugins()
    try:
        eps = sorted((ep for ep in md.entry_points(group=ENTRY_POINT_GROUP) if ep.dist is not None and ep.dist.name == "hqnn"),
                     key=lambda ep: ep.name)
        if not eps:
            logger.warning("no 'hqnn' entry points of the hqnn distribution were found, so the vendor adapters are missing "
                           "from the generated pages; install hqnn first (pip install -e .).", type="hqnn", subtype="plugins")
        with contextlib.ExitStack() as stack:
            for ep in eps:
                stack.enter_context(temporary_plugin(ep.load(), name=ep.name, distribution="hqnn"))
            yield get_plugins()
    finally:
        if saved is None:
            os.environ.pop("HQNN_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["HQNN_DISABLE_PLUGIN_AUTOLOAD"] = saved
        reset_plugins()


def entry_class(registry: Any, entry: Any) -> Any:
    """The class behind a registry entry (a family is looked up through a placeholder target)."""
    return registry.get(f"{entry.name}:target" if entry.family else entry.name)


# -- the directives ----------------------------------------------------------------------------
class MarkdownDirective(SphinxDirective):
    """Base: subclasses return Markdown lines, parsed in place with headings allowed."""

    has_content = True
    option_spec: dict[str, Any] = {"heading-level": directives.positive_int}

    def markdown(self) -> list[str]:
        raise NotImplementedError

    def heading(self, text: str, extra: int = 0) -> str:
        return "#" * (self.options.get("heading-level", 2) + extra) + " " + text

    def run(self) -> list[nodes.Node]:
        lines = self.markdown()
        container = nodes.Element()
        source = f"<{self.name} in {self.env.docname}>"
        self.state.nested_parse(StringList(lines, source=source), 0, container, match_titles=True)
        return list(container.children)


class ProfileReference(MarkdownDirective):
    """The profile schema, rendered by ``hqnn_core.config.schema_markdown()`` from the pydantic models."""

    def markdown(self) -> list[str]:
        from hqnn_core.config import schema_markdown

        return profile_reference_lines(schema_markdown(), self.options.get("heading-level", 2))


def profile_reference_lines(text: str, level: int = 2) -> list[str]:
    """``schema_markdown()`` without its page title and note, its ``##`` sections moved to ``level``."""
    out = []
    for line in text.splitlines():
        if line.startswith("# ") or line.startswith("Generated from `hqnn_core.config`"):
            continue
        if line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            line = "#" * (level + hashes - 2) + line[hashes:]
        out.append(md_text(line))
    return out


class CliReference(MarkdownDirective):
    """Every command of ``hqnn_core.cli.cli`` (and those the shipped plugins add) with its options."""

    def markdown(self) -> list[str]:
        from hqnn_core.cli import cli

        with shipped_plugins() as plugins:
            plugins.pm.hook.hqnn_register_commands(cli=cli)  # what `hqnn` itself does at start-up
        return cli_reference_lines(cli, self.options.get("heading-level", 2))


def cli_reference_lines(group: Any, level: int = 2, prog: str = "hqnn") -> list[str]:
    import click

    root = click.Context(group, info_name=prog, **group.context_settings)
    out: list[str] = []

    def render(cmd: Any, ctx: Any, depth: int) -> None:
        pieces = " ".join(cmd.collect_usage_pieces(ctx))
        out.extend(["#" * depth + " " + code(ctx.command_path), "", md_text((cmd.help or "").strip()), ""])
        out.extend(["```text", f"{ctx.command_path} {pieces}".rstrip(), "```", ""])
        rows, args = [], []
        for param in cmd.get_params(ctx):
            if isinstance(param, click.Argument):
                args.append(param.make_metavar(ctx))
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                rows.append([code(record[0]), record[1]])
        if args:
            out.extend(["Arguments: " + ", ".join(code(a) for a in args), ""])
        if rows:
            out.extend(table(["option", "meaning"], rows))
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is None or sub.hidden:
                    continue
                render(sub, click.Context(sub, info_name=name, parent=ctx, **sub.context_settings), depth + 1)

    render(group, root, level)
    return out


class Components(MarkdownDirective):
    """Registered components of the given kinds (default: all but backends), each with its options."""

    option_spec = {**MarkdownDirective.option_spec, "kind": directives.unchanged}

    def markdown(self) -> list[str]:
        kinds = self.options.get("kind", "encoder ansatz gradient mitigator").split()
        for kind in kinds:
            if kind not in KINDS:
                raise self.error(f"hqnn-components: unknown kind {kind!r}; use {', '.join(KINDS)}.")
        with shipped_plugins() as plugins:
            return component_lines(plugins, kinds, self.options.get("heading-level", 3))


def component_lines(plugins: Any, kinds: list[str], level: int) -> list[str]:
    out: list[str] = []
    for kind in kinds:
        registry = plugins.registry(kind)
        entries = registry.entries()
        if len(kinds) > 1:
            out += ["#" * level + " " + KIND_TITLES[kind], ""]
        if not entries:
            out += [f"No {kind} is registered yet.", ""]
            continue
        sub = level + (1 if len(kinds) > 1 else 0)
        for entry in entries:
            shown = entry.name + (":<target>" if entry.family else "")
            out += ["#" * sub + " " + code(shown), ""]
            if not entry.available:
                out += [f"Needs {', '.join(entry.missing)} (`pip install \"hqnn[{entry.extra}]\"`); its options are listed "
                        "when the docs are built with that extra installed.", ""]
                continue
            cls = entry_class(registry, entry)
            aliases = f" Aliases: {', '.join(code(a) for a in entry.aliases)}." if entry.aliases else ""
            out += [f"{md_text(first_line(cls.__doc__))} ({code(entry.target_path)}){aliases}", ""]
            rows = options_rows(cls.Options)
            out += table(["option", "type", "default", "meaning"], rows) if rows else ["No options.", ""]
    return out


class Backends(MarkdownDirective):
    """Every registered backend name with its provider, pip extra and availability here."""

    def markdown(self) -> list[str]:
        with shipped_plugins() as plugins:
            rows = []
            for e in plugins.backends.entries():
                name = e.name + (":<target>" if e.family else "")
                extra = code(f'pip install "hqnn[{e.extra}]"') if e.extra else "built in"
                rows.append([code(name), code(e.target_path), extra, "yes" if e.available else "no (SDK not installed)"])
        return table(["name", "class", "install", "available where these docs were built"], rows)


CAPABILITY_FIELDS = [f.name for f in dataclasses.fields(Capabilities)]


def capability_cells(caps: Any) -> list[str]:
    from hqnn_core.circuit import GATES

    cells = []
    for name in CAPABILITY_FIELDS:
        value = getattr(caps, name)
        if name == "native_gates":
            missing = sorted(set(GATES) - set(value))
            cells.append(f"all {len(GATES)}" if not missing else f"{len(value)} (not {', '.join(missing)})")
        elif name == "max_qubits" and value == 0:
            cells.append("from the device")
        elif isinstance(value, bool):
            cells.append("yes" if value else "no")
        elif value is None:
            cells.append("no limit")
        else:
            cells.append(str(value))
    return cells


class CapabilityTable(MarkdownDirective):
    """Declared capabilities of every backend; families are shown through the targets in the content.

    Each content line names a backend to instantiate (``pennylane:default.qubit``). Plain backends are
    always shown; a family with no listed target shows its class-level declaration.
    """

    def markdown(self) -> list[str]:
        from hqnn_core.components import get_backend
        from hqnn_core.errors import UnknownComponentError

        wanted = [line.strip() for line in self.content if line.strip()]
        rows = []
        with shipped_plugins() as plugins:
            registry = plugins.backends
            by_entry: dict[int, list[str]] = {}
            for name in wanted:
                try:
                    entry, _ = registry.resolve(name)
                except UnknownComponentError as e:
                    logger.warning(f"hqnn-backend-capabilities: {e}", location=(self.env.docname, self.lineno))
                    continue
                by_entry.setdefault(id(entry), []).append(name)
            for entry in registry.entries():
                names = by_entry.get(id(entry)) or ([entry.name] if not entry.family else [])
                if not entry.available:
                    label = entry.name + (":<target>" if entry.family else "")
                    rows.append([code(label)] + ["—"] * len(CAPABILITY_FIELDS) + [f'SDK not installed: `pip install "hqnn[{entry.extra}]"`'])
                    continue
                if not names:  # a family without an example target: its class-level declaration
                    cls = entry_class(registry, entry)
                    rows.append([code(entry.name + ":<target>")] + capability_cells(cls.capabilities) + ["class declaration; the target sets the rest"])
                    continue
                for name in names:
                    try:
                        caps = get_backend(name).capabilities
                    except Exception as e:  # noqa: BLE001 - a backend that cannot be built with its SDK installed is a bug to report
                        logger.warning(f"hqnn-backend-capabilities: could not build backend {name!r}: {type(e).__name__}: {e}",
                                       location=(self.env.docname, self.lineno))
                        continue
                    rows.append([code(name)] + capability_cells(caps) + [""])
        return table(["backend", *CAPABILITY_FIELDS, "note"], rows)


class ConformanceChecks(MarkdownDirective):
    """The checks registered in ``hqnn_core.testing``, by kind, with what each proves."""

    def markdown(self) -> list[str]:
        from hqnn_core.testing import REGISTRY

        rows = [[code(name), spec.kind, "yes" if spec.submits else "no", first_line(spec.func.__doc__)]
                for name, spec in REGISTRY.items()]
        order = {k: i for i, k in enumerate(("all", *KINDS))}
        rows.sort(key=lambda r: (order.get(r[1], 99), r[0]))
        return table(["check", "kind", "submits jobs", "what it proves"], rows)


class OptimizerOptions(MarkdownDirective):
    """The optimisers ``train.optimizer`` accepts, each with its options model."""

    def markdown(self) -> list[str]:
        with shipped_plugins() as plugins:
            return component_lines(plugins, ["optimizer"], self.options.get("heading-level", 3))


# -- docs-sync checks at build time ------------------------------------------------------------
def check_sync(app: Sphinx) -> None:
    """Warn (an error under -W) when hooks or public names drift from the pages that document them."""
    for problem in docsync.all_problems():
        logger.warning(f"docs out of sync: {problem}", type="hqnn", subtype="docsync")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("hqnn-profile-reference", ProfileReference)
    app.add_directive("hqnn-cli", CliReference)
    app.add_directive("hqnn-components", Components)
    app.add_directive("hqnn-backends", Backends)
    app.add_directive("hqnn-backend-capabilities", CapabilityTable)
    app.add_directive("hqnn-conformance-checks", ConformanceChecks)
    app.add_directive("hqnn-optimizers", OptimizerOptions)
    app.connect("builder-inited", check_sync)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
