"""The example at the top of docs/kernels.md runs and fits its data."""

from __future__ import annotations

import contextlib
import io

from docs_pages import marked_block, module_from, page


def test_kernel_example_fits_its_data():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module_from(marked_block(page("kernels.md"), "kernel-example"), "kernel_example")
    score, shape = out.getvalue().split(" ", 1)
    assert float(score) >= 0.95 and shape.strip() == "(40, 40)"
