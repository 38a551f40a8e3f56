"""The profile reference as Markdown, rendered from the schema models so the docs cannot drift."""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel

from hqnn_core.config.schema import ComponentRef, Profile, iter_fields, models_in


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(repr(a).replace("'", "") for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_text(a) for a in typing.get_args(annotation))
    if origin is list:
        return f"list[{_type_text(typing.get_args(annotation)[0])}]"
    if origin is dict:
        return "mapping"
    if annotation is type(None):
        return "null"
    if annotation is ComponentRef:
        return "name \\| {name, options}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(annotation.__name__, annotation.__name__)
    return str(annotation)


def _default_text(info: Any) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        if isinstance(value, ComponentRef):
            return f"`{value.name}`"
        return "(section)"
    return f"`{json.dumps(value)}`"


def _constraints(info: Any) -> str:
    parts = []
    for meta in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "min length"), ("max_length", "max length")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value}")
    return ", ".join(parts)


def schema_markdown() -> str:
    """The profile reference as Markdown, rendered from the pydantic models themselves."""
    lines = ["# Run profile reference", "", "Generated from `hqnn_core.config` by `schema_markdown()`; do not edit by hand.", ""]
    sections: dict[str, list[str]] = {}
    for path, info, _owner in iter_fields():
        head = path.split(".")[0]
        if path == head and models_in(info.annotation) and models_in(info.annotation)[0] is not ComponentRef:
            continue
        models = models_in(info.annotation)
        desc = info.description or ""
        if not desc and models == [ComponentRef]:
            desc = f"component by name or {{name, options}}; {ComponentRef.model_fields['name'].description}"
        elif not desc and models:
            desc = (models[0].__doc__ or "").strip().splitlines()[0]
        limits = _constraints(info)
        row = f"| `{path}` | {_type_text(info.annotation)} | {_default_text(info)} | {desc}{f' ({limits})' if limits else ''} |"
        sections.setdefault(head, []).append(row)
    for name, info in Profile.model_fields.items():
        models = models_in(info.annotation)
        doc = (models[0].__doc__ if models and models[0] is not ComponentRef else info.description) or ""
        lines += [f"## `{name}`", "", doc.strip().splitlines()[0] if doc.strip() else "", ""]
        lines += ["| key | type | default | meaning |", "|---|---|---|---|", *sections.get(name, []), ""]
    return "\n".join(lines)
