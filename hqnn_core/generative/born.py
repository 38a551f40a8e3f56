"""A quantum circuit Born machine: a parametrised circuit whose outcome probabilities model bit-string data.

Liu & Wang 2018 ("Differentiable learning of quantum circuit Born machines") train it by the
squared MMD between the circuit's outcome distribution and the data's. Here the circuit is a
:class:`~hqnn_core.layer.QuantumLayer` without inputs, so it runs on any backend:

* **exact** (``shots=None``, a backend that declares ``analytic``): the final state's ``|ψ|²`` where
  the backend hands over states (``torch``), else its ``probs``; gradients by backprop or the
  layer's estimator;
* **shots** (a backend that declares ``shots``): sampled outcome frequencies, whose parameter-shift
  Jacobian comes from independently sampled shifted circuits, so ``2 Jᵀ K (p̂ - π)`` is an unbiased
  gradient of the MMD (Liu & Wang's sampling gradient); the loss reported is the unbiased estimator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from hqnn_core.components import ComponentSpec, get_backend
from hqnn_core.custom_circuit import CircuitInputs
from hqnn_core.errors import CapabilityError, ConfigError, UnsupportedError
from hqnn_core.generative.distributions import as_indices, bits_of, divergences, empirical_distribution
from hqnn_core.generative.mmd import DEFAULT_BANDWIDTHS, MMD
from hqnn_core.interfaces import Backend
from hqnn_core.layer import QuantumLayer

#: Widest circuit read through ``probs`` (no statevector): that route measures the ``2**n`` Z strings
#: behind the probabilities, so its cost grows as ``4**n``.
MAX_PROBS_BITS = 12


class BornMachine:
    """A quantum circuit Born machine with ``fit(X)``, ``sample(n)`` and ``probabilities()``.

    Args:
        n_bits: bits per string (one qubit each); inferred from bit-string data at ``fit`` when left out.
        layers: ansatz layers (PennyLane's QCBM demo uses 6 strongly entangling layers on 3x3 bars and stripes).
        ansatz: any registered ansatz, as for :class:`QuantumLayer`.
        backend: where the circuit runs; it must declare ``analytic`` (exact) or ``shots`` (sampled).
        shots: ``None`` to train on exact probabilities, or shots per circuit to train on samples.
        gradient: the layer's gradient (``best``: backprop where exact on torch, else parameter-shift).
        bandwidths: the Gaussian kernel mixture's ``σ`` values (see :class:`~hqnn_core.generative.mmd.MMD`).
        steps: Adam steps ``fit`` takes.
        learning_rate: Adam's step size (0.1 in Liu & Wang and the PennyLane demo).
        seed: seeds the initial weights and ``sample``.
        init: the layer's starting weights (``uniform``, ``normal``, ``zeros``, ``identity_blocks``).
        backend_options: options of the backend.
        fallback, retry: as for :class:`QuantumLayer`.
    """

    def __init__(
        self,
        n_bits: int | None = None,
        layers: int = 6,
        ansatz: ComponentSpec = "strongly_entangling",
        backend: ComponentSpec = "torch",
        shots: int | None = None,
        gradient: ComponentSpec = "best",
        bandwidths: Sequence[float] = DEFAULT_BANDWIDTHS,
        steps: int = 100,
        learning_rate: float = 0.1,
        seed: int | None = None,
        init: str = "uniform",
        backend_options: Mapping[str, Any] | None = None,
        fallback: Sequence[ComponentSpec] = (),
        retry: Any = None,
    ) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ConfigError(f"steps must be a non-negative integer, got {steps!r}.")
        self.n_bits, self.layers, self.ansatz, self.shots, self.gradient = n_bits, layers, ansatz, shots, gradient
        self.bandwidths, self.steps, self.learning_rate, self.seed = tuple(bandwidths), steps, learning_rate, seed
        self.init = init
        self.backend: Backend = get_backend(backend, **dict(backend_options or {}))
        self.fallback, self.retry = tuple(fallback), retry
        self.layer: QuantumLayer | None = None
        self.history: list[dict[str, float]] = []
        self.data_distribution: np.ndarray | None = None
        self._exact: QuantumLayer | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._mmd: MMD | None = None
        if n_bits is not None:
            self.build(n_bits)

    # -- construction --------------------------------------------------------------------------------------------

    def _measure(self, shots: int | None) -> str:
        caps = self.backend.capabilities
        if shots is None and not caps.analytic:
            raise CapabilityError(f"backend {self.backend.full_name!r} only samples, so a Born machine on it trains on shots; "
                                  "set shots to a positive integer (e.g. shots=1000).")
        if shots is not None and not caps.shots:
            raise CapabilityError(f"backend {self.backend.full_name!r} gives exact probabilities only; set shots=None.")
        # a state's gradient is autograd's, and a fallback chain hands over no states
        reads_state = caps.state and not self.fallback and self.retry is None and self.gradient in ("best", "backprop", "adjoint")
        return "state" if shots is None and reads_state else "probs"

    def _layer(self, shots: int | None, measure: str) -> QuantumLayer:
        assert self.n_bits is not None
        if measure != "state" and self.n_bits > MAX_PROBS_BITS:
            raise ConfigError(
                f"{self.n_bits} bits on backend {self.backend.full_name!r} need its 'probs' route, which measures 2**n Z strings "
                f"and is limited to {MAX_PROBS_BITS} bits; use the 'torch' backend with shots=None (it reads the state) or fewer bits."
            )
        gradient = self.gradient if measure != "samples" else "best"
        layer = QuantumLayer(self.n_bits, encoder=CircuitInputs(n_inputs=0), ansatz=self.ansatz, layers=self.layers,
                             backend=self.backend, gradient=gradient, shots=shots, measure=measure,  # type: ignore[arg-type]
                             seed=self.seed, init=self.init, fallback=self.fallback, retry=self.retry)
        return layer.double()

    def build(self, n_bits: int) -> QuantumLayer:
        """Build the circuit for ``n_bits`` (``fit`` does it when ``n_bits`` was left out)."""
        if isinstance(n_bits, bool) or not isinstance(n_bits, int) or n_bits < 1:
            raise ConfigError(f"n_bits must be a positive integer, got {n_bits!r}.")
        self.n_bits = n_bits
        self._mmd = MMD(n_bits, self.bandwidths)
        self.layer = self._layer(self.shots, self._measure(self.shots))
        self._optimizer = torch.optim.Adam(self.layer.parameters(), lr=self.learning_rate)
        self._exact = None
        return self.layer

    # -- distributions -------------------------------------------------------------------------------------------

    @staticmethod
    def _distribution(layer: QuantumLayer) -> torch.Tensor:
        out = layer(torch.zeros(1, 0, dtype=torch.float64))[0]
        return out.abs() ** 2 if layer.circuit.measurement.kind == "state" else out

    def _exact_layer(self) -> QuantumLayer:
        layer = self.training_layer
        if self.shots is None:
            return layer
        if not self.backend.capabilities.analytic:
            raise UnsupportedError(f"backend {self.backend.full_name!r} only samples, so the model's exact probabilities are unknown; "
                                   "use sample(n) and compare frequencies.")
        if self._exact is None:
            self._exact = self._layer(None, self._measure(None))
            self._exact.weights = layer.weights  # one set of weights, two ways of reading the circuit
        return self._exact

    @property
    def training_layer(self) -> QuantumLayer:
        """The circuit as trained (exact or sampled)."""
        if self.layer is None:
            raise ConfigError("the Born machine has no circuit yet; call fit(X) first (or pass n_bits=...).")
        return self.layer

    def final_layer(self) -> QuantumLayer:
        """The layer that reports the trained model: exact where the backend allows, else the sampled training layer."""
        layer = self.training_layer
        return self._exact_layer() if self.shots is None or self.backend.capabilities.analytic else layer

    def final_distribution(self) -> np.ndarray:
        """The trained model's distribution: exact where the backend allows, else one call's sampled frequencies."""
        with torch.no_grad():
            return self._distribution(self.final_layer()).numpy().astype(np.float64)

    def mmd_of(self, distribution: np.ndarray) -> float:
        """The squared MMD between ``distribution`` and the data's."""
        if self.data_distribution is None or self._mmd is None:
            raise ConfigError("the Born machine has no data; call fit(X) first.")
        return float(self._mmd(torch.as_tensor(distribution), torch.as_tensor(self.data_distribution)))

    def probabilities(self) -> np.ndarray:
        """The model's exact distribution over all ``2**n_bits`` strings (outcome ``b`` is ``bits_of(b)``)."""
        with torch.no_grad():
            return self._distribution(self._exact_layer()).numpy().astype(np.float64)

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` bit-strings ``(n, n_bits)`` drawn by the Born rule: from the exact distribution when training is exact,
        else measured on the backend (``n`` shots)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"sample(n) needs a positive integer n, got {n!r}.")
        if self.shots is None:
            probs = self.probabilities()
            rng = np.random.default_rng(self.seed if seed is None else seed)
            return bits_of(rng.choice(probs.size, size=n, p=probs / probs.sum()), int(self.n_bits or 0))
        assert self.layer is not None
        sampler = self._layer(n, "samples")
        sampler.weights = self.layer.weights
        with torch.no_grad():
            return sampler(torch.zeros(1, 0, dtype=torch.float64))[0].numpy().astype(np.uint8)

    # -- training ------------------------------------------------------------------------------------------------

    def set_data(self, X: np.ndarray) -> np.ndarray:
        """Take the data's empirical distribution as the target (building the circuit if needed); returns it."""
        _, n_bits = as_indices(X, self.n_bits)
        if self.layer is None or n_bits != self.n_bits:
            self.build(n_bits)
        self.data_distribution = empirical_distribution(X, n_bits)
        return self.data_distribution

    def step(self) -> dict[str, float]:
        """One Adam step on the MMD; returns the step's ``mmd`` and the ``tvd`` of the distribution it saw."""
        if self.data_distribution is None or self.layer is None or self._optimizer is None or self._mmd is None:
            raise ConfigError("the Born machine has no data; call fit(X) or set_data(X) first.")
        target = torch.as_tensor(self.data_distribution)
        self._optimizer.zero_grad()
        p = self._distribution(self.layer)
        loss = self._mmd(p, target, self.shots)
        loss.backward()
        self._optimizer.step()
        row = {"step": float(len(self.history)), "mmd": float(loss.detach()), "tvd": 0.5 * float((p.detach() - target).abs().sum())}
        self.history.append(row)
        return row

    def fit(self, X: np.ndarray, callback: Callable[[dict[str, float]], None] | None = None) -> BornMachine:
        """Train on bit-strings ``(N, n_bits)`` (or integer indices with ``n_bits`` set) for ``steps`` Adam steps."""
        self.set_data(X)
        for _ in range(self.steps):
            row = self.step()
            if callback is not None:
                callback(row)
        return self

    def mmd(self) -> float:
        """The exact squared MMD between the model and the data."""
        return self.mmd_of(self.probabilities())

    def score(self, X: np.ndarray | None = None) -> dict[str, float]:
        """``tvd`` and ``kl`` of the model's exact distribution against ``X``'s (default: the training data)."""
        data = self.data_distribution if X is None else empirical_distribution(X, self.n_bits)
        if data is None:
            raise ConfigError("nothing to score against; call fit(X) first or pass X.")
        return divergences(data, self.probabilities())
