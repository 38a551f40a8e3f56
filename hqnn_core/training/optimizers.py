"""Checks ``train.optimizer`` against the optimiser registry (the optimisers are in ``hqnn_plugins.optimizers``).

The check itself is the registry's, like every component's (:func:`hqnn_core.training.validate.check_ref`).
"""

from __future__ import annotations

from typing import Any

from hqnn_core.config import ComponentRef, LoadedProfile
from hqnn_core.training.validate import check_ref


def check_optimizer(ref: ComponentRef, loaded: LoadedProfile) -> Any:
    """Validate ``train.optimizer`` (name and options) with a did-you-mean; returns the optimiser class."""
    return check_ref("optimizer", ref, "train.optimizer", loaded)
