"""The classical convolutional network Bowles, Ahmed & Schuld 2024 compare the image models with.

Pixels are standardised (scikit-learn's ``StandardScaler``) and shaped as one-channel square
images; two blocks of a convolution (``kernel_shape`` square, "same" padding, no activation) and a
2 x 2 max pool with stride 2 feed a dense layer of ``2 * output_channels[1]`` ReLU units and one
output neuron, the logit of class +1, trained on the sigmoid cross-entropy by the shared loop.
Weights start as flax's ``lecun_normal`` (a normal truncated at two standard deviations, scaled
to variance 1 / fan_in) and biases at zero, as in the paper's flax model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import truncnorm
from sklearn.preprocessing import StandardScaler
from torch import nn

from hqnn_core.errors import InputError
from hqnn_core.models.base import QuantumClassifier

#: the standard deviation of a standard normal truncated to [-2, 2]; flax divides by it so the variance is 1 / fan_in
TRUNCATED_STD = 0.87962566103423978


def square_side(n_features: int, model: str) -> int:
    """The side of the square image a flattened row holds, or one error saying what the model takes."""
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise InputError(f"{model} takes square images flattened to (n_samples, height * width); "
                         f"{n_features} features are not a square number.")
    return side


class ConvNet(nn.Module):
    """conv -> max pool -> conv -> max pool -> dense + ReLU -> one logit (the paper's flax ``CNN`` on NCHW input).

    ``same_pooling`` keeps a partial last window on odd sizes (flax's "SAME" pooling, which the
    quanvolutional model uses on its odd-sized feature maps); otherwise it is dropped (flax's default).
    """

    def __init__(self, in_channels: int, side: int, output_channels: Sequence[int], kernel_shape: int,
                 same_pooling: bool = False) -> None:
        super().__init__()
        first, second = output_channels
        self.same_pooling = same_pooling
        self.conv1 = nn.Conv2d(in_channels, first, kernel_shape, padding="same")
        self.conv2 = nn.Conv2d(first, second, kernel_shape, padding="same")
        halve = (lambda n: -(-n // 2)) if same_pooling else (lambda n: n // 2)
        pooled = halve(halve(side))
        self.hidden = nn.Linear(second * pooled * pooled, 2 * second)
        self.out = nn.Linear(2 * second, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv1(x), 2, 2, ceil_mode=self.same_pooling)
        x = F.max_pool2d(self.conv2(x), 2, 2, ceil_mode=self.same_pooling)
        return self.out(F.relu(self.hidden(x.flatten(1))))[:, 0]

    def reset_like_flax(self, rng: np.random.Generator) -> None:
        """lecun_normal weights (truncated normal, variance 1 / fan_in) and zero biases, drawn from ``rng``."""
        with torch.no_grad():
            for name, param in self.named_parameters():  # conv1, conv2, hidden, out: weight then bias
                if name.endswith("bias"):
                    param.zero_()
                    continue
                std = math.sqrt(1.0 / param[0].numel()) / TRUNCATED_STD  # fan_in: every input of one output unit
                param.copy_(torch.from_numpy(truncnorm.rvs(-2.0, 2.0, size=tuple(param.shape), random_state=rng) * std))


class ConvolutionalNeuralNetwork(QuantumClassifier):
    """The paper's classical CNN baseline for images (qml-benchmarks' defaults); not a quantum model.

    Args:
        kernel_shape: side of the square convolution kernels.
        output_channels: channels of the two convolutions.
        learning_rate, convergence_interval, max_steps, batch_size: the shared training loop.
        max_vmap: accepted for the paper's grids; a batch is one call.
        random_state: seeds the initial weights and the batches.
        scaling: factor applied to the standardised pixels.
    """

    def __init__(self, kernel_shape: int = 3, output_channels: Sequence[int] = (32, 64), learning_rate: float = 0.001,
                 convergence_interval: int = 200, max_steps: int = 10000, batch_size: int = 32, max_vmap: int | None = None,
                 random_state: int = 42, scaling: float = 1.0) -> None:
        self.kernel_shape = kernel_shape
        self.output_channels = output_channels
        self.learning_rate = learning_rate
        self.convergence_interval = convergence_interval
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.max_vmap = max_vmap
        self.random_state = random_state
        self.scaling = scaling

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        if fit:
            self.side_ = square_side(X.shape[1], type(self).__name__)
            self.scaler_ = StandardScaler().fit(X)
        return self.scaler_.transform(X) * self.scaling

    def _network(self, in_channels: int, side: int, rng: np.random.Generator, same_pooling: bool = False) -> None:
        self.network_ = ConvNet(in_channels, side, self.output_channels, self.kernel_shape, same_pooling).double()
        self.network_.reset_like_flax(rng)
        self.params_ = dict(self.network_.named_parameters())

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        self._network(1, self.side_, rng)

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        return self.network_(X.reshape(len(X), 1, self.side_, self.side_))

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(self._outputs(X), torch.relu(y))  # labels -1/+1 -> 0/1, as the paper

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        p1 = torch.sigmoid(outputs).numpy()
        return np.c_[1 - p1, p1]
