"""``hqnn_core.__all__`` is sorted and complete, and every name in it is documented in docs/api.md."""

from __future__ import annotations

import docsync
from docs_pages import page

import hqnn_core


def test_public_api_is_sorted_complete_and_documented():
    problems = docsync.public_api_problems(hqnn_core, page("api.md"))
    assert problems == [], "\n".join(map(str, problems))


def test_the_check_sees_the_real_public_names():
    public = docsync.public_attributes(hqnn_core)
    assert {"QuantumLayer", "Backend", "hookimpl", "list_plugins"} <= public
    assert not {"circuit", "errors", "interfaces"} & public  # submodules are not API names
    documented = docsync.documented_names(page("api.md"), "hqnn_core")
    assert documented == set(hqnn_core.__all__)  # "__version__" through the explicit list item
