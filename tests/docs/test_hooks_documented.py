"""Every hookspec appears in docs/plugins/hooks.md with its exact signature (datasette's docs-sync test)."""

from __future__ import annotations

import docsync
from docs_pages import page

from hqnn_core import hookspecs as spec_module
from hqnn_core.plugin_manager import get_plugins


def test_every_hookspec_is_documented_with_its_exact_signature():
    problems = docsync.hook_problems(docsync.hookspecs(get_plugins().pm), page("plugins/hooks.md"))
    assert problems == [], "\n".join(map(str, problems))


def test_the_checked_hooks_are_the_whole_spec_module():
    # the manager's specs are what the check reads; they must be exactly hookspecs.py's (13 today)
    from_manager = set(docsync.hookspecs(get_plugins().pm))
    from_module = set(docsync.hookspecs(spec_module))
    assert from_manager == from_module
    assert len(from_module) == 13


def test_signatures_are_normalised_as_documented():
    spec = docsync.hookspecs(spec_module)
    assert docsync.signature_text(spec["hqnn_register_encoders"].function) == "hqnn_register_encoders(registry: ComponentRegistry[Encoder]) -> None"
    assert docsync.signature_text(spec["hqnn_choose_gradient"].function) == (
        "hqnn_choose_gradient(backend: Backend, circuit: Circuit, shots: int | None) -> str | None"
    )
    assert docsync.signature_text(spec["hqnn_environment_info"].function) == "hqnn_environment_info() -> Mapping[str, str]"
    assert spec["hqnn_choose_gradient"].opts["firstresult"] is True
