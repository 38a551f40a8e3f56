"""The model a profile describes: classical front end -> QuantumLayer -> classical head.

The classical baseline is the same pipeline with the quantum layer swapped for ``Linear + tanh``
of the same input and output widths, so "did the quantum part help?" compares like with like.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from hqnn_core.config import FrontEndConfig, HeadConfig, Profile
from hqnn_core.errors import ConfigError
from hqnn_core.layer import QuantumLayer
from hqnn_core.training.transfer import pretrained_front_end


class Scale(nn.Module):
    """Multiply by a constant (maps tanh's [-1, 1] to an angle range)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:.6g}"


def _activation(name: str) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.Tanh()


def _dense(widths: list[int], cfg: FrontEndConfig) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), _activation(cfg.activation)]
        if cfg.dropout:
            layers.append(nn.Dropout(cfg.dropout))
    return layers


ImageShape = tuple[int, int, int] | tuple[int, int]


def build_front_end(cfg: FrontEndConfig, n_inputs: int, n_outputs: int, image_shape: ImageShape | None, source: str,
                    base_dir: str | Path = ".") -> nn.Module:
    """Front end ending in ``Linear -> tanh -> * output_scale`` with ``n_outputs`` features (or Identity).

    ``image_shape`` is ``(C, H, W)`` (or ``(H, W)``, one channel) of the flattened image samples a cnn unflattens;
    ``base_dir`` is where a pretrained backbone's relative ``from`` path starts (the profile's folder).
    """
    if cfg.kind == "pretrained":
        return pretrained_front_end(cfg, n_inputs, n_outputs, image_shape, source, Path(base_dir), build_front_end, Scale)
    if cfg.kind == "none":
        if n_inputs != n_outputs:
            raise ConfigError(
                f"{source}: model.front_end.kind: none passes the {n_inputs} data features straight to the quantum layer, "
                f"whose encoder takes {n_outputs}; set data.pca: {n_outputs}, or use front_end kind mlp or cnn."
            )
        return nn.Identity()
    if cfg.kind == "mlp":
        widths = [n_inputs, *cfg.hidden]
        layers = _dense(widths, cfg)
    else:
        if image_shape is None:
            raise ConfigError(
                f"{source}: model.front_end.kind: cnn needs image data (digits, idx, or npz image arrays) without data.pca; "
                "remove data.pca or use kind: mlp."
            )
        c, h, w = image_shape if len(image_shape) == 3 else (1, *image_shape)
        if c * h * w != n_inputs:
            raise ConfigError(f"{source}: model.front_end: images of shape {(c, h, w)} are {c * h * w} values, but the data has {n_inputs} features.")
        layers = [nn.Unflatten(1, (c, h, w))]
        channels = [c, *cfg.channels]
        for a, b in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv2d(a, b, cfg.kernel_size, padding=cfg.kernel_size // 2), _activation(cfg.activation)]
            if h >= 2 and w >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        layers.append(nn.Flatten())
        widths = [channels[-1] * h * w, *cfg.hidden]
        layers += _dense(widths, cfg)
    layers += [nn.Linear(widths[-1], n_outputs), nn.Tanh(), Scale(cfg.output_scale)]
    return nn.Sequential(*layers)


def build_head(cfg: HeadConfig, n_inputs: int, n_classes: int, source: str) -> nn.Module:
    if cfg.kind == "none":
        if cfg.hidden or n_inputs != n_classes:
            raise ConfigError(
                f"{source}: model.head.kind: none uses the {n_inputs} observables as logits of {n_classes} classes; "
                "give one observable per class (model.quantum.observables) and no head.hidden, or use kind: linear."
            )
        return nn.Identity()
    widths = [n_inputs, *cfg.hidden]
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], n_classes))
    return nn.Sequential(*layers)


class HybridModel(nn.Module):
    """``head(middle(front(x)))``; ``middle`` is a QuantumLayer, or Linear + tanh in the baseline."""

    def __init__(self, front: nn.Module, middle: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.front, self.middle, self.head = front, middle, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.middle(self.front(x)))

    @property
    def quantum(self) -> QuantumLayer | None:
        return self.middle if isinstance(self.middle, QuantumLayer) else None


def build_model(
    profile: Profile, n_features: int, n_classes: int, image_shape: ImageShape | None, layer: QuantumLayer, source: str = "<profile>",
    base_dir: str | Path = ".",
) -> HybridModel:
    """Front end -> ``layer`` -> head. Classical weights come from torch's global generator (seed it first)."""
    front = build_front_end(profile.model.front_end, n_features, layer.n_features, image_shape, source, base_dir)
    head = build_head(profile.model.head, layer.n_outputs, n_classes, source)
    return HybridModel(front, layer, head)


def build_baseline(profile: Profile, n_features: int, n_classes: int, image_shape: ImageShape | None, layer: QuantumLayer, source: str = "<profile>",
                   base_dir: str | Path = ".") -> HybridModel:
    """The same pipeline with ``Linear(encoder features, observables) + tanh`` in place of the quantum layer."""
    middle = nn.Sequential(nn.Linear(layer.n_features, layer.n_outputs), nn.Tanh())
    front = build_front_end(profile.model.front_end, n_features, layer.n_features, image_shape, source, base_dir)
    head = build_head(profile.model.head, layer.n_outputs, n_classes, source)
    return HybridModel(front, middle, head)


def check_front_end(model: HybridModel, sample: torch.Tensor, source: str) -> None:
    """Run one sample through the classical front end (eval mode: no dropout, no random numbers, no circuit).

    A data shape the front end cannot take is then a profile error at ``hqnn validate``, not a crash in the first batch.
    """
    was_training = model.front.training
    model.front.eval()
    try:
        with torch.no_grad():
            model.front(sample)
    except RuntimeError as e:
        raise ConfigError(
            f"{source}: model.front_end: samples with {sample.shape[1]} features do not fit the {type(model.front).__name__} front end ({e}); "
            "check the data's shape against model.front_end (kind, channels, kernel_size)."
        ) from None
    finally:
        model.front.train(was_training)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def describe_model(model: HybridModel) -> dict[str, Any]:
    info: dict[str, Any] = {
        "parameters": count_parameters(model),
        "front_end_parameters": count_parameters(model.front),
        "frozen_parameters": sum(p.numel() for p in model.parameters() if not p.requires_grad),
        "middle_parameters": count_parameters(model.middle),
        "head_parameters": count_parameters(model.head),
        "architecture": str(model),
    }
    if model.quantum is not None:
        info["quantum"] = model.quantum.describe()
    return info


__all__ = ["HybridModel", "Scale", "build_baseline", "build_model", "check_front_end", "count_parameters", "describe_model"]
