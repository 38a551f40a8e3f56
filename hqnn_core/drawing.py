"""Seeing a circuit: a text diagram that fits a terminal, a matplotlib figure, and its specs.

The text diagram follows PennyLane's ``qml.draw`` conventions (one line per wire, wire 0 on top,
``╭●``/``╰X`` for controlled gates, ``┤`` before the measured observables) so that users of either
library read it the same way. Angles are shown as the slot expressions that produce them
(``x[0]``, ``0.5·w[3]+1.57``), not as numbers: a circuit is a template until slot values arrive.
"""

from __future__ import annotations

import shutil
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from hqnn_core.circuit import Circuit, Op, Slot

#: How a two-wire gate is shown on its (first, second) wire; gates not listed show their name on both.
_TWO_WIRE_MARKS = {"CNOT": ("●", "X"), "CZ": ("●", "Z"), "SWAP": ("×", "×"), "CRX": ("●", "RX"), "CRY": ("●", "RY"),
                   "CRZ": ("●", "RZ"), "CPhase": ("●", "Rϕ")}


def _number(value: float) -> str:
    return f"{value:.4g}"


def _entry(source: str, index: int, coeff: float = 1.0, offset: float = 0.0) -> str:
    name = f"{'x' if source == 'input' else 'w'}[{index}]"
    text = name if coeff == 1.0 else f"-{name}" if coeff == -1.0 else f"{_number(coeff)}·{name}"
    return text if not offset else f"({text}{'+' if offset > 0 else '-'}{_number(abs(offset))})"


def slot_label(slot: Slot) -> str:
    """The expression behind one gate angle, e.g. ``x[0]``, ``2·w[3]``, ``x[1]+1.571``, ``2·(-x[0]+3.142)·(-x[1]+3.142)``."""
    if slot.source == "const" and not slot.factors:
        return _number(slot.offset)
    parts = [] if slot.source == "const" else [_entry(slot.source, slot.index)]
    parts += [_entry(f.source, f.index, f.coeff, f.offset) for f in slot.factors]
    name = "·".join(parts)
    text = name if slot.coeff == 1.0 else f"-{name}" if slot.coeff == -1.0 else f"{_number(slot.coeff)}·{name}"
    if slot.offset:
        text += f"{'+' if slot.offset > 0 else '-'}{_number(abs(slot.offset))}"
    return text


def _gate_label(circuit: Circuit, op: Op, name: str) -> str:
    if not op.slots:
        return name
    return f"{name}({','.join(slot_label(circuit.slots[s]) for s in op.slots)})"


def _observable_marks(circuit: Circuit) -> tuple[list[str], list[str]]:
    """Per wire, what is measured on it; plus a legend for observables that span wires or carry weights."""
    marks: list[list[str]] = [[] for _ in range(circuit.n_qubits)]
    legend = []
    for k, obs in enumerate(circuit.observables):
        single = len(obs.terms) == 1 and obs.terms[0].coeff == 1.0 and len(obs.terms[0].paulis) == 1
        if single:
            wire, pauli = obs.terms[0].paulis[0]
            marks[wire].append(f"⟨{pauli}⟩")
            continue
        for wire in sorted(obs.wires):
            marks[wire].append(f"⟨O{k}⟩")
        legend.append(f"O{k} = {obs}")
    return [" ".join(m) for m in marks], legend


