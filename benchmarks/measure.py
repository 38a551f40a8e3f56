"""Measuring: the machine's memory bandwidth, the traffic floors, agreement between tools, and step times.

Times are wall-clock seconds of one forward+backward. Tools are timed in rounds: each round visits
every tool in a fresh random order and runs a short block of consecutive steps (as training would),
so that load from other processes hits every tool alike; the first step of a block (cold caches) is
dropped, garbage collection runs between blocks and not inside steps, and medians are reported.
"""

from __future__ import annotations

import gc
import math
import random
import signal
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from benchmarks.workloads import Workload


def bandwidth(megabytes: int = 256, repeats: int = 7) -> dict[str, float]:
    """Main-memory bandwidth in GB/s from a large copy (2 x size moved) and add (3 x size), medians.

    Measured at the harness's thread count (1 by default, as every tool runs), on tensors larger than
    the caches: the rate a state too big for cache streams at.
    """
    n = megabytes * 2**20 // 4
    a, b, c = torch.rand(n), torch.rand(n), torch.empty(n)
    results = {}
    for name, moved, fn in (("copy", 2, lambda: c.copy_(a)), ("add", 3, lambda: torch.add(a, b, out=c))):
        fn()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        results[f"{name}_GBps"] = moved * n * 4 / statistics.median(times) / 1e9
    results["GBps"] = results["copy_GBps"]
    results["threads"] = torch.get_num_threads()
    return results


def matmul_rate(size: int = 512, repeats: int = 7) -> float:
    """Real float32 GFLOP/s of a square matmul at the harness's thread count (median): the compute ceiling."""
    a, b = torch.rand(size, size), torch.rand(size, size)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * size**3 / statistics.median(times) / 1e9


def floors(w: Workload, copy_gbps: float, gflops: float, plan_steps: int | None = None) -> dict[str, float]:
    """Lower bounds, in seconds, on one forward+backward of ``w`` by any fused statevector simulation.

    ``memory_s``: a fused simulation reads and writes the batched complex64 state once per layer
    (the encoding counts as one) and keeps it for the backward, which an adjoint pass does in twice
    the forward's traffic: (6L + 6) state sizes, at the copy bandwidth measured in the same run
    (a copy moves 2 bytes per byte copied, so its rate is per byte moved).
    ``compute_s``: every single-qubit rotation (RY, RZ fused per wire and layer) costs 14 real flops per
    amplitude (a complex 2x2 matrix on each pair); backward is twice the forward; CNOTs are free
    permutations; at the measured matmul rate.
    ``floor_s`` is the larger. ``gate_by_gate_s`` (three passes per gate) and ``fused_plan_s`` (hqnn's
    own plan steps) are kept for comparison with earlier runs.
    """
    state = w.state_bytes()
    amplitudes = w.batch * 2**w.n_qubits
    memory = (6 * w.layers + 6) * state / (copy_gbps * 1e9)
    compute = 3 * (w.n_qubits * (w.layers + 1)) * 14 * amplitudes / (gflops * 1e9)
    out = {"memory_s": memory, "compute_s": compute, "floor_s": max(memory, compute),
           "gate_by_gate_s": 3 * w.gate_by_gate_bytes() / (copy_gbps * 1e9)}
    if plan_steps is not None:
        out["fused_plan_s"] = 3 * (plan_steps + 2) * 2 * state / (copy_gbps * 1e9)
    return out


def max_deviation(ref: tuple[torch.Tensor, torch.Tensor], got: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Largest ``|got - ref|`` over outputs and gradients, relative to the reference's scale (at least 1)."""
    worst = 0.0
    for r, g in zip(ref, got):
        scale = max(1.0, float(r.abs().max()))
        worst = max(worst, float((g - r).abs().max()) / scale)
    return worst


class StepTimeout(Exception):
    pass


_fired: list[bool] = [False]


def _alarm(_signum: int, _frame: object) -> None:
    _fired[0] = True
    raise StepTimeout


def timed(fn: Callable[[], object], cap: float | None) -> float:
    """Seconds ``fn`` took; raises :class:`StepTimeout` past ``cap`` (interrupts Python-level work)."""
    use_alarm = cap is not None and hasattr(signal, "setitimer")
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, cap)
    _fired[0] = False
    try:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    except Exception as e:  # a library may wrap our timeout in its own error (qiskit-ml does): still a timeout
        if _fired[0] and not isinstance(e, StepTimeout):
            raise StepTimeout from e
        raise
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


@dataclass
class Timing:
    times: list[float] = field(default_factory=list)
    by_round: dict[int, float] = field(default_factory=dict)  # median step of each round's block
    capped: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else math.nan

    @property
    def best(self) -> float:
        return min(self.times) if self.times else math.nan


def round_ratios(peer: Timing, base: Timing) -> list[float]:
    """``peer / base`` of the rounds both ran: ratios under the same load, one per round."""
    return [peer.by_round[r] / base.by_round[r] for r in sorted(peer.by_round) if r in base.by_round]


def interleaved(steps: dict[str, Callable[[], object]], rounds: int, cap: float, budget: float, block: int = 3,
                seed: int = 0, prepare: Callable[[int], None] | None = None) -> dict[str, Timing]:
    """Time every step in ``rounds`` rounds of ``block`` consecutive steps (the first dropped unless the tool is slow).

    ``prepare(r)`` runs (untimed) before round ``r``, to give every tool new inputs and weights, so
    that no tool can reuse anything from the previous round. A step past ``cap`` stops that tool; a tool
    whose timed steps add up to ``budget`` seconds stops early.
    """
    timings = {k: Timing() for k in steps}
    order = list(steps)
    rng = random.Random(seed)
    for r in range(rounds):
        if prepare is not None:
            prepare(r)
        rng.shuffle(order)
        for key in order:
            t = timings[key]
            if t.capped or (t.times and sum(t.times) >= budget):
                continue
            n = block if not t.times or t.median * block < budget / rounds else 1
            gc.collect()
            gc.disable()
            try:
                block_times = [timed(steps[key], cap) for _ in range(n)]
            except StepTimeout:
                t.capped = True
                continue
            finally:
                gc.enable()
            kept = block_times[1:] if len(block_times) > 1 else block_times
            t.times.extend(kept)
            t.by_round[r] = statistics.median(kept)
    return timings
