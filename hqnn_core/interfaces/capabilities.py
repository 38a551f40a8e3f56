"""Declared, verifiable facts about a backend (the conformance suite checks each claim)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hqnn_core.circuit import GATES


@dataclass(frozen=True)
class BackendCapabilities:
    """What a backend can do.

    Attributes:
        max_qubits: largest circuit it accepts.
        analytic: can return exact expectations (``shots=None``).
        shots: can sample (``shots`` an int).
        max_shots: largest shot count per circuit, or ``None`` for no limit.
        noise: its results include hardware or modelled noise.
        native_gates: neutral gate names it runs directly; others are rejected before submission.
        backprop: outputs are torch tensors differentiable by autograd.
        adjoint: offers an adjoint-differentiation gradient.
        state: returns final statevectors (``measure="state"``, :meth:`Backend.states`).
        higher_order: its autograd graph can be differentiated again, so ``create_graph=True`` through
            ``backprop``/``adjoint`` gives exact second derivatives (otherwise hqnn raises there).
        remote: jobs leave this machine (cost, queues; never run in CI).
        max_circuits_per_job: how many bindings one job can carry (``None``: unlimited).
        deterministic_shots: the same seed gives the same samples.
    """

    max_qubits: int
    analytic: bool = True
    shots: bool = True
    max_shots: int | None = None
    noise: bool = False
    native_gates: frozenset[str] = field(default_factory=lambda: frozenset(GATES))
    backprop: bool = False
    adjoint: bool = False
    higher_order: bool = False
    state: bool = False
    remote: bool = False
    max_circuits_per_job: int | None = None
    deterministic_shots: bool = True

    def as_dict(self) -> dict[str, object]:
        out = dict(self.__dict__)
        out["native_gates"] = sorted(self.native_gates)
        return out
