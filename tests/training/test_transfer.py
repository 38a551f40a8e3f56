"""``model.front_end.kind: pretrained``: a backbone from an earlier run or a state_dict, frozen as asked."""

from __future__ import annotations

import collections

import pytest
import torch
from training_helpers import write_profile

from hqnn_core.config import load_profile
from hqnn_core.errors import CheckpointError, ConfigError
from hqnn_core.training import prepare, train

CNN = {"kind": "cnn", "channels": [4], "kernel_size": 3, "hidden": [8], "activation": "tanh"}
IMAGES = {"pca": None, "angle_range": None, "classes": [0, 1, 2], "max_train": 48, "max_test": 12}


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """A digits CNN run on three classes (the backbone to transfer): conv(4) -> dense(8) -> 4 angles."""
    folder = tmp_path_factory.mktemp("pretrain")
    path = write_profile(folder, data=IMAGES, model={"front_end": CNN, "quantum": {"n_qubits": 4, "layers": 1}}, train={"epochs": 1})
    return train(path, out=folder / "run", quiet=True)


def _transfer(folder, front_end, epochs=1, **train_args):
    data = {**IMAGES, "classes": [3, 4]}
    return write_profile(folder, "transfer.yaml", data=data, model={"front_end": front_end, "quantum": {"n_qubits": 3, "layers": 1}},
                         train={"epochs": epochs, **train_args})


def _front(run):
    return {k.removeprefix("front."): v for k, v in torch.load(run.run_dir / "model.pt", weights_only=True).items() if k.startswith("front.")}


def test_a_frozen_backbone_from_a_run_keeps_its_weights_and_gets_a_new_projection(source_run, tmp_path):
    pretrained = _front(source_run)
    run = train(_transfer(tmp_path, {"kind": "pretrained", "from": str(source_run.run_dir)}, baseline=True), out=tmp_path / "run", quiet=True)
    tuned = _front(run)
    backbone = ["1.weight", "1.bias", "5.weight", "5.bias"]  # Unflatten, Conv, Tanh, MaxPool, Flatten, Linear(dense), Tanh
    for key in backbone:
        assert torch.equal(tuned[key], pretrained[key]), key  # frozen: identical after training
    assert tuned["7.weight"].shape == (3, 8) and pretrained["7.weight"].shape == (4, 8)  # new projection to 3 angles
    frozen = sum(pretrained[k].numel() for k in backbone)
    assert run.record["model"]["hybrid"]["frozen_parameters"] == frozen
    assert run.record["model"]["baseline"]["frozen_parameters"] == frozen  # the classical head's baseline shares the backbone
    assert run.record["baseline"]["final"]["test_accuracy"] is not None


def test_freeze_n_layers_or_none(source_run, tmp_path):
    pretrained = _front(source_run)
    one = prepare(load_profile(_transfer(tmp_path, {"kind": "pretrained", "from": str(source_run.run_dir), "freeze": 1})))
    trainable = {k for k, p in one.model.front.named_parameters() if p.requires_grad}
    assert trainable == {"5.weight", "5.bias", "7.weight", "7.bias"}  # the conv is frozen, the dense layer fine-tunes
    assert torch.equal(one.model.front.state_dict()["5.weight"], pretrained["5.weight"])
    none = prepare(load_profile(_transfer(tmp_path, {"kind": "pretrained", "from": str(source_run.run_dir), "freeze": False})))
    assert all(p.requires_grad for p in none.model.front.parameters())


def test_a_state_dict_file_with_its_architecture(source_run, tmp_path):
    torch.save(collections.OrderedDict(_front(source_run)), tmp_path / "backbone.pt")
    spec = {"kind": "pretrained", "from": "backbone.pt", "backbone": "cnn", "channels": [4], "kernel_size": 3, "hidden": [8], "activation": "tanh"}
    model = prepare(load_profile(_transfer(tmp_path, spec))).model  # relative to the profile's folder
    assert torch.equal(model.front.state_dict()["1.weight"], _front(source_run)["1.weight"])
    with pytest.raises(ConfigError, match="backbone: cnn or mlp"):
        prepare(load_profile(_transfer(tmp_path, {"kind": "pretrained", "from": "backbone.pt"})))
    with pytest.raises(ConfigError, match="describe the backbone's architecture exactly"):
        prepare(load_profile(_transfer(tmp_path, {**spec, "hidden": [16]})))


class Payload:
    """An arbitrary object: unpickling it could run code, so weights_only loading must refuse it."""


def test_unsafe_or_missing_weights_are_refused(tmp_path):
    torch.save({"0.weight": Payload()}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="disallowed"):
        prepare(load_profile(_transfer(tmp_path, {"kind": "pretrained", "from": "pickled.pt", "backbone": "mlp"})))
    torch.save({"0.weight": collections.Counter()}, tmp_path / "counter.pt")  # loads safely, but is no state_dict
    with pytest.raises(ConfigError, match="not a state_dict"):
        prepare(load_profile(_transfer(tmp_path, {"kind": "pretrained", "from": "counter.pt", "backbone": "mlp"})))
    with pytest.raises(ConfigError, match="neither an hqnn run directory"):
        prepare(load_profile(_transfer(tmp_path, {"kind": "pretrained", "from": "nowhere"})))
    with pytest.raises(ConfigError, match="with kind: pretrained, and only then"):
        load_profile(_transfer(tmp_path, {"kind": "cnn", "from": "backbone.pt"}))
