"""Typed registries that plugins fill through the ``hqnn_register_*`` hooks.

Each entry remembers the plugin and distribution that registered it, so duplicates can name both
packages and ``hqnn plugins`` can say where a component comes from. Targets may be import strings
(``"hqnn_qiskit.backend:AerBackend"``) so that registering a backend never imports its vendor SDK,
and an entry may carry a *layout* (:mod:`hqnn_core.interfaces.layout`): a torch-free class with the
component's options and the shape of what it builds, which checking and describing a profile load
instead of the component (the built-ins register this way, so neither imports torch).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hqnn_core._optional import KNOWN_FAMILIES, family_of, install_hint, missing_modules
from hqnn_core.errors import DuplicateComponentError, MissingExtraError, PluginError, UnknownComponentError

T = TypeVar("T")

BUILTIN_DISTRIBUTION = "hqnn"


@dataclass
class RegistryEntry:
    """One registered name: where it points, who registered it, and whether it can be used here."""

    name: str
    kind: str
    target: Any
    plugin: str
    distribution: str
    version: str
    extra: str | None = None
    requires: tuple[str, ...] = ()
    family: bool = False
    aliases: tuple[str, ...] = ()
    layout: Any = None
    loaded: Any = field(default=None, repr=False)
    loaded_layout: Any = field(default=None, repr=False)

    @property
    def missing(self) -> list[str]:
        return missing_modules(self.requires)

    @property
    def available(self) -> bool:
        return not self.missing

    @property
    def reason(self) -> str:
        missing = self.missing
        if not missing:
            return ""
        hint = f"; install it with: {install_hint(self.extra)}" if self.extra else ""
        return f"needs {', '.join(missing)}, not installed{hint}"

    @property
    def target_path(self) -> str:
        t = self.target
        return t if isinstance(t, str) else f"{t.__module__}:{t.__qualname__}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name + (":<target>" if self.family else ""),
            "kind": self.kind,
            "target": self.target_path,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
            "available": self.available,
            "reason": self.reason,
            "extra": self.extra,
        }


@dataclass(frozen=True)
class PluginSource:
    """Who is registering: the plugin name and its distribution (``hqnn`` for built-ins)."""

    plugin: str
    distribution: str = BUILTIN_DISTRIBUTION
    version: str = ""

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION


def _import(target: str) -> Any:
    """The object an ``"module:attr"`` string names (importing the module)."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


