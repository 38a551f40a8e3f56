"""Builds the plugin manager and the component registries from built-ins and entry points.

Built-in components register through the same hooks as third-party packages. Entry points in the
``hqnn`` group are loaded one at a time: a plugin that fails to import is recorded as broken and
warned about, and only strict mode (``HQNN_STRICT_PLUGINS=1``) makes that fatal.

Environment switches:
    HQNN_DISABLE_PLUGIN_AUTOLOAD=1  load no entry points (built-ins only; the test suite sets it)
    HQNN_DISABLE_PLUGINS=a,b        skip these entry points
    HQNN_LOAD_PLUGINS=a,b           load only these entry points
    HQNN_STRICT_PLUGINS=1           a plugin that fails to load is an error
    HQNN_TRACE_PLUGINS=1            print every hook call to stderr
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata as md
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from hqnn_core import __version__, hookspecs
from hqnn_core.errors import HQNNError, IncompatiblePluginError, PluginError, PluginLoadError, PluginLoadWarning
from hqnn_core.registry import BUILTIN_DISTRIBUTION, BackendRegistry, ComponentRegistry, ConverterRegistry, PluginSource

if TYPE_CHECKING:
    from hqnn_core.interfaces import Ansatz, Encoder, GradientEstimator, Mitigator, Optimizer

ENTRY_POINT_GROUP = "hqnn"

#: The built-in plugins: torch-free modules that register components by import string with their layouts.
DEFAULT_PLUGINS = (
    "hqnn_plugins.layouts.encoders",
    "hqnn_plugins.layouts.ansatze",
    "hqnn_plugins.layouts.gradients",
    "hqnn_plugins.layouts.backends",
    "hqnn_plugins.layouts.mitigators",
    "hqnn_plugins.layouts.optimizers",
    "hqnn_plugins.tracking",
    "hqnn_plugins.crash_points",
)

REGISTRATION_HOOKS = {
    "encoders": "hqnn_register_encoders",
    "ansatze": "hqnn_register_ansatze",
    "gradients": "hqnn_register_gradients",
    "mitigators": "hqnn_register_mitigators",
    "optimizers": "hqnn_register_optimizers",
    "backends": "hqnn_register_backends",
    "converters": "hqnn_register_converters",
}


@dataclass
class PluginInfo:
    """One plugin as ``hqnn plugins`` shows it."""

    name: str
    distribution: str
    version: str
    status: str = "ok"  # ok | broken | blocked
    error: str = ""
    hooks: list[str] = field(default_factory=list)
    entry_point: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _names(name: str) -> set[str]:
    return {p.strip() for p in os.environ.get(name, "").split(",") if p.strip()}


def hqnn_version() -> str:
    try:
        return md.version("hqnn")
    except md.PackageNotFoundError:
        return __version__


class Plugins:
    """The built plugin manager, its registries and the status of every plugin."""

    def __init__(self, strict: bool | None = None, autoload: bool | None = None, commands_only: bool = False) -> None:
        self.strict = _flag("HQNN_STRICT_PLUGINS") if strict is None else strict
        self.autoload = (not _flag("HQNN_DISABLE_PLUGIN_AUTOLOAD")) if autoload is None else autoload
        self.pm = pluggy.PluginManager("hqnn")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._sources: dict[str, PluginSource] = {}
        for module_name in () if commands_only else DEFAULT_PLUGINS:
            self._register(importlib.import_module(module_name), module_name, PluginSource(module_name, BUILTIN_DISTRIBUTION, hqnn_version()))
        if self.autoload:
            self._load_entry_points()
        self._check_hooks()
        if _flag("HQNN_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()
        if not commands_only:
            self.build_registries()

    # -- loading ----------------------------------------------------------------------------
    def _register(self, module: object, name: str, source: PluginSource, entry_point: str = "") -> None:
        self.pm.register(module, name=name)
        self._sources[name] = source
        hooks = sorted(h.name for h in self.pm.get_hookcallers(module) or [])
        self.infos[name] = PluginInfo(name, source.distribution, source.version, hooks=hooks, entry_point=entry_point)

    def _load_entry_points(self) -> None:
        disabled, only = _names("HQNN_DISABLE_PLUGINS"), _names("HQNN_LOAD_PLUGINS")
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist else "unknown"
            version = ep.dist.version if ep.dist else ""
            if ep.name in disabled or (only and ep.name not in only):
                self.pm.set_blocked(ep.name)
                self.infos[ep.name] = PluginInfo(ep.name, dist, version, status="blocked", entry_point=ep.value)
                continue
            if ep.name in self.infos:
                other = self.infos[ep.name]
                self._broken(
                    ep.name, dist, version, ep.value,
                    PluginError(f'plugin name "{ep.name}" from {dist} {version} is already taken by {other.distribution} {other.version}; '
                                "rename one entry point or uninstall one distribution."),
                )
                continue
            try:
                self._check_compatible(ep.dist)
                module = ep.load()
                self._register(module, ep.name, PluginSource(ep.name, dist, version), entry_point=ep.value)
            except Exception as e:  # noqa: BLE001 - a broken plugin must not take the others down
                self._broken(ep.name, dist, version, ep.value, e)

    def _broken(self, name: str, dist: str, version: str, value: str, error: BaseException) -> None:
        detail = str(error) if isinstance(error, HQNNError) else f"{type(error).__name__}: {error}"
        message = f'Error importing plugin "{name}" from {dist} {version}: {detail}'
        if isinstance(error, IncompatiblePluginError):
            message = detail
        if self.strict:
            cls = IncompatiblePluginError if isinstance(error, IncompatiblePluginError) else PluginLoadError
            raise cls(message + " (strict plugin mode is on: HQNN_STRICT_PLUGINS=1)") from error
        with contextlib.suppress(ValueError):
            self.pm.unregister(name=name)
        self.infos[name] = PluginInfo(name, dist, version, status="broken", error=message, entry_point=value)
        warnings.warn(message + ". The plugin was skipped; run `hqnn plugins` for details.", PluginLoadWarning, stacklevel=3)

    def _check_compatible(self, dist: md.Distribution | None) -> None:
        if dist is None:
            return
        installed = Version(hqnn_version())
        for raw in dist.requires or []:
            try:
                req = Requirement(raw)
            except InvalidRequirement:
                continue
            if req.name == "hqnn" and not req.marker and not req.specifier.contains(installed, prereleases=True):
                raise IncompatiblePluginError(
                    f"{dist.name} {dist.version} requires hqnn{req.specifier} but {installed} is installed; "
                    f"upgrade one of them, or disable the plugin with HQNN_DISABLE_PLUGINS."
                )

    def _check_hooks(self) -> None:
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as e:
            plugin = self.pm.get_name(e.plugin) or "?"
            source = self._sources.get(plugin, PluginSource(plugin, "unknown"))
            raise PluginError(
                f"plugin {plugin!r} from {source.distribution} implements an unknown hook: {e}. "
                "Hook names start with `hqnn_`; see docs/plugins/hooks.md for the list."
            ) from None

    # -- registries -------------------------------------------------------------------------
    def build_registries(self) -> None:
        """Call every registration hook once per plugin, attributing entries to that plugin.

        The interfaces are named by import string (they import torch) and loaded when a component
        class is first checked; the built-ins register import strings and torch-free layouts, so
        building the registries imports no torch (docs/architecture.md, deviation 11).
        """
        interfaces, layout = "hqnn_core.interfaces", "hqnn_core.interfaces.layout"
        self.encoders: ComponentRegistry[Encoder] = ComponentRegistry("encoder", f"{interfaces}.encoder:Encoder", f"{layout}:EncoderLayout")
        self.ansatze: ComponentRegistry[Ansatz] = ComponentRegistry("ansatz", f"{interfaces}.ansatz:Ansatz", f"{layout}:AnsatzLayout")
        self.gradients: ComponentRegistry[GradientEstimator] = ComponentRegistry("gradient", f"{interfaces}.gradient:GradientEstimator",
                                                                                 f"{layout}:GradientLayout")
        self.mitigators: ComponentRegistry[Mitigator] = ComponentRegistry("mitigator", f"{interfaces}.mitigator:Mitigator",
                                                                          f"{layout}:MitigatorLayout")
        self.optimizers: ComponentRegistry[Optimizer] = ComponentRegistry("optimizer", f"{interfaces}.optimizer:Optimizer",
                                                                          f"{layout}:OptimizerLayout")
        self.backends = BackendRegistry("backend", f"{interfaces}.backend:Backend", f"{layout}:BackendLayout")
        self.converters = ConverterRegistry("converter", f"{interfaces}.converter:Converter")
        for attr, hook_name in REGISTRATION_HOOKS.items():
            registry = getattr(self, attr)
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                source = self._sources.get(impl.plugin_name, PluginSource(impl.plugin_name, "unknown"))
                kwargs = {"registry": registry.bound(source)} if "registry" in impl.argnames else {}
                try:
                    impl.function(**kwargs)
                except HQNNError:
                    raise
                except Exception as e:  # noqa: BLE001
                    if source.builtin:
                        raise
                    self._broken(impl.plugin_name, source.distribution, source.version, "", e)

    def registry(self, kind: str) -> ComponentRegistry[Any]:
        plural = {"encoder": "encoders", "ansatz": "ansatze", "gradient": "gradients", "mitigator": "mitigators", "optimizer": "optimizers",
                  "backend": "backends", "converter": "converters"}
        return getattr(self, plural.get(kind, kind))

    def plugins(self) -> list[PluginInfo]:
        return sorted(self.infos.values(), key=lambda p: (p.distribution != BUILTIN_DISTRIBUTION, p.name))

    def environment_info(self) -> dict[str, str]:
        info: dict[str, str] = {}
        for result in self.pm.hook.hqnn_environment_info():
            info.update({str(k): str(v) for k, v in dict(result).items()})
        return info


_PLUGINS: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugin manager and registries, built on first use."""
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = Plugins()
    return _PLUGINS


