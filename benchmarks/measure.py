"""Measuring: the machine's memory bandwidth, the traffic floors, agreement between tools, and step times.

Times are wall-clock seconds of one forward+backward. Tools are timed in rounds: each round visits
every tool in a fresh random order and runs a short block of consecutive steps (as training would),
so that load from other processes hits every tool alike; the first step of a block (cold caches) is
dropped, garbage collection runs between blocks and not inside steps, and medians are reported.
"""

from __future__ import annotations

import gc
import math
import os
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

    The tensors are larger than the caches, so this is the rate a state too big for cache streams at.
    """
    n = megabytes * 2**20 // 4
    a, b, c = torch.rand(n), torch.rand(n), torch.empty(n)
    results = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or threads)  # the machine's bandwidth, with every core pulling
    try:
        for name, moved, fn in (("copy", 2, lambda: c.copy_(a)), ("add", 3, lambda: torch.add(a, b, out=c))):
            fn()
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            results[f"{name}_GBps"] = moved * n * 4 / statistics.median(times) / 1e9
    finally:
        torch.set_num_threads(threads)
    results["GBps"] = max(results["copy_GBps"], results["add_GBps"])
    return results


def floors(w: Workload, gbps: float, plan_steps: int | None = None) -> dict[str, float]:
    """Seconds for 3 x one forward pass's memory traffic (forward + backward) at ``gbps``.

    ``gate_by_gate``: every gate reads and writes the complex64 batch state once (the issue's floor).
    ``fused``: hqnn's compiled plan, whose steps (plus building the opening state and measuring) each
    read and write it once.
    """
    out = {"gate_by_gate_s": 3 * w.gate_by_gate_bytes() / (gbps * 1e9)}
    if plan_steps is not None:
        out["fused_s"] = 3 * (plan_steps + 2) * 2 * w.state_bytes() / (gbps * 1e9)
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
    capped: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else math.nan

    @property
    def best(self) -> float:
        return min(self.times) if self.times else math.nan


def interleaved(steps: dict[str, Callable[[], object]], rounds: int, cap: float, budget: float, block: int = 3,
                seed: int = 0) -> dict[str, Timing]:
    """Time every step in ``rounds`` rounds of ``block`` consecutive steps (the first dropped unless the tool is slow).

    A step past ``cap`` stops that tool; a tool whose timed steps add up to ``budget`` seconds stops early.
    """
    timings = {k: Timing() for k in steps}
    order = list(steps)
    rng = random.Random(seed)
    for _ in range(rounds):
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
            t.times.extend(block_times[1:] if len(block_times) > 1 else block_times)
    return timings
