"""Built-in error mitigators: ``readout`` (calibrated confusion inversion) and ``zne`` (zero-noise extrapolation).

Both act on expectation values in torch, so gradients pass through, and both add their circuits
to the step's single backend batch (``readout`` adds observables, not circuits; ``zne`` adds one
folded circuit per scale factor). See docs/mitigation.md for the derivations and when each is exact. Their options are in
:mod:`hqnn_plugins.layouts.mitigators` (torch-free).
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import torch

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable, PauliTerm
from hqnn_core.errors import ConfigError, InputError
from hqnn_core.interfaces.mitigator import MitigationBatch, Mitigator
from hqnn_plugins.folding import fold_gates, fold_global
from hqnn_plugins.layouts.mitigators import ReadoutLayout, ZNELayout

if TYPE_CHECKING:
    from hqnn_core.interfaces import Backend

Pauli = tuple[tuple[int, str], ...]
MAX_TERM_WEIGHT = 8  # a weight-w term needs its 2**w - 1 sub-strings measured


def calibration_circuit(n_qubits: int) -> Circuit:
    """``RX(theta_i)`` on every wire, measuring every ``Z_i``: rows of 0 prepare ``|0...0>``, of pi ``|1...1>``."""
    b = CircuitBuilder(n_qubits)
    for w in range(n_qubits):
        b.add("RX", [w], b.input(w))
    return b.build()


class ReadoutMitigator(ReadoutLayout, Mitigator):
    """Inverts per-qubit readout confusion, calibrated on the backend in use, on every Pauli term.

    With independent flips ``p01 = P(1|0)``, ``p10 = P(0|1)`` a measured ±1 outcome has mean
    ``a + c s`` given the true outcome ``s`` (``a = p10 - p01``, ``c = 1 - p01 - p10``), so a term on
    wires ``W`` reads ``E~(W) = sum_{S ⊆ W} prod_{W\\S} a_i prod_S c_i E(S)``. Solving from the
    smallest subsets up recovers ``E(W)`` exactly (up to shot noise) from the measured sub-strings,
    which share the term's measurement basis and so cost no extra circuits or shots.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.calibrations: list[dict[str, Any]] = []
        self._backend: Backend | None = None
        self._shots: int | None = None
        self._n = 0
        self._calls = 0
        self._a = self._c = torch.zeros(0, dtype=torch.float64)
        self._plans: dict[Circuit, tuple[list[Pauli], list[list[tuple[float, Pauli]]]]] = {}

    def calibrate(self, backend: Backend, circuit: Circuit, shots: int | None) -> None:
        self._backend, self._n = backend, circuit.n_qubits
        self._shots = self.options.shots if self.options.shots is not None else shots
        self._calibrate_now()

    def _calibrate_now(self) -> None:
        assert self._backend is not None
        n = self._n
        rows = torch.tensor([[0.0] * n, [math.pi] * n], dtype=torch.float64)
        z = self._backend.expectations(calibration_circuit(n), rows, shots=self._shots).detach().to(torch.float64)
        p01, p10 = ((1 - z[0]) / 2).clamp(0, 1), ((1 + z[1]) / 2).clamp(0, 1)
        contrast = 1 - p01 - p10
        if bool((contrast < self.options.min_contrast).any()):
            raise InputError(
                f"readout calibration on {self._backend.full_name!r} found 1 - p01 - p10 = {contrast.tolist()}, below "
                f"min_contrast={self.options.min_contrast}; inverting it would amplify noise without bound. "
                "Check the backend's readout, raise calibration shots, or drop the readout mitigator."
            )
        self._a, self._c = p10 - p01, contrast
        self.calibrations.append({
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "backend": self._backend.full_name,
            "shots": self._shots,
            "p01": [round(float(x), 6) for x in p01],
            "p10": [round(float(x), 6) for x in p10],
        })

    def _plan(self, circuit: Circuit) -> tuple[list[Pauli], list[list[tuple[float, Pauli]]]]:
        """Every Pauli sub-string to measure, and each observable as (coeff, string) terms."""
        if circuit not in self._plans:
            strings: dict[Pauli, None] = {}
            terms = []
            for obs in circuit.observables:
                terms.append([(t.coeff, t.paulis) for t in obs.terms])
                for t in obs.terms:
                    if len(t.paulis) > MAX_TERM_WEIGHT:
                        raise ConfigError(
                            f"readout mitigation of term {t} needs its {2 ** len(t.paulis) - 1} sub-strings; terms up to weight "
                            f"{MAX_TERM_WEIGHT} are supported. Use lower-weight observables or drop readout mitigation."
                        )
                    for r in range(1, len(t.paulis) + 1):
                        strings.update(dict.fromkeys(itertools.combinations(t.paulis, r)))
            self._plans[circuit] = (list(strings), terms)
        return self._plans[circuit]

    def expand(self, circuit: Circuit) -> MitigationBatch:
        if self._backend is not None:  # estimates expand before any calibration; they do not count
            self._calls += 1
            every = self.options.recalibrate_every
            if every and self._calls > 1 and (self._calls - 1) % every == 0:
                self._calibrate_now()
        strings, _ = self._plan(circuit)
        measured = circuit.with_observables([Observable((PauliTerm(1.0, s),)) for s in strings])
        return MitigationBatch([measured], {"circuit": circuit, "a": self._a, "c": self._c})

    def combine(self, batch: MitigationBatch, results: list[torch.Tensor]) -> torch.Tensor:
        if not self.calibrations:
            raise ConfigError("the readout mitigator was used before calibrate(); run it through QuantumLayer or Executor.")
        noisy = results[0]
        strings, terms = self._plan(batch.context["circuit"])
        a, c = batch.context["a"].to(noisy), batch.context["c"].to(noisy)
        exact: dict[Pauli, torch.Tensor] = {(): torch.ones_like(noisy[:, 0])}
        for j in sorted(range(len(strings)), key=lambda i: len(strings[i])):
            s = strings[j]
            wires = [w for w, _ in s]
            rest = noisy[:, j]
            for r in range(len(s)):  # subtract the proper subsets' contributions
                for sub in itertools.combinations(s, r):
                    kept = {w for w, _ in sub}
                    weight = math.prod(float(c[w]) if w in kept else float(a[w]) for w in wires)
                    if weight:
                        rest = rest - weight * exact[sub]
            exact[s] = rest / math.prod(float(c[w]) for w in wires)
        cols = [sum((coeff * exact[p] for coeff, p in obs), torch.zeros_like(noisy[:, 0])) for obs in terms]
        return torch.stack(cols, dim=1)

    def calibration_batches(self, circuit: Circuit, shots: int | None) -> list[int]:
        """One call of two rows (``|0...0>``, ``|1...1>``) per session; recalibrations are not forecast."""
        return [2]

    def calibration_shots(self, shots: int | None) -> int | None:
        return self.options.shots if self.options.shots is not None else shots

    def calibration_jobs(self) -> int:
        """Extra backend calls for calibration (one per calibration; recalibrations add more)."""
        return 1

    def calibration_circuits(self) -> int:
        """Bindings per calibration (``|0...0>`` and ``|1...1>``), each with the calibration shots."""
        return 2

    def describe(self) -> dict[str, Any]:
        info = self.config()
        info["calibrations"] = list(self.calibrations)
        return info

    def conformance_noisy_reference(self) -> Backend:
        from hqnn_plugins.noisy_torch_backend import NoisyTorchBackend

        return NoisyTorchBackend(readout_error=[[0.05, 0.1], [0.08, 0.03]])


