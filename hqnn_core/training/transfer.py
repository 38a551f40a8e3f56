"""Transfer learning: a pretrained classical backbone as the front end of a dressed quantum circuit (Mari et al. 2020).

``model.front_end: {kind: pretrained, from: PATH, freeze: ...}``. ``PATH`` (relative to the profile's
folder; ``${HQNN_DATASETS}`` expands) is either

* an hqnn run directory: its ``model.pt`` (checked against the sha256 in ``run.json``) and the
  architecture of its ``model.front_end`` (``mlp`` or ``cnn``); or
* a torch ``state_dict`` file of such a front end (keys ``front.*`` of a whole hqnn model, or the
  front end's own keys), whose architecture this section describes with ``backbone: mlp|cnn`` and
  the usual ``hidden``, ``channels``, ``kernel_size`` and ``activation``.

Files are read with ``torch.load(weights_only=True)``, so a file cannot run code. The backbone is
the pretrained front end without its final projection (``Linear -> tanh -> * scale``); a new
projection to the encoder's features is added and trained. ``freeze: true`` fixes every backbone
weight, ``false`` fine-tunes them all, and an integer ``N`` fixes the first ``N`` layers that have
weights (convolutions and dense layers, in order).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hqnn_core.config import FrontEndConfig, resolve_path
from hqnn_core.errors import CheckpointError, ConfigError
from hqnn_core.training.checkpoints import load_weights_only, sha256_bytes
from hqnn_core.training.records import RUN_JSON, RunRecord

_PROJECTION = 3  # Linear, Tanh, Scale: the end of every built front end


def _from_run(run_dir: Path, key: str) -> tuple[dict[str, Any], FrontEndConfig]:
    record = RunRecord.load(run_dir)
    weights = (record.data.get("hybrid") or {}).get("weights")
    if not weights:
        raise ConfigError(f"{key}: run {run_dir} has no trained model.pt yet; finish that run (hqnn train --resume {run_dir}) or point at a state_dict.")
    path = run_dir / weights["file"]
    blob = path.read_bytes() if path.is_file() else b""
    if sha256_bytes(blob) != weights["sha256"]:
        raise CheckpointError(f"{key}: {path} is missing or does not match the sha256 in {run_dir / RUN_JSON}; the saved model is damaged.")
    state = load_weights_only(blob, str(path))
    front = FrontEndConfig.model_validate(record.data["profile"]["resolved"]["model"]["front_end"])
    if front.kind not in ("mlp", "cnn"):
        raise ConfigError(f"{key}: run {run_dir} has front_end kind {front.kind!r}; a backbone comes from a run with kind mlp or cnn.")
    return {k.removeprefix("front."): v for k, v in state.items() if k.startswith("front.")}, front


def _from_file(path: Path, cfg: FrontEndConfig, key: str) -> tuple[dict[str, Any], FrontEndConfig]:
    if cfg.backbone is None:
        raise ConfigError(f"{key}: {path} is a state_dict, which does not say its architecture; set model.front_end.backbone: cnn or mlp "
                          "(with its channels, hidden, kernel_size and activation).")
    state = load_weights_only(path.read_bytes(), str(path))
    if any(k.startswith("front.") for k in state):
        state = {k.removeprefix("front."): v for k, v in state.items() if k.startswith("front.")}
    arch = cfg.model_copy(update={"kind": cfg.backbone})
    return state, arch


def _freeze(backbone: list[nn.Module], freeze: bool | int) -> None:
    weighted = [m for m in backbone if any(True for _ in m.parameters(recurse=False))]
    count = len(weighted) if freeze is True else 0 if freeze is False else int(freeze)
    for module in weighted[:count]:
        for p in module.parameters():
            p.requires_grad_(False)


def pretrained_front_end(cfg: FrontEndConfig, n_inputs: int, n_outputs: int, image_shape: tuple[int, ...] | None, source: str,
                         base_dir: Path, build: Callable[..., nn.Module], scale: Callable[[float], nn.Module]) -> nn.Sequential:
    """The pretrained backbone, frozen as ``cfg.freeze`` says, then a new trainable projection to ``n_outputs`` angles."""
    key = f"{source}: model.front_end.from"
    assert cfg.from_ is not None  # the config requires it for kind: pretrained
    path = resolve_path(cfg.from_, base_dir, "model.front_end.from", source)
    if path.is_dir() and (path / RUN_JSON).is_file():
        state, arch = _from_run(path, key)
    elif path.is_file():
        state, arch = _from_file(path, cfg, key)
    else:
        raise ConfigError(f"{key}: {str(path)!r} is neither an hqnn run directory (with {RUN_JSON}) nor a state_dict file; fix the path "
                          "(relative paths start at the profile's folder).")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{key}: {path} is not a state_dict (a mapping of names to tensors); save one with torch.save(module.state_dict(), path).")
    last = max((k for k in state if k.endswith(".weight") and k.split(".")[0].isdigit()), key=lambda k: int(k.split(".")[0]), default=None)
    if last is None:
        raise ConfigError(f"{key}: {path} holds no front-end weights (no '<index>.weight' or 'front.<index>.weight' keys).")
    full = build(arch, n_inputs, int(state[last].shape[0]), image_shape, source)
    try:
        full.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise ConfigError(f"{key}: the weights in {path} do not fit a {arch.kind} front end with channels {arch.channels}, hidden {arch.hidden}, "
                          f"kernel_size {arch.kernel_size} on {n_inputs} inputs ({first}); describe the backbone's architecture exactly.") from None
    modules = list(full.children())
    backbone, projection = modules[:-_PROJECTION], modules[-_PROJECTION]
    if not isinstance(projection, nn.Linear):
        raise ConfigError(f"{key}: the pretrained front end does not end in a Linear projection; it was not built by hqnn.")
    _freeze(backbone, cfg.freeze)
    return nn.Sequential(*backbone, nn.Linear(projection.in_features, n_outputs), nn.Tanh(), scale(cfg.output_scale))


__all__ = ["pretrained_front_end"]