class ComponentRegistry(Generic[T]):
    """Name → component class for one kind (encoder, ansatz, gradient, mitigator).

    ``base`` (the interface a component must subclass) and ``layout_base`` (the torch-free interface
    a layout must subclass) may be import strings, loaded when the first class is checked, so that
    building a registry imports no interface module (``hqnn --help`` builds none at all).
    """

    def __init__(self, kind: str, base: type | str, layout_base: type | str | None = None) -> None:
        self.kind = kind
        self._base = base
        self._layout_base = layout_base
        self._entries: dict[str, RegistryEntry] = {}
        self._source = PluginSource("hqnn")

    @property
    def base(self) -> type:
        """The interface every component of this kind subclasses (imported on first use)."""
        if isinstance(self._base, str):
            self._base = _import(self._base)
        return self._base  # type: ignore[return-value]

    @property
    def layout_base(self) -> type | None:
        """The torch-free interface a layout of this kind subclasses (imported on first use), or ``None`` when it takes none."""
        if isinstance(self._layout_base, str):
            self._layout_base = _import(self._layout_base)
        return self._layout_base  # type: ignore[return-value]

    # -- registration -----------------------------------------------------------------------
    def bound(self, source: PluginSource) -> ComponentRegistry[T]:
        """Set who the following ``add`` calls are attributed to (the plugin manager does this)."""
        self._source = source
        return self

    def add(self, component: type[T] | str, *, name: str | None = None, aliases: Iterable[str] = (), layout: type | str | None = None) -> None:
        """Register a component class, or an ``"module:Class"`` string loaded on first use.

        ``layout`` (a class or import string) is the component's torch-free half: it declares the
        same ``name`` and ``Options`` and subclasses ``layout_base``; :meth:`options` and
        :meth:`layout` read it without importing the component.

        Raises:
            TypeError: the class does not subclass the right interface or lacks a name/docstring.
            DuplicateComponentError: the name is taken; the message names both distributions.
            PluginError: a third-party name is not namespaced (``vendor.thing``).
        """
        if isinstance(component, str):
            if not name:
                raise TypeError(f"registering {self.kind} {component!r} by import string needs name=...")
        else:
            self._check_class(component)
            name = name or component.name  # type: ignore[attr-defined]
        assert name is not None
        self._check_namespace(name)
        if layout is not None and not isinstance(layout, str):
            self._check_layout(layout, name)
        entry = RegistryEntry(
            name, self.kind, component, self._source.plugin, self._source.distribution, self._source.version, aliases=tuple(aliases),
            layout=layout,
        )
        for key in (name, *entry.aliases):
            self._insert(key, entry)

    def _check_class(self, component: object) -> None:
        if not (isinstance(component, type) and issubclass(component, self.base)):
            raise TypeError(
                f"plugin {self._source.plugin!r} registered {component!r} as a {self.kind}, but it does not subclass "
                f"{self.base.__module__}.{self.base.__name__}; derive from it."
            )
        if not getattr(component, "name", ""):
            raise TypeError(f"{self.kind} class {component.__qualname__} has no `name`; set a class attribute name = '...'.")
        if not (component.__doc__ or "").strip():
            raise TypeError(f"{self.kind} class {component.__qualname__} has no docstring; add one line saying what it is for.")

    def _check_layout(self, layout: object, name: str) -> None:
        base = self.layout_base
        if base is None:
            raise TypeError(f"{self.kind} {name!r}: this registry takes no layout.")
        if not (isinstance(layout, type) and issubclass(layout, base)):
            raise TypeError(f"plugin {self._source.plugin!r} gave {layout!r} as the layout of {self.kind} {name!r}, but it does not subclass "
                            f"{base.__module__}.{base.__name__}; derive from it.")
        if getattr(layout, "name", "") != name:
            raise TypeError(f"the layout {layout.__qualname__} of {self.kind} {name!r} is named {getattr(layout, 'name', '')!r}; "
                            "set its class attribute name to the registered name.")

    def _check_namespace(self, name: str) -> None:
        if not self._source.builtin and "." not in name:
            raise PluginError(
                f"plugin {self._source.plugin!r} ({self._source.distribution}) registered {self.kind} {name!r} without a namespace; "
                f"third-party names must be namespaced, e.g. '{self._source.plugin}.{name}'."
            )

    def _insert(self, key: str, entry: RegistryEntry) -> None:
        old = self._entries.get(key)
        if old is not None:
            raise DuplicateComponentError(
                f"{self.kind} name {key!r} is registered twice: by {old.distribution} {old.version} (plugin {old.plugin!r}) "
                f"and by {entry.distribution} {entry.version} (plugin {entry.plugin!r}). Uninstall one of them or disable one "
                "with HQNN_DISABLE_PLUGINS=<plugin>."
            )
        self._entries[key] = entry

    # -- lookup -----------------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted({e.name for e in self._entries.values()})

    def entries(self) -> list[RegistryEntry]:
        seen: dict[int, RegistryEntry] = {}
        for e in self._entries.values():
            seen.setdefault(id(e), e)
        return sorted(seen.values(), key=lambda e: e.name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def entry(self, name: str) -> RegistryEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownComponentError(self._unknown_message(name)) from None

    def get(self, name: str) -> type[T]:
        """The class registered as ``name`` (importing it on first use)."""
        entry = self.entry(name)
        return self._load(entry)

    def _entry_for(self, name: str) -> RegistryEntry:
        return self.entry(name)

    def layout(self, name: str) -> Any:
        """The torch-free layout of ``name``: its registered layout, else the component class itself (which extends one)."""
        entry = self._entry_for(name)
        if entry.layout is None:
            return self._load(entry)
        if entry.loaded_layout is None:
            layout = entry.layout
            if isinstance(layout, str):
                try:
                    layout = _import(layout)
                except (ImportError, AttributeError) as e:
                    raise PluginError(f"{self.kind} {entry.name!r} from {entry.distribution}: its layout {entry.layout!r} failed to load: "
                                      f"{type(e).__name__}: {e}. Reinstall {entry.distribution} or report it to its authors.") from e
                self._check_layout(layout, entry.name)
            entry.loaded_layout = layout
        return entry.loaded_layout

    def options(self, name: str) -> type[Any]:
        """The pydantic ``Options`` model of ``name``, read from its layout (no torch for the built-ins)."""
        return self.layout(name).Options

    def _load(self, entry: RegistryEntry) -> Any:
        if entry.loaded is not None:
            return entry.loaded
        if not isinstance(entry.target, str):
            entry.loaded = entry.target
            return entry.loaded
        missing = entry.missing
        if missing:
            raise MissingExtraError(self._missing_message(entry, missing)) from None
        module_name = entry.target.partition(":")[0]
        try:
            obj = _import(entry.target)
        except ModuleNotFoundError as e:
            if entry.extra:
                raise MissingExtraError(self._missing_message(entry, [e.name or module_name])) from None
            raise PluginError(f"{self.kind} {entry.name!r} from {entry.distribution} failed to import {entry.target!r}: {e}") from e
        except (ImportError, AttributeError) as e:
            raise PluginError(
                f"{self.kind} {entry.name!r} from {entry.distribution} points at {entry.target!r}, which failed to load: "
                f"{type(e).__name__}: {e}. Reinstall {entry.distribution} or report it to its authors."
            ) from e
        self._check_class(obj)
        entry.loaded = obj
        return obj

    def _missing_message(self, entry: RegistryEntry, missing: list[str]) -> str:
        family = family_of(entry.name)
        what = KNOWN_FAMILIES[family][1] if family else ", ".join(missing)
        hint = install_hint(entry.extra) if entry.extra else f"pip install {' '.join(missing)}"
        return f"{self.kind.capitalize()} {entry.name!r} needs {what}, which is not installed ({', '.join(missing)} missing). Install it with: {hint}"

    def _unknown_message(self, name: str) -> str:
        known = self.names()
        msg = f"Unknown {self.kind} {name!r}."
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.6)
        if close:
            msg += f" Did you mean {' or '.join(repr(c) for c in close)}?"
        family = family_of(name)
        if family:
            extra, what = KNOWN_FAMILIES[family]
            msg += f" {self.kind.capitalize()}s named '{family}...' come from {what}: install it with {install_hint(extra)}."
        msg += f" Installed {self.kind}s: {', '.join(known) or 'none'}."
        return msg


