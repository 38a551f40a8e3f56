"""How the built-in optimisers step and what a step costs, torch-free (the torch halves are :mod:`hqnn_plugins.optimizers`)."""

from __future__ import annotations

from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces.layout import OptimizerLayout
from hqnn_core.registry import ComponentRegistry
from hqnn_plugins.optimizer_options import AdamOptions, COBYLAOptions, SGDOptions, SPSAOptions, cobyla_evaluations


class AdamLayout(OptimizerLayout):
    """torch.optim.Adam's options (:class:`hqnn_plugins.optimizers.AdamOptimizer`)."""

    name = "adam"
    Options = AdamOptions


class SGDLayout(OptimizerLayout):
    """torch.optim.SGD's options (:class:`hqnn_plugins.optimizers.SGDOptimizer`)."""

    name = "sgd"
    Options = SGDOptions


class SPSALayout(OptimizerLayout):
    """SPSA: two loss evaluations per step, no backward pass (:class:`hqnn_plugins.optimizers.SPSAOptimizer`)."""

    name = "spsa"
    stepping = "loss"
    Options = SPSAOptions

    def evaluations_per_step(self, n_params: int) -> int:
        return 2


class COBYLALayout(OptimizerLayout):
    """COBYLA on the whole training set each epoch (:class:`hqnn_plugins.optimizers.COBYLAOptimizer`)."""

    name = "cobyla"
    stepping = "whole_set"
    Options = COBYLAOptions

    def steps_per_epoch(self, n_batches: int, n_params: int) -> int:
        """scipy's evaluations (every parameter is one COBYLA variable) plus the best point's, if scipy did not record it."""
        return cobyla_evaluations(n_params, self.options.maxiter) + 1


LAYOUTS: dict[str, type[OptimizerLayout]] = {"AdamOptimizer": AdamLayout, "SGDOptimizer": SGDLayout, "SPSAOptimizer": SPSALayout,
                                             "COBYLAOptimizer": COBYLALayout}


@hookimpl
def hqnn_register_optimizers(registry: ComponentRegistry[OptimizerLayout]) -> None:
    for torch_class, layout in LAYOUTS.items():
        registry.add(f"hqnn_plugins.optimizers:{torch_class}", name=layout.name, layout=layout)
