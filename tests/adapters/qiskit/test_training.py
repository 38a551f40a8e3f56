"""Models move between backends, and the digits profile trains on ``qiskit.aer`` with shots."""

import io

import pytest

pytest.importorskip("qiskit_aer")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402

pytestmark = pytest.mark.vendor


def test_model_trained_on_torch_predicts_the_same_on_aer():
    torch.manual_seed(0)
    spec = {"n_qubits": 3, "ansatz": "strongly_entangling", "layers": 2, "observables": ["Z0", "Z1Z2", "X1"]}
    trained = QuantumLayer(**spec, backend="torch", seed=0).double()
    x = torch.rand(24, 3, dtype=torch.float64) * np.pi
    target = torch.cos(x).prod(dim=1, keepdim=True).expand(-1, 3)
    opt = torch.optim.Adam(trained.parameters(), lr=0.1)
    first = None
    for _ in range(15):
        opt.zero_grad()
        loss = nn.functional.mse_loss(trained(x), target)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first  # it really trained, so the weights are not the initial ones
    buffer = io.BytesIO()
    torch.save(trained.state_dict(), buffer)

    buffer.seek(0)
    exact = QuantumLayer(**spec, backend="qiskit.aer", seed=99).double()
    exact.load_state_dict(torch.load(buffer, weights_only=True))
    buffer.seek(0)
    sampled = QuantumLayer(**spec, backend="qiskit.aer", shots=2000, seed=99, backend_options={"seed": 3}).double()
    sampled.load_state_dict(torch.load(buffer, weights_only=True))
    with torch.no_grad():
        reference = trained(x)
        torch.testing.assert_close(exact(x), reference, atol=1e-6, rtol=0)
        estimate = sampled(x)
    tol = shot_tolerance(reference, exact.circuit.observables, 2000)
    assert bool(((estimate - reference).abs() <= tol).all())


def _digits_0_vs_1():
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    data = load_digits(n_class=2)
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3, random_state=0, stratify=data.target)
    scaler, pca = StandardScaler().fit(x_train), PCA(n_components=4, random_state=0)
    z_train = pca.fit_transform(scaler.transform(x_train))
    angles = MinMaxScaler(feature_range=(0, np.pi)).fit(z_train)

    def to_angles(z: np.ndarray) -> torch.Tensor:
        return torch.tensor(np.clip(angles.transform(z), 0, np.pi), dtype=torch.float32)

    z_test = pca.transform(scaler.transform(x_test))
    return (to_angles(z_train), torch.tensor(y_train, dtype=torch.float32), to_angles(z_test), torch.tensor(y_test, dtype=torch.float32))


def test_digits_0_vs_1_trains_on_aer_with_1024_shots_and_parameter_shift():
    """Digits 0 vs 1 (sklearn), StandardScaler + PCA to 4 angles, 4-qubit layer with shots, linear head.

    Trained on 96 of the 252 training images (CI time), tested on all 108 held-out images.
    """
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = _digits_0_vs_1()
    x_train, y_train = x_train[:96], y_train[:96]
    quantum = QuantumLayer(4, ansatz="hardware_efficient", layers=1, backend="qiskit.aer", gradient="parameter_shift", shots=1024, seed=0,
                           backend_options={"seed": 0})
    model = nn.Sequential(quantum, nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.3)  # 8 seeds on the torch backend with shots: all >= 0.99
    for _epoch in range(2):
        for batch in torch.randperm(len(x_train)).split(16):
            opt.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(model(x_train[batch]).squeeze(1), y_train[batch])
            loss.backward()
            opt.step()
    assert quantum.backend.accounting.jobs == 12  # one job per training step
    with torch.no_grad():
        accuracy = ((model(x_test).squeeze(1) > 0).float() == y_test).float().mean().item()
    assert accuracy >= 0.95, accuracy