class BackendRegistry(ComponentRegistry[Any]):
    """Backend names, plain (``torch``, ``qiskit.aer``) or families (``pennylane:<device>``)."""

    def add(  # type: ignore[override]
        self,
        name: str,
        target: type | str | None = None,
        *,
        extra: str | None = None,
        requires: Iterable[str] = (),
        aliases: Iterable[str] = (),
        layout: type | str | None = None,
    ) -> None:
        """Register backend ``name`` pointing at a Backend class or an ``"module:Class"`` string.

        ``requires`` lists the top-level modules it needs (checked with ``find_spec``, never imported)
        and ``extra`` the pip extra that installs them; ``layout`` names its torch-free
        :class:`~hqnn_core.interfaces.layout.BackendLayout` (options and capabilities).
        """
        if isinstance(name, type):  # registry.add(MyBackend): the class carries its own name
            name, target = name.name, name
        self._add(name, target, extra, requires, aliases, family=False, layout=layout)

    def add_family(self, prefix: str, target: type | str, *, extra: str | None = None, requires: Iterable[str] = (),
                   layout: type | str | None = None) -> None:
        """Register ``prefix:<target>`` names; the class is built with ``target=<target>``."""
        self._add(prefix, target, extra, requires, (), family=True, layout=layout)

    def _add(self, name: str, target: Any, extra: str | None, requires: Iterable[str], aliases: Iterable[str], family: bool,
             layout: type | str | None = None) -> None:
        if target is None:
            raise TypeError(f"backend {name!r} needs a target class or 'module:Class' string")
        if not isinstance(target, str):
            self._check_class(target)
        if not self._source.builtin and "." not in name and not family:
            raise PluginError(
                f"plugin {self._source.plugin!r} ({self._source.distribution}) registered backend {name!r} without a namespace; "
                f"name it e.g. '{self._source.plugin}.{name}' or register a family with add_family."
            )
        if layout is not None and not isinstance(layout, str):
            self._check_layout(layout, name)
        entry = RegistryEntry(
            name, self.kind, target, self._source.plugin, self._source.distribution, self._source.version,
            extra=extra, requires=tuple(requires), family=family, aliases=tuple(aliases), layout=layout,
        )
        for key in (name, *entry.aliases):
            self._insert(key, entry)

    def resolve(self, full_name: str) -> tuple[RegistryEntry, str | None]:
        """Split ``family:target`` names; return the entry and the target (``None`` for plain names)."""
        if full_name in self._entries and not self._entries[full_name].family:
            return self._entries[full_name], None
        prefix, sep, target = full_name.partition(":")
        entry = self._entries.get(prefix)
        if entry is not None and entry.family:
            if not target:
                raise UnknownComponentError(f"Backend family {prefix!r} needs a target: write '{prefix}:<name>'.")
            return entry, target
        if entry is not None and sep:
            raise UnknownComponentError(f"Backend {prefix!r} takes no ':<target>' suffix; write just {prefix!r}.")
        return self.entry(full_name), None

    def _entry_for(self, name: str) -> RegistryEntry:
        return self.resolve(name)[0]

    def get(self, name: str) -> Any:
        entry, _ = self.resolve(name)
        return self._load(entry)


class ConverterRegistry(BackendRegistry):
    """Format names (``qiskit``, ``qasm3``, ``pennylane``) → :class:`~hqnn_core.interfaces.converter.Converter` classes.

    Registered by import string with the modules they need, like backends, so that listing them
    never imports an SDK; a third-party format name must be namespaced (``acme.qasm``).
    """

    def add_family(self, prefix: str, target: type | str, *, extra: str | None = None, requires: Iterable[str] = (),
                   layout: type | str | None = None) -> None:
        raise TypeError("converters are registered by plain name with add(); families are for backends.")
