"""The docs-sync checks fail when a hookspec or a public name is added without docs (and pass once documented).

The hookspec arrives the way a plugin would add one: ``add_hookspecs`` on the live plugin manager,
with a spec module written in a temporary file; the public name is set on ``hqnn_core`` itself.
"""

from __future__ import annotations

import importlib.util
import textwrap

import docsync
import pytest
from docs_pages import page

import hqnn_core
from hqnn_core.plugin_manager import get_plugins

SPEC_SOURCE = '''
from __future__ import annotations

from hqnn_core.hookspecs import hookspec


@hookspec
def hqnn_job_submitted(backend: Backend, job_id: str, *, attempt: int = 1) -> None:
    """Observe every vendor job an adapter submits."""


@hookspec(firstresult=True)
def hqnn_price_estimate(backend: Backend, shots: int) -> float | None:
    """Estimate what a job costs; the first answer wins."""
'''

NEW_SIGNATURE = "hqnn_job_submitted(backend: Backend, job_id: str, *, attempt: int = 1) -> None"


@pytest.fixture
def extra_specs(tmp_path):
    path = tmp_path / "acme_hookspecs.py"
    path.write_text(SPEC_SOURCE)
    spec = importlib.util.spec_from_file_location("acme_hookspecs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pm = get_plugins().pm  # the conftest fixture rebuilds the manager after the test
    pm.add_hookspecs(module)
    return pm


def _section(name: str, body: str) -> str:
    return f"\n## `{name}`\n\n```python\n{body}\n```\n\nWhat it does.\n"


def test_a_new_hookspec_is_reported_until_documented(extra_specs):
    text = page("plugins/hooks.md")
    problems = docsync.hook_problems(docsync.hookspecs(extra_specs), text)
    assert {p.subject for p in problems} == {"hqnn_job_submitted", "hqnn_price_estimate"}
    assert all("no section" in p.message for p in problems)
    assert f"`{NEW_SIGNATURE}`" in str(next(p for p in problems if p.subject == "hqnn_job_submitted"))

    documented = text + _section("hqnn_job_submitted", f"def {NEW_SIGNATURE}: ...") + _section(
        "hqnn_price_estimate", "def hqnn_price_estimate(backend: Backend, shots: int) -> float | None: ...\n# firstresult=True")
    assert docsync.hook_problems(docsync.hookspecs(extra_specs), documented) == []


def test_a_wrong_signature_or_a_missing_option_is_reported(extra_specs):
    text = page("plugins/hooks.md")
    stale_arg = text + _section("hqnn_job_submitted", "def hqnn_job_submitted(backend: Backend, job: str, *, attempt: int = 1) -> None: ...")
    stale_arg += _section("hqnn_price_estimate", "def hqnn_price_estimate(backend: Backend, shots: int) -> float | None: ...")
    problems = docsync.hook_problems(docsync.hookspecs(extra_specs), stale_arg)
    messages = {p.subject: p.message for p in problems}
    assert set(messages) == {"hqnn_job_submitted", "hqnn_price_estimate"}
    assert "exact signature" in messages["hqnn_job_submitted"] and NEW_SIGNATURE in messages["hqnn_job_submitted"]
    assert "firstresult=True" in messages["hqnn_price_estimate"]


def test_a_changed_existing_signature_and_a_removed_hook_are_reported():
    specs = docsync.hookspecs(get_plugins().pm)
    text = page("plugins/hooks.md")
    changed = text.replace("def hqnn_run_finished(run: Mapping[str, Any], error: BaseException | None) -> None: ...",
                           "def hqnn_run_finished(run: Mapping[str, Any]) -> None: ...")
    assert changed != text
    assert [p.subject for p in docsync.hook_problems(specs, changed)] == ["hqnn_run_finished"]
    removed = {name: s for name, s in specs.items() if name != "hqnn_run_started"}
    problems = docsync.hook_problems(removed, text)
    assert [(p.subject, "no such hookspec" in p.message) for p in problems] == [("hqnn_run_started", True)]


def test_headings_inside_code_blocks_do_not_count():
    fenced = "# Hooks\n\n```python\n## `hqnn_fake`\ndef hqnn_fake() -> None: ...\n```\n"
    assert docsync.sections(fenced)[0].title == "Hooks"
    assert len(docsync.sections(fenced)) == 1


def test_a_new_public_name_is_reported_until_exported_and_documented(monkeypatch):
    text = page("api.md")

    def brand_new_helper() -> None:
        """A new public function."""

    monkeypatch.setattr(hqnn_core, "brand_new_helper", brand_new_helper, raising=False)
    problems = docsync.public_api_problems(hqnn_core, text)
    assert [(p.subject, "not in __all__" in p.message) for p in problems] == [("hqnn_core.brand_new_helper", True)]

    monkeypatch.setattr(hqnn_core, "__all__", sorted([*hqnn_core.__all__, "brand_new_helper"]))
    problems = docsync.public_api_problems(hqnn_core, text)
    assert [(p.subject, "not documented in docs/api.md" in p.message) for p in problems] == [("hqnn_core.brand_new_helper", True)]

    documented = text + "\n```{eval-rst}\n.. autofunction:: hqnn_core.brand_new_helper\n```\n"
    assert docsync.public_api_problems(hqnn_core, documented) == []


def test_an_unsorted_or_dangling_all_is_reported(monkeypatch):
    text = page("api.md")
    names = list(hqnn_core.__all__)
    monkeypatch.setattr(hqnn_core, "__all__", [names[1], names[0], *names[2:]])
    assert [p.subject for p in docsync.public_api_problems(hqnn_core, text)] == ["hqnn_core.__all__"]
    monkeypatch.setattr(hqnn_core, "__all__", sorted([*names, "Vanished"]))
    messages = [str(p) for p in docsync.public_api_problems(hqnn_core, text)]
    assert any("hqnn_core.Vanished: is in __all__ but the module has no such attribute" == m for m in messages)
    assert any(m.startswith("hqnn_core.Vanished: is not documented") for m in messages)


def test_a_page_documenting_a_name_that_is_gone_is_reported():
    text = page("api.md") + textwrap.dedent("""
        ```{eval-rst}
        .. autoclass:: hqnn_core.OldLayer
        ```
        """)
    problems = docsync.public_api_problems(hqnn_core, text)
    assert [p.subject for p in problems] == ["hqnn_core.OldLayer"]
    assert "not in __all__" in problems[0].message
