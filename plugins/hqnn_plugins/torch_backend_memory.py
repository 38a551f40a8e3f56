"""The torch backend's memory model: how many bytes a run needs, what is free, and the most qubits that fit.

Torch-free (an estimate needs no simulator): dtypes are read only through ``itemsize``, so a
``torch.dtype`` or a ``numpy.dtype`` both work, and ``None`` means complex64. The backend checks
:func:`memory_needed` against :func:`available_memory` before it compiles or allocates anything.

The estimate is the peak of live tensors. It bounds the process's real peak where memory runs out:
a state of 32 MiB or more is mapped and unmapped on its own by glibc (also as hqnn tunes it,
:mod:`hqnn_plugins.torch_backend_allocator`), so nothing else is held. Smaller states are served from
the heap, whose reuse can fragment it: measured at 16 qubits, batch 16 (8 MiB states), the first
step's peak resident set was up to 3.0x the estimate with the tuning (adjoint, 6 layers: 167 MiB
against 55; up to 1.8x on the other paths) and up to 1.9x with glibc's defaults; at 18 qubits,
batch 8 (16 MiB states), up to 1.7x (forward). ``tests/core/test_torch_memory.py`` checks the live
peak at 16 qubits and the bound at 20 qubits as the process really allocates.
"""

from __future__ import annotations

import os
from typing import Protocol


class _Sized(Protocol):  # torch.dtype and numpy.dtype both say how many bytes an element takes
    @property
    def itemsize(self) -> int: ...


MAX_QUBITS = 30  # int32 basis-state indices; the memory check sets the practical limit below this
GATHER_MAX_QUBITS = 24  # up to here permutations gather with int64 tables (one index per 8 bytes of amplitude)
_COMPLEX64_BYTES = 8


def available_memory() -> int | None:
    """Free physical memory in bytes, or ``None`` where the platform cannot say."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def live_states(method: str, steps: int) -> float:
    """Batch statevectors alive at a run's peak: an upper bound fitted to measured peaks, not a count of named tensors.

    Measured as the peak RSS growth of one run in a fresh process (``tests/core/test_torch_memory.py``
    says how), in complex64 state sizes at 16 qubits, batch 16 and 32, 2 and 6 layers (5 and 25 plan
    steps), less the permutation tables: forward 1.9-2.0, backprop 9.4-9.5 and 29.6 (one state per
    step plus about 4.5), adjoint 6.5-6.6 whatever the depth, autograd 7.9-8.0 and 24.0 (0.8 per step
    plus about 3.9). A contiguous opening state and one-pass conjugates lowered every path by one
    to two states against the previous fit (4.2, steps + 7, 9.2, 5.4 + 0.8 steps); reading the opening
    state's gradient from the sweep's buffer, without a conjugated copy, one more on the adjoint and
    backprop paths (7.8, steps + 5.9).
    """
    return {"forward": 2.08, "adjoint": 6.8, "backprop": steps + 4.9, "autograd": 4.3 + 0.8 * steps}[method]


def memory_needed(n_qubits: int, batch: int, dtype: _Sized | None = None, method: str = "forward", steps: int = 0) -> int:
    """Peak bytes of one run: live states plus a pair of permutation tables (:func:`table_bytes`)."""
    itemsize = _COMPLEX64_BYTES if dtype is None else dtype.itemsize
    return int(live_states(method, steps) * batch * (2**n_qubits) * itemsize) + table_bytes(n_qubits, itemsize)


def table_bytes(n_qubits: int, itemsize: int = _COMPLEX64_BYTES) -> int:
    """A permutation and its inverse: int64 gather indices, one per 8 bytes of amplitude, up to
    :data:`GATHER_MAX_QUBITS`; int32 basis states (``8 * 2**n`` for the pair) past it."""
    if n_qubits <= GATHER_MAX_QUBITS:
        return 2 * 8 * (itemsize // 8) * 2**n_qubits
    return 8 * 2**n_qubits


def largest_qubits(memory: int, batch: int = 1, dtype: _Sized | None = None, method: str = "forward", steps: int = 0) -> int:
    """The most qubits whose run fits in ``memory`` bytes (0 if none); e.g. 24 GiB: 29 forward, 28 adjoint (complex64)."""
    n = 0
    while n < MAX_QUBITS and memory_needed(n + 1, batch, dtype, method, steps) <= memory:
        n += 1
    return n