def _columns(circuit: Circuit) -> list[list[str | None]]:
    """Place each op in the first column free on every wire it spans; a cell per wire and column."""
    n = circuit.n_qubits
    columns: list[list[str | None]] = []
    next_free = [0] * n
    for op in circuit.ops:
        low, high = min(op.wires), max(op.wires)
        col = max(next_free[w] for w in range(low, high + 1))
        if col == len(columns):
            columns.append([None] * n)
        cells = columns[col]
        if len(op.wires) == 1:
            cells[op.wires[0]] = _gate_label(circuit, op, op.name)
        else:
            first, second = _TWO_WIRE_MARKS.get(op.name, (op.name, op.name))
            label = _gate_label(circuit, op, second) if op.slots else second
            if op.name not in _TWO_WIRE_MARKS and op.slots:
                first = label
            for w in range(low, high + 1):
                cells[w] = "│"
            top, bottom = ("╭", "╰")
            cells[op.wires[0]] = first
            cells[op.wires[1]] = label
            cells[low] = top + (cells[low] or "")
            cells[high] = bottom + (cells[high] or "")
        for w in range(low, high + 1):
            next_free[w] = col + 1
    return columns


def draw_text(circuit: Circuit, max_width: int | None = None) -> str:
    """The circuit as text, wrapped into blocks no wider than ``max_width`` (default: the terminal)."""
    width = max_width if max_width is not None else shutil.get_terminal_size((100, 24)).columns
    n = circuit.n_qubits
    prefix = [f"{w}: " for w in range(n)]
    pad = max(len(p) for p in prefix)
    prefix = [p.rjust(pad) for p in prefix]
    rendered = []
    for cells in _columns(circuit):
        size = max(len(c) for c in cells if c is not None)
        column = []
        for c in cells:
            if c is None:
                column.append("─" * (size + 2))
            elif c == "│":
                column.append("─" + "│".ljust(size, "─") + "─")
            else:
                column.append("─" + c.ljust(size, "─") + "─")
        rendered.append(column)
    marks, legend = _observable_marks(circuit)
    ends = [f"─┤ {m}" if m else "─┤" for m in marks]
    end_width = max(len(e) for e in ends)

    blocks: list[list[str]] = []
    current: list[list[str]] = []
    used = pad
    for column in rendered:
        if current and used + len(column[0]) + end_width > width:
            blocks.append(["".join(parts) for parts in zip(*current, strict=True)])
            current, used = [], pad
        current.append(column)
        used += len(column[0])
    body = ["".join(parts) for parts in zip(*current, strict=True)] if current else [""] * n
    lines: list[str] = []
    for block in blocks:
        lines.extend(prefix[w] + block[w] + "─╌" for w in range(n))
        lines.append("")
    lines.extend(prefix[w] + body[w] + ends[w] for w in range(n))
    lines.extend(legend)
    return "\n".join(line.rstrip() for line in lines)


def draw_figure(circuit: Circuit) -> Figure:
    """The text diagram on a matplotlib figure (monospace), for notebooks and run directories."""
    import matplotlib.pyplot as plt  # matplotlib is a base dependency, but slow to import: only when a figure is asked for

    text = draw_text(circuit, max_width=160)
    lines = text.splitlines()
    fig = plt.figure(figsize=(max(4.0, 0.09 * max(len(line) for line in lines)), max(1.5, 0.28 * len(lines))))
    fig.text(0.01, 0.98, text, family="DejaVu Sans Mono", va="top", ha="left", fontsize=9)
    return fig


def specs(circuit: Circuit) -> dict[str, Any]:
    """Size and content of a circuit: qubits, depth, gates by name, slots by source, trainable weights."""
    by_source = Counter(slot.source for slot in circuit.slots)
    weights, inputs = circuit.reads("weight"), circuit.reads("input")
    return {
        "n_qubits": circuit.n_qubits,
        "depth": circuit.depth(),
        "n_ops": len(circuit.ops),
        "gate_counts": dict(sorted(Counter(op.name for op in circuit.ops).items())),
        "n_two_qubit_gates": sum(1 for op in circuit.ops if len(op.wires) == 2),
        "n_slots": circuit.n_slots,
        "slots_by_source": {source: by_source.get(source, 0) for source in ("input", "weight", "const")},
        "n_inputs_used": len(inputs),
        "n_trainable_parameters": len(weights),
        "observables": [str(o) for o in circuit.observables],
    }
