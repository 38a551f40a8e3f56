"""Checks ``train.optimizer`` against the optimiser registry (the optimisers are in ``hqnn_plugins.optimizers``).

Kept while :mod:`hqnn_core.config` calls it; the check itself is the registry's, like every component's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hqnn_core.config import ComponentRef, LoadedProfile


def check_optimizer(ref: ComponentRef, loaded: LoadedProfile) -> Any:
    """Validate ``train.optimizer`` (name and options) with a did-you-mean; returns the optimiser class."""
    from hqnn_core.training.validate import check_ref

    return check_ref("optimizer", ref, "train.optimizer", loaded)
