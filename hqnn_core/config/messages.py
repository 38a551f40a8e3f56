"""Pydantic validation errors rewritten as one message per problem: the key path, the value and the fix."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from hqnn_core.config.schema import iter_fields, model_at
from hqnn_core.errors import ConfigError

if TYPE_CHECKING:
    from hqnn_core.config.loading import LoadedProfile


def _unknown_key_hint(loc: Sequence[Any]) -> str:
    key = str(loc[-1])
    parent = model_at(loc[:-1])
    allowed = list(parent.model_fields) if parent else []
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}? Allowed here: {', '.join(allowed)}"
    elsewhere = [p for p, _, _ in iter_fields() if p.split(".")[-1] == key]
    if elsewhere:
        return f"unknown key {key!r} here; it belongs at {' or '.join(elsewhere)}. Allowed here: {', '.join(allowed)}"
    return f"unknown key {key!r}; remove it. Allowed here: {', '.join(allowed) or 'none'}"


def _describe_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = json.dumps(value)[:80]
        return f"{text} ({type(value).__name__})"
    return f"{value!r} ({type(value).__name__})"


def problem_text(error: Mapping[str, Any]) -> str:
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return _unknown_key_hint(loc)
    if kind == "missing":
        return "required key is missing; add it (see examples/digits.yaml)"
    if isinstance(value, bool) and kind in {"string_type", "model_type", "dict_type", "literal_error", "model_attributes_type"}:
        return (
            f"got the boolean {value}; YAML reads unquoted yes/no/on/off/true/false as booleans. "
            f"Quote it, e.g. {loc[-1] if loc else 'key'}: 'no'"
        )
    if kind in {"value_error", "assertion_error"}:
        return msg if "got" in msg or isinstance(value, dict) else f"{msg} (got {_describe_value(value)})"
    if kind == "int_type":
        return f"expected an integer, got {_describe_value(value)}; write digits only, e.g. 1000 (not 1e3, 1000.0 or '1000')"
    if kind in {"float_type", "float_parsing"}:
        return f"expected a number, got {_describe_value(value)}; write e.g. 0.01 without quotes"
    if kind == "bool_type":
        return f"expected true or false, got {_describe_value(value)}"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"expected a mapping of keys, got {_describe_value(value)}; indent the keys under it"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        extra = " (PCA is data.pca)" if value == "pca" else ""
        return f"{_describe_value(value)} is not allowed; choose one of {expected}{extra}"
    if kind in {"list_type", "tuple_type"}:
        return f"expected a list, got {_describe_value(value)}; write e.g. [0, 1]"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long", "string_pattern_mismatch"}:
        return f"{msg[0].lower()}{msg[1:]}, got {_describe_value(value)}; change the value"
    return f"{msg}, got {_describe_value(value)}"


def loc_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top>"


def override_origin(path: str, overrides: Sequence[str]) -> str:
    for text in reversed(overrides):
        key = text.partition("=")[0].strip()
        if path == key or path.startswith(key + ".") or key.startswith(path + "."):
            return f" (from --set {text})"
    return ""


def format_validation_error(error: ValidationError, source: str, overrides: Sequence[str] = ()) -> ConfigError:
    """One ConfigError naming the file, each bad key path, the value and the fix."""
    seen, lines = set(), []
    for e in error.errors():
        path = loc_text(e["loc"])
        problem = problem_text(e)
        # section-level checks already name their key (``data.path``): do not prefix the section again
        line = problem if path == "<top>" or problem.startswith(f"{path}.") else f"{path}: {problem}"
        line += override_origin(path, overrides)
        if line not in seen:
            seen.add(line)
            lines.append(line)
    if len(lines) == 1:
        return ConfigError(f"{source}: {lines[0]}.")
    return ConfigError(f"{source}: {len(lines)} problems:\n" + "\n".join(f"  {line}." for line in lines))


def options_error(owner: str, key: str, options: type[BaseModel], error: ValidationError, loaded: LoadedProfile) -> ConfigError:
    """One ConfigError for a component's bad ``options``, naming each key, the allowed options and the --set that set it."""
    allowed = list(options.model_fields)
    lines = []
    for e in error.errors():
        path = f"{key}.options." + loc_text(e["loc"])
        if e["type"] == "extra_forbidden":
            bad = str(e["loc"][-1])
            close = difflib.get_close_matches(bad, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else "; remove it."
            lines.append(f"{path}: {owner} has no option {bad!r}{hint} Its options: {', '.join(allowed) or 'none'}")
        else:
            lines.append(f"{path}: {problem_text(e)}")
    return ConfigError(f"{loaded.source}: " + "; ".join(lines) + override_origin(key, loaded.overrides) + ".")
