"""New rows for predict/monitor: the run's fitted preprocessing, the file formats, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from hqnn_core.config import DataConfig, validate_profile
from hqnn_core.errors import ConfigError, InputError
from hqnn_core.serving import read_rows
from hqnn_core.training.data import load_dataset


def test_preprocessing_maps_the_raw_training_rows_onto_the_prepared_training_inputs():
    cfg = DataConfig(source="digits", classes=[3, 5], pca=4, angle_range=[0.0, 3.0], seed=2)
    d = load_dataset(cfg)
    # the oracle: the same split of the raw rows, done here with scikit-learn directly
    x, y = load_digits(return_X_y=True)
    keep = np.isin(y, [3, 5])
    x_train, _, y_train, _ = train_test_split(x[keep], y[keep], test_size=0.25, stratify=y[keep], random_state=2)
    assert d.preprocessing.divisor == 16.0 and d.preprocessing.raw_features == 64 and d.preprocessing.labels == [3, 5]
    assert np.allclose(d.preprocessing.transform(x_train), d.x_train, atol=1e-6)
    assert np.array_equal(d.preprocessing.class_indices(y_train, "rows"), d.y_train)
    with pytest.raises(InputError, match=r"labels \[4\] are not among the run's classes \[3, 5\]"):
        d.preprocessing.class_indices(np.array([3, 4]), "rows.csv")


def test_csv_with_and_without_labels_and_npz(tmp_path):
    d = load_dataset(DataConfig(source="digits", classes=[0, 1], pca=2))
    x, y = load_digits(return_X_y=True)
    np.savetxt(tmp_path / "plain.csv", x[:5], delimiter=",")
    np.savetxt(tmp_path / "labelled.csv", np.column_stack([x[:5], y[:5]]), delimiter=",")
    np.savez(tmp_path / "rows.npz", X=x[:5].reshape(5, 8, 8), y=y[:5])
    plain, labelled, npz = (read_rows(tmp_path / n, d.preprocessing) for n in ("plain.csv", "labelled.csv", "rows.npz"))
    assert plain.y is None and np.array_equal(plain.x, x[:5])
    assert np.array_equal(labelled.x, x[:5]) and np.array_equal(labelled.y, y[:5])
    assert np.array_equal(npz.x, x[:5]) and np.array_equal(npz.y, y[:5])


@pytest.mark.parametrize(("name", "write", "message"), [
    ("narrow.csv", lambda p: np.savetxt(p, np.ones((3, 10)), delimiter=","), "10 features in 3 rows, but the run was trained on 64 raw features"),
    ("noX.npz", lambda p: np.savez(p, data=np.ones((3, 64))), "it needs X"),
    ("rows.txt", lambda p: p.write_text("1,2"), "unknown file type '.txt'"),
    ("nan.csv", lambda p: np.savetxt(p, np.full((2, 64), np.nan), delimiter=","), "NaN or infinite"),
    ("missing.csv", None, "no such file"),
])
def test_bad_files_are_one_input_error_naming_the_fix(tmp_path, name, write, message):
    d = load_dataset(DataConfig(source="digits", classes=[0, 1], pca=2))
    path = tmp_path / name
    if write is not None:
        write(path)
    with pytest.raises(InputError, match=message):
        read_rows(path, d.preprocessing)


def test_serving_settings_are_validated_with_the_profile():
    base = {"data": {"source": "digits"}, "model": {"quantum": {"n_qubits": 2}}}
    loaded = validate_profile({**base, "serving": {"degradation_margin": 0.1, "window": 20, "probe_every": 3, "max_jobs": 5}})
    s = loaded.profile.serving
    assert (s.fallback, s.degradation_margin, s.window, s.probe_every, s.max_jobs) == ("baseline", 0.1, 20, 3, 5)
    with pytest.raises(ConfigError, match=r"serving.window: input should be greater than or equal to 1"):
        validate_profile({**base, "serving": {"window": 0}})
    with pytest.raises(ConfigError, match=r"unknown key 'margin'"):
        validate_profile({**base, "serving": {"margin": 0.1}})
    # serving does not change what training computes: it is not part of the config hash
    assert validate_profile(base).config_hash == loaded.config_hash
