"""Checks every component kind passes: a name and docstring, options that round-trip, the registered name."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel

from hqnn_core.errors import HQNNError, UnknownComponentError
from hqnn_core.interfaces import Backend, Component
from hqnn_core.plugin_manager import get_plugins
from hqnn_core.testing.checks.common import CheckSkipped, ConformanceSettings, Violation, check, expect, kind_of

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


@check("all")
def check_has_name_and_docstring(component: Component, settings: ConformanceSettings) -> None:
    """The class has a lowercase (dotted) ``name`` and a one-line docstring saying what it is for."""
    cls = type(component)
    name = getattr(cls, "name", "")
    expect(isinstance(name, str) and name, f"class {cls.__qualname__} has no `name`.",
           "set a class attribute name = 'vendor.thing' (third-party names are namespaced with a dot).")
    expect(_NAME.match(name), f"name {name!r} is not lowercase letters, digits and underscores separated by dots.",
           "rename it, e.g. 'mypkg.my_component'; config files and `hqnn components` use this name.")
    doc = (cls.__doc__ or "").strip()
    expect(doc and doc.splitlines()[0].strip(), f"class {cls.__qualname__} has no docstring.",
           "add a one-line docstring saying what the component is for (`hqnn components` shows it).")


@check("all")
def check_options_model_roundtrip(component: Component, settings: ConformanceSettings) -> None:
    """Options -> config dict (JSON) -> a new instance that is equal and has the same config.

    Run records and YAML configs store exactly ``config()``; if it does not rebuild the component,
    a saved run cannot be reproduced.
    """
    cls = type(component)
    expect(isinstance(cls.Options, type) and issubclass(cls.Options, BaseModel),
           f"{cls.__qualname__}.Options is not a pydantic model.", "declare a nested `class Options(pydantic.BaseModel)`.")
    config = component.config()
    try:
        text = json.dumps(config)
    except TypeError as e:
        raise Violation(f"config() is not JSON-serialisable ({e}).",
                        "use JSON-friendly option types (str, int, float, bool, lists, dicts).") from None
    options = json.loads(text)["options"]
    extra = {"target": component.target} if isinstance(component, Backend) else {}
    try:
        rebuilt = cls(**extra, **options)
    except HQNNError as e:
        expect(False, f"its own config {options} does not rebuild it: {e}",
               "make every option accept its JSON form (lists for tuples, strings for enums), e.g. drop strict=True on "
               "tuple fields or add a validator.")
    expect(rebuilt == component, f"rebuilding from config {options} gives {rebuilt!r}, not an equal component.",
           "make config() dump every option, and __eq__ compare options only.")
    expect(rebuilt.config() == config, f"config() changes after a round trip: {config} -> {rebuilt.config()}.",
           "dump options with model_dump(mode='json') and keep defaults stable.")


@check("all")
def check_registered_name_matches(component: Component, settings: ConformanceSettings) -> None:
    """If the component's name is registered in this session, it resolves to this very class."""
    kind = kind_of(component)
    registry = get_plugins().registry(kind)
    name = component.full_name if isinstance(component, Backend) else component.name
    try:
        registered = registry.get(name)
    except UnknownComponentError:
        raise CheckSkipped(
            f"{kind} {name!r} is not registered in this session; register its plugin "
            "(hqnn_core.testing.temporary_plugin) to check that the name resolves to this class."
        ) from None
    expect(registered is type(component),
           f"the registered {kind} {name!r} is {registered.__module__}.{registered.__qualname__}, not {type(component).__qualname__}.",
           "register this class under its own `name` (registry.add(cls)), or fix the name attribute.")
