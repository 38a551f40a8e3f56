"""Barren-plateau diagnostics: how the variance of cost gradients scales with qubits and depth.

For each (cost, depth, qubit count) the ansatz is built alone (no encoder, start state
``|0...0>``), ``samples`` weight vectors are drawn uniformly from ``[0, 2pi)`` (McClean et al. 2018),
and ``dC/dtheta`` is computed exactly by backpropagation through the embedded ``torch`` statevector
backend, all samples in one batch. The variance over samples of each parameter's derivative is
averaged per ansatz layer. A fit ``ln Var = a + b n`` across qubit counts gives the decay rate
``b`` per qubit: a barren plateau shows as a clearly negative ``b`` (about ``-ln 2`` or steeper for a
global cost on a deep random circuit), a trainable setting as ``b`` near 0 (a local cost on a
shallow circuit, Cerezo et al. 2021).

Several initialisation strategies (:mod:`hqnn_core.initialisation`) can be compared side by side,
each with its own fits. ``identity_blocks`` and ``zeros`` start at the identity (or a Clifford
circuit), where ``|0...0>`` is an eigenstate of every Z cost and every gradient is exactly 0; compare
them with ``inputs="random"``, which prepends ``RY(phi)`` on each wire with ``phi`` uniform in
``[0, 2pi)`` per sample, standing in for encoded data.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable, PauliTerm
from hqnn_core.components import ComponentSpec, get_ansatz, get_backend
from hqnn_core.errors import ConfigError
from hqnn_core.initialisation import DEFAULT_STD, add_ansatz_layer, check_init, initial_weights

#: Cost names understood besides a Pauli string such as ``"Z0 Z1"``.
COSTS = ("local", "global")
#: States the ansatz starts from: ``|0...0>``, or a random product state ``RY(phi)|0>`` per wire and sample.
INPUTS = ("zero", "random")
_DEPTH = re.compile(r"^(\d*)n$")


def cost_observable(cost: str, n_qubits: int) -> Observable:
    """``local``: Z on wire 1; ``global``: Z on every wire; otherwise a Pauli string such as ``"Z0 Z1"``.

    Locality is about the backward light cone, not the observable alone: in a CNOT ring applied in
    order CNOT(0,1), CNOT(1,2), ..., CNOT(n-1,0), the Z on wire k spreads to wires 0..k within one
    layer (and Z on wire 0 to every wire), while Z on wire 1 spreads to wires 0 and 1 only. Wire 1
    is therefore the local cost for the built-in ring ansätze.
    """
    if cost == "local":
        return Observable.z(min(1, n_qubits - 1))
    if cost == "global":
        return Observable((PauliTerm(1.0, tuple((w, "Z") for w in range(n_qubits))),))
    try:
        obs = Observable.parse(cost)
    except Exception as e:  # noqa: BLE001 - reported as a ConfigError naming the fix
        raise ConfigError(f"cost {cost!r} is neither {' nor '.join(COSTS)} nor a Pauli string like 'Z0 Z1' ({e}).") from None
    if any(w >= n_qubits for w in obs.wires):
        raise ConfigError(f"cost {cost!r} acts on wire {max(obs.wires)}, outside {n_qubits} qubits; raise the smallest --qubits or change the cost.")
    return obs


def parse_depth(token: str | int, n_qubits: int) -> int:
    """A depth token: an integer (``2``) or a multiple of the qubit count (``n``, ``2n``)."""
    if isinstance(token, int):
        return token
    text = str(token).strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    match = _DEPTH.match(text)
    if match:
        return (int(match.group(1)) if match.group(1) else 1) * n_qubits
    raise ConfigError(f"depth {token!r}: give a positive integer (2) or a multiple of the qubit count (n, 2n).")


def ansatz_circuit(ansatz: Any, n_qubits: int, layers: int, observable: Observable, mirrored: bool = False, random_input: bool = False) -> Circuit:
    """The ansatz alone, ``layers`` deep, measuring ``observable`` (odd layers mirrored for identity blocks; RY inputs first)."""
    wires = list(range(n_qubits))
    builder = CircuitBuilder(n_qubits)
    builder.n_layers = layers
    if random_input:
        for w in wires:
            builder.add("RY", [w], builder.input(w))
    per_layer = ansatz.weights_per_layer(n_qubits)
    for layer in range(layers):
        builder.weight_offset = layer * per_layer
        add_ansatz_layer(builder, ansatz, wires, layer, mirrored)
    return builder.build([observable])


def weight_gradients(circuit: Circuit, n_weights: int, samples: int, generator: torch.Generator, init: str = "uniform", ansatz: Any = None,
                     std: float = DEFAULT_STD) -> torch.Tensor:
    """``dC/dw`` ``[samples, n_weights]`` at weights drawn by strategy ``init`` (default uniform in ``[0, 2pi)``), by backprop (exact).

    Input slots (the random product state) get angles uniform in ``[0, 2pi)``, one per wire and sample.
    """
    if init == "uniform" and ansatz is None:
        weights = torch.rand(samples, n_weights, generator=generator, dtype=torch.float64) * (2 * math.pi)
    else:
        layers = max(1, n_weights // max(1, ansatz.weights_per_layer(circuit.n_qubits)))
        weights = torch.stack([initial_weights(init, ansatz, (layers, n_weights // layers), generator, torch.float64, std).reshape(-1)
                               for _ in range(samples)])
    weights.requires_grad_(True)
    if any(s.source == "const" for s in circuit.slots):
        raise ConfigError("the ansatz uses constant slots; diagnose takes ansätze whose angles are all trainable weights.")
    inputs = torch.rand(samples, circuit.n_qubits, generator=generator, dtype=torch.float64) * (2 * math.pi)
    index = torch.tensor([s.index for s in circuit.slots], dtype=torch.long)
    coeff = torch.tensor([s.coeff for s in circuit.slots], dtype=torch.float64)
    offset = torch.tensor([s.offset for s in circuit.slots], dtype=torch.float64)
    if any(s.factors for s in circuit.slots):
        raise ConfigError("the ansatz multiplies slot factors (input scalings); diagnose takes ansätze whose angles are plain weights.")
    is_input = torch.tensor([s.source == "input" for s in circuit.slots])
    base = torch.where(is_input, inputs[:, torch.where(is_input, index, 0)], weights[:, torch.where(is_input, 0, index)])
    slot_values = base * coeff + offset
    backend = get_backend("torch")
    values = backend.expectations(circuit, slot_values)
    (grad,) = torch.autograd.grad(values.sum(), weights)  # rows are independent: the sum's gradient is each row's
    return grad.detach()


@dataclass
class Point:
    """Gradient variance of one (cost, depth, qubits) setting."""

    cost: str
    depth: str
    n_qubits: int
    layers: int
    var_first: float  #: largest Var[dC/dw] among the first layer's parameters
    var_last: float  #: largest Var[dC/dw] among the last layer's parameters
    var_mean: float  #: Var[dC/dw] averaged over every parameter
    var_max_per_layer: list[float]
    var_mean_per_layer: list[float]
    mean_abs_grad: float
    init: str = "uniform"


@dataclass
class Fit:
    """``ln Var = intercept + slope * n``: the decay rate of the gradient variance per added qubit."""

    cost: str
    depth: str
    slope_first: float
    slope_last: float
    slope_mean: float
    qubits: list[int] = field(default_factory=list)
    init: str = "uniform"


@dataclass
class Report:
    ansatz: dict[str, Any]
    samples: int
    seed: int
    points: list[Point]
    fits: list[Fit]
    inits: list[str] = field(default_factory=lambda: ["uniform"])
    inputs: str = "zero"
    std: float = DEFAULT_STD

    def as_dict(self) -> dict[str, Any]:
        return {"ansatz": self.ansatz, "samples": self.samples, "seed": self.seed, "init": self.inits, "inputs": self.inputs,
                "normal_std": self.std, "points": [asdict(p) for p in self.points], "fits": [asdict(f) for f in self.fits]}


def _slope(ns: Sequence[int], variances: Sequence[float]) -> float:
    if len(ns) < 2:
        return float("nan")
    logs = np.log(np.maximum(np.asarray(variances, dtype=np.float64), 1e-300))
    return float(np.polyfit(np.asarray(ns, dtype=np.float64), logs, 1)[0])


def gradient_variance(
    ansatz: ComponentSpec = "hardware_efficient", qubits: Sequence[int] = (2, 4, 6, 8), depths: Sequence[str | int] = (1, "n"),
    costs: Sequence[str] = COSTS, samples: int = 50, seed: int = 0, inits: Sequence[str] = ("uniform",), inputs: str = "zero",
    std: float = DEFAULT_STD,
) -> Report:
    """Sample gradients for every (init, cost, depth, qubit count) and fit the decay rate of their variance."""
    if samples < 2:
        raise ConfigError(f"samples must be at least 2 to estimate a variance, got {samples}; use e.g. --samples 50.")
    if not qubits or any(n < 1 for n in qubits):
        raise ConfigError(f"qubits must be positive integers, got {list(qubits)}; use e.g. --qubits 2,4,6,8.")
    if inputs not in INPUTS:
        raise ConfigError(f"inputs {inputs!r}: choose {' or '.join(INPUTS)}.")
    for init in inits:
        check_init(init, 2)
        if init in ("identity_blocks", "zeros") and inputs == "zero":
            raise ConfigError(f"init {init} starts at a circuit for which |0...0> is an eigenstate of a Z cost, so every gradient is exactly 0; "
                              "add --input random (a random product state per sample, standing in for encoded data).")
    component = get_ansatz(ansatz)
    points: list[Point] = []
    fits: list[Fit] = []
    for init in inits:
        for cost in costs:
            for depth in depths:
                row: list[Point] = []
                for n in sorted(qubits):
                    if n < component.min_qubits():
                        raise ConfigError(f"ansatz {component.name!r} needs at least {component.min_qubits()} qubits; drop {n} from --qubits.")
                    layers = parse_depth(depth, n)
                    try:
                        check_init(init, layers)
                    except ConfigError as e:
                        raise ConfigError(f"depth {depth} at {n} qubits: {e}") from None
                    circuit = ansatz_circuit(component, n, layers, cost_observable(cost, n), init == "identity_blocks", inputs == "random")
                    per_layer = component.weights_per_layer(n)
                    generator = torch.Generator().manual_seed(seed * 1_000_003 + n * 1009 + layers)
                    grad = (weight_gradients(circuit, per_layer * layers, samples, generator) if init == "uniform" and inputs == "zero"
                            else weight_gradients(circuit, per_layer * layers, samples, generator, init, component, std))
                    var = grad.var(dim=0, unbiased=True).reshape(layers, per_layer)
                    peak = var.max(dim=1).values
                    row.append(Point(cost, str(depth), n, layers, float(peak[0]), float(peak[-1]), float(var.mean()),
                                     [float(v) for v in peak], [float(v) for v in var.mean(dim=1)], float(grad.abs().mean()), init))
                ns = [p.n_qubits for p in row]
                fits.append(Fit(cost, str(depth), _slope(ns, [p.var_first for p in row]), _slope(ns, [p.var_last for p in row]),
                                _slope(ns, [p.var_mean for p in row]), ns, init))
                points.extend(row)
    return Report(component.config(), samples, seed, points, fits, list(inits), inputs, std)


def write_report(report: Report, out: str | Path) -> dict[str, str]:
    """``diagnose.json`` and ``gradient_variance.png`` (log variance against qubits) in ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    data = report.as_dict()
    (folder / "diagnose.json").write_text(json.dumps(data, indent=2, allow_nan=True) + "\n")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for fit in report.fits:
        pts = [p for p in report.points if p.cost == fit.cost and p.depth == fit.depth and p.init == fit.init]
        strategy = f"{fit.init} init, " if len(report.inits) > 1 else ""
        ax.semilogy([p.n_qubits for p in pts], [p.var_first for p in pts], marker="o",
                    label=f"{strategy}{fit.cost} cost, depth {fit.depth}: slope {fit.slope_first:+.2f}/qubit")
    ax.set_xlabel("qubits")
    ax.set_ylabel("Var[dC/dθ], first layer (largest)")
    ax.set_title(f"gradient variance, {report.ansatz['name']}, {report.samples} samples")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "gradient_variance.png", format="png", dpi=100)
    return {"json": str(folder / "diagnose.json"), "plot": str(folder / "gradient_variance.png")}


__all__ = ["COSTS", "INPUTS", "Fit", "Point", "Report", "cost_observable", "gradient_variance", "parse_depth", "write_report"]
