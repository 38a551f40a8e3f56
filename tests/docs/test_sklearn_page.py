"""docs/sklearn.md's example runs as printed: the grid search's best parameters and test accuracy are the page's."""

from __future__ import annotations

import ast
import re

import torch
from docs_pages import marked_block, module_from, page


def test_sklearn_page_example_prints_what_the_page_states(capsys):
    text = page("sklearn.md")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the example's circuits are tiny; extra threads only cost (3x CPU time on 2 busy cores)
    try:
        module_from(marked_block(text, "sklearn"), "sklearn_example")
    finally:
        torch.set_num_threads(threads)
    best, accuracy = capsys.readouterr().out.splitlines()
    stated_best, stated_accuracy = re.search(r"This prints `(\{.*?\})` and `test accuracy (\d\.\d{3})`", text).groups()
    assert ast.literal_eval(best) == ast.literal_eval(stated_best) == {"qnn__backend": "torch", "qnn__layers": 1}
    assert accuracy == f"test accuracy {stated_accuracy}"
    assert float(stated_accuracy) >= 0.85