def command_plugins() -> Plugins:
    """The manager ``hqnn`` asks for plugin subcommands (``hqnn_register_commands``).

    The process-wide manager when it is built already (``temporary_plugin`` included); otherwise
    the entry-point plugins alone, without built-ins or registries: built-in plugins add no
    commands, and skipping them keeps torch out of ``hqnn --help``.
    """
    return _PLUGINS if _PLUGINS is not None else Plugins(commands_only=True)


def list_plugins() -> list[dict[str, object]]:
    """Every plugin hqnn knows, with distribution, version, hooks and status (ok, broken, blocked)."""
    return [p.as_dict() for p in get_plugins().plugins()]


def reset_plugins() -> None:
    """Forget the built manager so the next call rebuilds it (tests, and after installing plugins)."""
    global _PLUGINS
    _PLUGINS = None


@contextlib.contextmanager
def temporary_plugin(plugin: object, name: str = "temporary", distribution: str = "temporary-plugin", version: str = "0") -> Iterator[Plugins]:
    """Register ``plugin`` (a module or object with ``@hookimpl`` methods) for the duration of a block."""
    plugins = get_plugins()
    plugins._register(plugin, name, PluginSource(name, distribution, version))
    try:
        plugins._check_hooks()
        plugins.build_registries()
        yield plugins
    finally:
        plugins.pm.unregister(name=name)
        plugins.infos.pop(name, None)
        plugins._sources.pop(name, None)
        plugins.build_registries()
