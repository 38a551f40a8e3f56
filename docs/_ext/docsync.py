"""Checks that keep the docs true to the code (datasette's docs-sync test, as a reusable module).

Two contracts are checked, each by a function that returns a list of :class:`Problem` (empty when
the docs are in sync), so that the real tests, the negative tests and the docs build all call the
same code:

- :func:`hook_problems`: every hookspec has a section in ``docs/plugins/hooks.md`` whose heading
  names it and whose body holds its exact signature; spec options (``firstresult``, ``historic``,
  deprecation) are mentioned; and no section documents a hook that no longer exists.
- :func:`public_api_problems`: ``hqnn_core.__all__`` is sorted, has no duplicates, names only
  existing attributes, lists every public attribute, and every name in it is documented in
  ``docs/api.md``.

**Signature normalisation.** The expected text is ``name`` followed by ``str(inspect.signature(f))``
with annotations written as in the source: hookspecs use ``from __future__ import annotations``,
so annotations are strings and are shown without quotes (``registry: ComponentRegistry[Encoder]``).
Annotations that are real objects are formatted by ``inspect.formatannotation``. Parameter kinds and
defaults print as Python prints them. The page must contain that text on one line, alone or as
``def <signature>:`` / ``def <signature>: ...`` (a code block), inside the hook's section.

**Documented public names.** ``hqnn_core.NAME`` is documented when ``docs/api.md`` has an autodoc
directive for it (``.. autoclass:: hqnn_core.NAME``, any ``auto*`` directive, in ``eval-rst`` or
MyST ``{auto...}`` form), or lists it explicitly as a list item that starts with
```hqnn_core.NAME``` (used for data such as ``__version__``).
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS_DIR = Path(__file__).resolve().parents[1]
HOOKS_PAGE = DOCS_DIR / "plugins" / "hooks.md"
API_PAGE = DOCS_DIR / "api.md"
PROJECT = "hqnn"


@dataclass(frozen=True)
class Problem:
    """One way the docs disagree with the code: the subject (a hook or a name) and what to do."""

    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


# -- hookspecs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HookSpec:
    """A hookspec as the docs see it: its name, function and options (firstresult, historic...)."""

    name: str
    function: Callable[..., Any]
    opts: Mapping[str, Any]


def hookspecs(source: Any) -> dict[str, HookSpec]:
    """The hookspecs of a pluggy ``PluginManager`` (all specs added, by any plugin) or of a spec module/class."""
    out: dict[str, HookSpec] = {}
    relay = getattr(source, "hook", None)
    if relay is not None and hasattr(source, "add_hookspecs"):
        for name, caller in sorted(vars(relay).items()):
            spec = getattr(caller, "spec", None)
            if spec is not None:
                out[name] = HookSpec(name, spec.function, dict(spec.opts))
        return out
    for name in dir(source):
        obj = getattr(source, name)
        opts = getattr(obj, f"{PROJECT}_spec", None)
        if callable(obj) and isinstance(opts, dict):
            out[name] = HookSpec(name, obj, dict(opts))
    return out


class _Plain(str):
    """A string annotation that prints without quotes inside ``str(Signature)``."""

    def __repr__(self) -> str:
        return str(self)


def _plain(annotation: Any) -> Any:
    if annotation is inspect.Parameter.empty:
        return annotation
    return _Plain(annotation if isinstance(annotation, str) else inspect.formatannotation(annotation))


def signature_text(function: Callable[..., Any]) -> str:
    """``name(arg: Type, ...) -> Return`` as the hooks page must show it (see the module docstring)."""
    sig = inspect.signature(function)
    params = [p.replace(annotation=_plain(p.annotation)) for p in sig.parameters.values()]
    sig = sig.replace(parameters=params, return_annotation=_plain(sig.return_annotation))
    return f"{function.__name__}{sig}"


@dataclass
class Section:
    """A heading of a Markdown page and the lines under it, up to the next heading of its level or above."""

    level: int
    title: str
    lines: list[str]


_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def sections(text: str) -> list[Section]:
    """Split Markdown into sections, ignoring ``#`` lines inside fenced code blocks."""
    flat: list[tuple[int, str, int]] = []  # (level, title, line index)
    lines = text.splitlines()
    fence: str | None = None
    for i, line in enumerate(lines):
        match = _FENCE.match(line)
        if match:
            mark = match.group(1)
            if fence is None:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence) and not line.strip()[len(mark):].strip():
                fence = None
            continue
        if fence is None and re.match(r"^#{1,6} ", line):
            hashes = len(line) - len(line.lstrip("#"))
            flat.append((hashes, line[hashes:].strip(), i))
    out = []
    for n, (level, title, start) in enumerate(flat):
        end = next((j for lv, _, j in flat[n + 1:] if lv <= level), len(lines))
        out.append(Section(level, title, lines[start + 1:end]))
    return out


def _heading_hook(title: str) -> str | None:
    """The hook a heading names: ``hqnn_x``, ```hqnn_x```, ```hqnn_x(...)``` -> ``hqnn_x``."""
    match = re.match(rf"^`?({PROJECT}_[A-Za-z0-9_]+)\b", title.strip())
    return match.group(1) if match else None


