"""``hqnn validate`` and ``hqnn train`` on image and damaged data files: colour images train, bad rows fail in validate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import yaml
from test_cli_training import hqnn


def _profile(folder: Path, data: dict, **model: dict) -> Path:
    profile = {
        "data": {"standardize": False, **data},
        "model": {"front_end": {"kind": "cnn", "channels": [4], "hidden": [8]}, "quantum": {"n_qubits": 2, "layers": 1}, **model},
        "train": {"epochs": 1, "batch_size": 8, "baseline": False},
        "output": {"runs_dir": str(folder / "runs"), "plots": False},
    }
    path = folder / "profile.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def _rgb_npz(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.random((24, 3, 8, 8))
    y = np.arange(24) % 2
    x[y == 1, 0] += 1.0  # class 1 is redder
    np.savez(folder / "rgb.npz", X_train=x[:16], y_train=y[:16], X_test=x[16:], y_test=y[16:])
    return folder / "rgb.npz"


def test_colour_images_validate_and_train_with_a_cnn(monkeypatch, capsys, tmp_path):
    path = _profile(tmp_path, {"source": "npz", "path": str(_rgb_npz(tmp_path))})
    code, out, err = hqnn(monkeypatch, capsys, "validate", str(path))
    assert code == 0, err
    assert "16 train / 8 test, 192 features (images C x H x W = 3 x 8 x 8)" in out
    code, out, err = hqnn(monkeypatch, capsys, "train", str(path), "--out", str(tmp_path / "run"), "--quiet")
    assert code == 0, err
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "completed" and record["data"]["image_shape"] == [3, 8, 8]
    assert "Conv2d(3, 4" in record["model"]["hybrid"]["architecture"]

    # the colour backbone transfers: a pretrained front end from this run keeps its 3-channel convolution, frozen
    transfer = _profile(tmp_path, {"source": "npz", "path": str(_rgb_npz(tmp_path))},
                        front_end={"kind": "pretrained", "from": str(tmp_path / "run")})
    code, out, err = hqnn(monkeypatch, capsys, "train", str(transfer), "--out", str(tmp_path / "transfer"), "--quiet")
    assert code == 0, err
    before, after = (torch.load(tmp_path / run / "model.pt", weights_only=True) for run in ("run", "transfer"))
    assert after["front.1.weight"].shape == (4, 3, 3, 3)  # Unflatten(3, 8, 8), then Conv2d(3, 4, 3)
    assert torch.equal(after["front.1.weight"], before["front.1.weight"])


def test_validate_names_the_file_and_row_of_a_nan(monkeypatch, capsys, tmp_path):
    data = _rgb_npz(tmp_path)
    arrays = dict(np.load(data))
    arrays["X_train"][5, 1, 2, 3] = np.nan
    np.savez(data, **arrays)
    path = _profile(tmp_path, {"source": "npz", "path": str(data)})
    code, out, err = hqnn(monkeypatch, capsys, "validate", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"Error: {path}: data.path: {data}: X_train: row 5 (0-based) holds NaN or inf")


def test_validate_rejects_inf_in_a_csv_before_any_backend_call(monkeypatch, capsys, tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("".join(f"{i / 10},{(i % 3) / 10},{i % 2}\n" for i in range(10)).replace("0.1,0.1,1", "0.1,-inf,1"))
    path = _profile(tmp_path, {"source": "csv", "path": str(csv), "pca": 2}, front_end={"kind": "none"})
    code, _, err = hqnn(monkeypatch, capsys, "train", str(path))
    assert code == 2 and err == f"Error: {path}: data.path: {csv}: line 2, column 2 is NaN or inf; " \
        "the csv must hold numbers only, no header: the features, then the integer label as the last column.\n"
    assert not (tmp_path / "runs").exists()