def extrapolation_weights(scales: list[float], method: str) -> list[float]:
    """Weights ``w`` with ``y(0) = sum w_i y(scale_i)`` for the linear methods (each sums to 1)."""
    if method == "richardson":  # Lagrange polynomial through every point, evaluated at 0
        return [math.prod(sj / (sj - si) for j, sj in enumerate(scales) if j != i) for i, si in enumerate(scales)]
    n, sx, sxx = len(scales), sum(scales), sum(s * s for s in scales)  # least-squares line, intercept
    return [(sxx - si * sx) / (n * sxx - sx * sx) for si in scales]


class ZNEMitigator(ZNELayout, Mitigator):
    """Zero-noise extrapolation: run unitarily folded copies at amplified noise, extrapolate to zero.

    Extrapolation happens in torch on the ``[N, K]`` results, so it is differentiable. ``linear``
    fits a least-squares line, ``richardson`` the polynomial through all points, ``exponential``
    ``y = asymptote + b exp(-c scale)`` (a line in ``log |y - asymptote|``).
    """

    def circuits_per_circuit(self) -> int:
        return len(self.options.scale_factors)

    def expand(self, circuit: Circuit) -> MitigationBatch:
        folded, maps = [], []
        for scale in self.options.scale_factors:
            if self.options.folding == "global":
                c, smap = fold_global(circuit, scale)
            else:
                c, smap = fold_gates(circuit, scale, self.options.gates)
            folded.append(c)
            maps.append(smap)
        return MitigationBatch(folded, slot_maps=maps)

    def combine(self, batch: MitigationBatch, results: list[torch.Tensor]) -> torch.Tensor:
        scales = self.options.scale_factors
        method = self.options.extrapolation
        if method != "exponential":
            weights = extrapolation_weights(scales, method)
            return sum((w * r for w, r in zip(weights, results)), torch.zeros_like(results[0]))
        y = torch.stack(results) - self.options.asymptote  # [S, N, K]
        sign = torch.sign(y[0])
        logs = torch.log((y * sign).clamp_min(1e-12))
        intercept = sum(w * lg for w, lg in zip(extrapolation_weights(scales, "linear"), logs))
        expo = self.options.asymptote + sign * torch.exp(intercept)
        same_sign = (torch.sign(y) == sign).all(dim=0) & (y.abs() > 1e-9).all(dim=0)
        fallback = sum(w * r for w, r in zip(extrapolation_weights(scales, "richardson"), results))
        return torch.where(same_sign, expo, fallback)  # no exponential through a sign change: Richardson instead

    def describe(self) -> dict[str, Any]:
        info = self.config()
        info["circuits_per_circuit"] = self.circuits_per_circuit()
        return info

    def conformance_noisy_reference(self) -> Backend:
        from hqnn_plugins.noisy_torch_backend import NoisyTorchBackend

        return NoisyTorchBackend(depolarizing=0.01)