def _has_signature(lines: Iterable[str], signature: str) -> bool:
    accepted = {signature, f"def {signature}:", f"def {signature}: ...", f"`{signature}`"}
    return any(line.strip() in accepted for line in lines)


def hook_problems(specs: Mapping[str, HookSpec], page_text: str, page: str = "docs/plugins/hooks.md") -> list[Problem]:
    """Every way ``page_text`` fails to document ``specs`` exactly (empty list: in sync)."""
    problems = []
    by_hook: dict[str, list[Section]] = {}
    for section in sections(page_text):
        hook = _heading_hook(section.title)
        if hook is not None:
            by_hook.setdefault(hook, []).append(section)
    for name, spec in sorted(specs.items()):
        signature = signature_text(spec.function)
        found = by_hook.get(name, [])
        if not found:
            problems.append(Problem(name, f"no section in {page}; add a heading `## {name}` with the signature line `{signature}`"))
            continue
        if len(found) > 1:
            problems.append(Problem(name, f"{len(found)} sections in {page}; keep one"))
        body = found[0].lines
        if not _has_signature(body, signature):
            problems.append(Problem(name, f"the section in {page} does not show the exact signature; it must contain the line {signature}"))
        text = "\n".join(body)
        for opt in ("firstresult", "historic"):
            if spec.opts.get(opt) and f"{opt}=True" not in text:
                problems.append(Problem(name, f"is declared with {opt}=True but its section in {page} does not say so"))
        if (spec.opts.get("warn_on_impl") or spec.opts.get("warn_on_impl_args")) and "deprecated" not in text.lower():
            problems.append(Problem(name, f"is deprecated (warn_on_impl) but its section in {page} does not say so"))
    for hook in sorted(set(by_hook) - set(specs)):
        problems.append(Problem(hook, f"{page} documents it, but no such hookspec exists; remove or rename the section"))
    return problems


# -- public API ---------------------------------------------------------------------------------
_AUTODOC = re.compile(r"^\s*(?:\.\.\s+auto[a-z]+::|```\{auto[a-z]+\})\s+([A-Za-z_][\w.]*)\s*$")
_LISTED = re.compile(r"^\s*[-*]\s+`([A-Za-z_][\w.]*)`")


def documented_names(page_text: str, module: str) -> set[str]:
    """Names ``X`` that ``page_text`` documents as ``module.X`` (autodoc directive or explicit list item)."""
    out = set()
    prefix = module + "."
    for line in page_text.splitlines():
        match = _AUTODOC.match(line) or _LISTED.match(line)
        if match and match.group(1).startswith(prefix):
            rest = match.group(1)[len(prefix):]
            if rest and "." not in rest:
                out.add(rest)
    return out


def public_attributes(module: types.ModuleType) -> set[str]:
    """Attributes a user can reach that are not private, not submodules and not ``__future__`` flags."""
    names = dir(module)  # dir(), not vars(): a module may resolve its names lazily (PEP 562 __getattr__ and __dir__)
    values = {name: getattr(module, name) for name in names if not name.startswith("_")}
    return {
        name for name, value in values.items()
        if not isinstance(value, types.ModuleType) and type(value).__module__ != "__future__"
    }


def public_api_problems(module: types.ModuleType, page_text: str, page: str = "docs/api.md") -> list[Problem]:
    """Every way ``module.__all__`` is unsorted, incomplete or undocumented in ``page_text``."""
    problems = []
    mod = module.__name__
    names = list(getattr(module, "__all__", []))
    if names != sorted(names):
        first = next(a for a, b in zip(names, sorted(names)) if a != b)
        problems.append(Problem(f"{mod}.__all__", f"is not sorted (first out of place: {first!r}); sort it"))
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(f"{mod}.{name}", "is listed twice in __all__"))
    for name in names:
        if not hasattr(module, name):
            problems.append(Problem(f"{mod}.{name}", "is in __all__ but the module has no such attribute"))
    for name in sorted(public_attributes(module) - set(names)):
        problems.append(Problem(f"{mod}.{name}", "is public but not in __all__; add it (sorted) or give it a leading underscore"))
    documented = documented_names(page_text, mod)
    for name in names:
        if name not in documented:
            problems.append(Problem(f"{mod}.{name}", f"is not documented in {page}; add an autodoc directive such as "
                                                     f"'.. autoclass:: {mod}.{name}' (or list it as '- `{mod}.{name}`')"))
    for name in sorted(documented - set(names)):
        problems.append(Problem(f"{mod}.{name}", f"{page} documents it but it is not in __all__; remove it from the page or export it"))
    return problems


# -- both, against the real code and pages ------------------------------------------------------
def all_problems() -> list[Problem]:
    """Drift between hqnn's code and its docs, as the docs build and the tests check it."""
    import hqnn_core
    from hqnn_core.plugin_manager import get_plugins

    problems = hook_problems(hookspecs(get_plugins().pm), HOOKS_PAGE.read_text(encoding="utf-8"))
    problems += public_api_problems(hqnn_core, API_PAGE.read_text(encoding="utf-8"))
    return problems
