"""Layer-wise training (Skolik et al. 2021): grow the ansatz a few layers at a time, freezing earlier ones.

Stage ``k`` (epochs ``k * epochs_per_stage + 1`` to ``(k + 1) * epochs_per_stage``) trains layers
``start_layers + (k - 1) * add_layers`` up to ``start_layers + k * add_layers`` (all grown layers
when ``freeze_earlier`` is false); once every layer has had its stage, every layer trains. Layers
not grown yet keep their starting angles: with ``model.quantum.init: identity_blocks`` and
``add_layers`` even, each pair not grown yet is the identity, so the circuit really grows; with
other strategies the layer's gates act from the start with the angles they started with.

Holding is done by restoring the held angles after every optimiser step, so it works with every
optimiser (Adam's momentum cannot move a frozen angle) and needs no state of its own: on resume
the held angles are the ones in the checkpoint.
"""

from __future__ import annotations

from typing import Any

import torch

from hqnn_core.layer import QuantumLayer


class LayerwiseSchedule:
    """Which ansatz layers train in which epoch, and the step that holds the others."""

    def __init__(self, layer: QuantumLayer, epochs_per_stage: int, start_layers: int = 1, add_layers: int = 1, freeze_earlier: bool = True) -> None:
        self.layer, self.epochs_per_stage, self.start, self.add, self.freeze_earlier = layer, epochs_per_stage, start_layers, add_layers, freeze_earlier
        self.stages = 1 + -(-(layer.layers - min(start_layers, layer.layers)) // add_layers)
        self._held: torch.Tensor | None = None
        self._mask = torch.ones(layer.layers, dtype=torch.bool)

    def trainable(self, epoch: int) -> list[int]:
        """The ansatz layers trained in ``epoch`` (1-based)."""
        stage = (epoch - 1) // self.epochs_per_stage
        total = self.layer.layers
        if stage >= self.stages:
            return list(range(total))
        grown = min(total, self.start + stage * self.add)
        first = 0 if not self.freeze_earlier or stage == 0 else min(total, self.start + (stage - 1) * self.add)
        return list(range(first, grown))

    def begin_epoch(self, epoch: int) -> dict[str, Any]:
        """Hold every layer not trained in ``epoch`` at its current angles; returns what the run record notes."""
        active = self.trainable(epoch)
        self._mask = torch.zeros(self.layer.layers, dtype=torch.bool)
        self._mask[active] = True
        self._held = self.layer.weights.detach().clone()
        return {"trainable_layers": active}

    def after_step(self) -> None:
        """Put the held layers' angles back (whatever the optimiser did to them)."""
        if self._held is None or bool(self._mask.all()):
            return
        with torch.no_grad():
            frozen = ~self._mask
            self.layer.weights[frozen] = self._held[frozen].to(self.layer.weights.dtype)


def schedule_for(config: Any, layer: QuantumLayer | None) -> LayerwiseSchedule | None:
    """The schedule ``train.layerwise`` asks for, or None (no setting, or no quantum layer: the baseline)."""
    if config is None or layer is None:
        return None
    return LayerwiseSchedule(layer, config.epochs_per_stage, config.start_layers, config.add_layers, config.freeze_earlier)


__all__ = ["LayerwiseSchedule", "schedule_for"]
