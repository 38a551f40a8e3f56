"""A digits run (the README's main profile) shared by the run-directory, eval and accuracy tests."""

from __future__ import annotations

import pytest
from training_helpers import EXAMPLES


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """The README's main profile (examples/digits.yaml), trained once for the run-directory, eval and accuracy tests."""
    from hqnn_core.training import train

    out = tmp_path_factory.mktemp("digits") / "run"
    return train(EXAMPLES / "digits.yaml", out=out, quiet=True)
