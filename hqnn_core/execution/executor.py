"""Composes mitigator ∘ gradient ∘ backend so that everything one step needs is one backend batch."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch

from hqnn_core.circuit import Circuit, Measurement
from hqnn_core.errors import ConfigError, UnsupportedError
from hqnn_core.interfaces import Backend, GradientEstimator, Mitigator
from hqnn_core.interfaces.backend import check_shots
from hqnn_core.interfaces.mitigator import SlotMap
from hqnn_core.measurement import probabilities_as_expectations, probabilities_from_z_strings


class Executor:
    """Evaluates a circuit's expectations (and, when asked, their Jacobian) on one backend.

    All rows a call needs (every sample, every gradient shift, every mitigation circuit) go to
    ``backend.run_batch`` once, which adapters turn into one vendor job (or as few as allowed).
    The executor alone owns the shots per circuit (the layer reads them here); :meth:`set_shots`
    changes them.
    """

    def __init__(self, backend: Backend, gradient: GradientEstimator, mitigators: Sequence[Mitigator] = (), shots: int | None = None) -> None:
        self.backend = backend
        self.gradient = gradient
        self.mitigators = list(mitigators)
        self._calibrated: set[int] = set()
        self._shots: int | None = None
        self.set_shots(shots)

    @property
    def shots(self) -> int | None:
        """Shots per circuit, or None for exact expectations."""
        return self._shots

    def set_shots(self, shots: int | None) -> None:
        """Change the shots per circuit (a run's shot budget), and tell the gradient (finite_diff's ``h: auto`` follows them)."""
        self._shots = check_shots(shots)
        self.gradient.use_shots(self._shots)

    def run_rows(self, circuit: Circuit, rows: torch.Tensor) -> torch.Tensor:
        """Mitigated outputs ``[M, K]`` for slot-value rows ``[M, n_slots]``, in one backend batch."""
        if circuit.measurement.kind == "probs":
            return probabilities_from_z_strings(self.run_rows(probabilities_as_expectations(circuit), rows))
        if not self.mitigators:
            return self.backend.expectations(circuit, rows, shots=self.shots)
        plans, leaves = self._expand(circuit)
        return self._run_expanded(plans, leaves, rows)

    def _run_expanded(self, plans: list, leaves: list[tuple[Circuit, SlotMap | None]], rows: torch.Tensor) -> torch.Tensor:
        results = self.backend.run_batch([(c, _read(rows, smap)) for c, smap in leaves], shots=self.shots)
        return self._combine(plans, results)

    def _expand(self, circuit: Circuit) -> tuple[list, list[tuple[Circuit, SlotMap | None]]]:
        """Calibrate once, then expand outermost-first: the first mitigator listed sees the final results."""
        for m in self.mitigators:
            if id(m) not in self._calibrated:
                m.calibrate(self.backend, circuit, self.shots)
                self._calibrated.add(id(m))
        return self._leaves(circuit)

    def _leaves(self, circuit: Circuit) -> tuple[list, list[tuple[Circuit, SlotMap | None]]]:
        leaves: list[tuple[Circuit, SlotMap | None]] = [(circuit, None)]
        plans = []
        for m in self.mitigators:
            batches = [m.expand(c) for c, _ in leaves]
            plans.append((m, batches))
            leaves = [(c, _compose(smap, (b.slot_maps or [None] * len(b.circuits))[i]))
                      for (_, smap), b in zip(leaves, batches) for i, c in enumerate(b.circuits)]
        return plans, leaves

    @staticmethod
    def _combine(plans: list, results: list[torch.Tensor]) -> torch.Tensor:
        for m, batches in reversed(plans):
            merged, start = [], 0
            for b in batches:
                merged.append(m.combine(b, results[start : start + len(b.circuits)]))
                start += len(b.circuits)
            results = merged
        return results[0]

    def samples(self, circuit: Circuit, rows: torch.Tensor) -> torch.Tensor:
        """Measured bits ``[N, shots, k]`` (uint8, column ``j`` is ``wires[j]``) of a ``samples`` circuit.

        The backend samples the measured wires' outcome distribution with ``shots`` per binding (the
        ``probs`` route); its frequencies times ``shots`` are the counts it drew, and the bitstrings
        are those counts in a shuffled order (shots are exchangeable, so nothing is invented).
        """
        if self.shots is None:
            raise ConfigError("measure='samples' needs shots; set shots to a positive integer (e.g. shots=1000).")
        wires = circuit.measurement.measured_wires(circuit.n_qubits)
        frequencies = self.run_rows(circuit.with_measurement(Measurement("probs", wires)), rows.detach())
        counts = torch.round(frequencies.double() * self.shots).long()
        k = len(wires)
        bits = (torch.arange(2**k).unsqueeze(1) >> torch.arange(k - 1, -1, -1)) & 1  # outcome b -> its k bits, MSB first
        generator = torch.Generator().manual_seed(len(self._calibrated) + self.shots)
        out = torch.empty(counts.shape[0], self.shots, k, dtype=torch.uint8)
        for row, row_counts in enumerate(counts):
            outcomes = torch.repeat_interleave(torch.arange(2**k), row_counts.cpu())
            out[row] = bits[outcomes[torch.randperm(self.shots, generator=generator)]].to(torch.uint8)
        return out

    def circuits_per_call(self, circuit: Circuit, n_rows: int, trainable: torch.Tensor | None = None) -> int:
        """How many circuits one call for ``n_rows`` rows sends (``trainable``: the slots differentiated).

        Mirrors :meth:`values` and :meth:`values_and_jacobian` without running anything, so specs and
        estimates count exactly what a step submits (calibration jobs are not part of a call).
        """
        if circuit.measurement.kind != "expval":
            circuit = probabilities_as_expectations(circuit)
        gradient = copy.deepcopy(self.gradient)  # counting must not advance a stochastic estimator's generator (SPSA)
        zeros = torch.zeros(n_rows, circuit.n_slots, dtype=torch.float64)
        _, leaves = self._leaves(circuit) if self.mitigators else ([], [(circuit, None)])
        if trainable is None or gradient.through_backend or not bool(trainable.any()):
            return n_rows * len(leaves)
        if all(smap is None for _, smap in leaves):
            return int(gradient.expand(circuit, zeros, trainable).slot_values.shape[0]) * len(leaves)
        return sum(int(gradient.expand(c, _read(zeros, smap), trainable if smap is None else trainable[list(smap.index)])
                       .slot_values.shape[0]) for c, smap in leaves)

    def values(self, circuit: Circuit, slot_values: torch.Tensor) -> torch.Tensor:
        """Expectations ``[N, K]``; differentiable when the gradient is ``through_backend``."""
        return self.run_rows(circuit, slot_values if self.gradient.through_backend else slot_values.detach())

    def values_and_jacobian(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(values [N, K], d values / d slots [N, K, n_slots])`` from one expanded batch."""
        if circuit.measurement.kind == "probs":  # the map from Z strings to probabilities is linear
            values, jac = self.values_and_jacobian(probabilities_as_expectations(circuit), slot_values, trainable)
            return probabilities_from_z_strings(values), probabilities_from_z_strings(jac.transpose(1, 2)).transpose(1, 2)
        batch = self.gradient.expand(circuit, slot_values.detach(), trainable)
        if not self.mitigators:
            return self.gradient.combine(batch, self.run_rows(circuit, batch.slot_values))
        plans, leaves = self._expand(circuit)
        if all(smap is None for _, smap in leaves):
            return self.gradient.combine(batch, self._run_expanded(plans, leaves, batch.slot_values))
        return self._remapped_values_and_jacobian(plans, leaves, slot_values.detach(), trainable)

    def jacobian_with_graph(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor,
                            evaluate: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``d values / d slots`` ``[N, K, n_slots]`` as a differentiable function of ``slot_values`` (for ``create_graph``).

        The estimator's rows keep ``slot_values``' graph and ``evaluate`` returns their (mitigated)
        values differentiable once more, so the Jacobian's own derivative is the rule applied to its
        rows: exact for parameter-shift, differences of differences for finite_diff.
        """
        name = self.gradient.name
        if not self.gradient.higher_order:
            raise UnsupportedError(
                f"gradient {name!r} gives first derivatives only, so create_graph=True (a second derivative, a gradient "
                f"penalty) cannot be honoured; use gradient='parameter_shift' (exact) or, on the torch backend, gradient='backprop'."
            )
        if self.mitigators and any(smap is not None for _, smap in self._expand(circuit)[1]):
            raise UnsupportedError(
                f"second derivatives with gradient {name!r} are not available under mitigation that remaps gate angles "
                f"({', '.join(m.name for m in self.mitigators)}); drop create_graph=True or the folding mitigator."
            )
        batch = self.gradient.expand(circuit, slot_values, trainable)
        return self.gradient.combine(batch, evaluate(batch.slot_values))[1]

    def _remapped_values_and_jacobian(self, plans: list, leaves: list[tuple[Circuit, SlotMap | None]], rows: torch.Tensor,
                                      trainable: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradient rules per expanded circuit when mitigation remaps slots (folded inverse gates).

        A shift rule cannot shift an angle that several folded gates share, so each expanded circuit
        gets its own gradient rows (still one backend batch); the chain rule then maps its Jacobian
        back to the original slots and through the mitigators' ``combine``.
        """
        batches = [self.gradient.expand(c, _read(rows, smap), trainable if smap is None else trainable[list(smap.index)])
                   for c, smap in leaves]
        results = self.backend.run_batch([(c, b.slot_values) for (c, _), b in zip(leaves, batches)], shots=self.shots)
        values, jacobians = [], []
        for (_, smap), batch, result in zip(leaves, batches, results):
            v, jac = self.gradient.combine(batch, result)
            if smap is not None:  # d/d rows[:, index[i]] += sign[i] * d/d column i
                jac = torch.zeros(*jac.shape[:2], rows.shape[1], dtype=jac.dtype, device=jac.device).index_add_(
                    2, torch.tensor(smap.index, device=jac.device), jac * torch.tensor(smap.sign, dtype=jac.dtype, device=jac.device))
            values.append(v.detach().requires_grad_(True))
            jacobians.append(jac)
        with torch.enable_grad():
            out = self._combine(plans, values)
            total = torch.zeros(*out.shape, rows.shape[1], dtype=out.dtype, device=out.device)
            for k in range(out.shape[1]):  # combine is row-wise: one backward pass per output column
                grads = torch.autograd.grad(out[:, k].sum(), values, retain_graph=True, allow_unused=True)
                for g, jac in zip(grads, jacobians):
                    if g is not None:
                        total[:, k] += torch.einsum("nq,nqs->ns", g, jac.to(g.dtype))
        return out.detach(), total


def _read(rows: torch.Tensor, smap: SlotMap | None) -> torch.Tensor:
    """The slot values an expanded circuit reads from the original rows."""
    if smap is None:
        return rows
    return rows[:, list(smap.index)] * torch.tensor(smap.sign, dtype=rows.dtype, device=rows.device)


def _compose(outer: SlotMap | None, inner: SlotMap | None) -> SlotMap | None:
    """``inner`` reads ``outer``'s columns; the result reads the original rows."""
    if outer is None or inner is None:
        return inner or outer
    return SlotMap(tuple(outer.index[i] for i in inner.index), tuple(outer.sign[i] * s for i, s in zip(inner.index, inner.sign)))
