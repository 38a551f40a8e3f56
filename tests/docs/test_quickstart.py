"""The quickstart's Python example runs as printed and reaches the accuracy the page states."""

from __future__ import annotations

import re

from docs_pages import marked_block, module_from, page


def test_quickstart_example_trains_to_the_stated_accuracy(capsys):
    text = page("quickstart.md")
    module_from(marked_block(text, "quickstart"), "quickstart_example")
    printed = capsys.readouterr().out
    accuracy = float(re.fullmatch(r"training accuracy (\d\.\d{3})\n", printed).group(1))
    stated = float(re.search(r"This prints `training accuracy (\d\.\d{3})`", text).group(1))
    assert accuracy == stated == 1.0
