"""Keep freed statevectors in the heap: glibc's defaults hand them back to the kernel, and every step faults them in again.

A training step allocates and frees tens of batch states of a few MiB. glibc serves blocks past its
(dynamic) mmap threshold with fresh ``mmap`` pages and trims the heap top past its trim threshold,
so each step pays a page fault per 4 KiB of every new state, serialised in the kernel: at 16 qubits,
batch 16, that was a third of a 1-thread step, and it kept a second thread from helping
(``benchmarks/threads.py``). :func:`tune_glibc_malloc` raises both thresholds once per process, as
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` would, so freed states are reused from the heap.

It is process-wide, so it is done only on Linux with glibc, only when none of glibc's ``MALLOC_*``
tuning variables is set (the user's choice wins) and never when ``HQNN_MALLOC_TUNING=0``. The cost is
that up to :data:`TRIM_THRESHOLD` of freed heap stays mapped to the process instead of returning to
the system; blocks over :data:`MMAP_THRESHOLD` are still mapped and unmapped one by one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 2**30  # freed heap kept before the top is given back (capped at 1/8 of physical memory)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
_GLIBC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")

_state: dict[str, str] = {}


def tune_glibc_malloc() -> str:
    """Raise glibc's mmap and trim thresholds once per process; returns what was done (for run records)."""
    if "result" not in _state:
        _state["result"] = _tune()
    return _state["result"]


def _tune() -> str:
    if os.environ.get("HQNN_MALLOC_TUNING", "1") == "0":
        return "untouched (HQNN_MALLOC_TUNING=0)"
    if not sys.platform.startswith("linux"):
        return "untouched (not Linux)"
    chosen = [name for name in _GLIBC_VARIABLES if name in os.environ]
    if chosen:
        return f"untouched ({chosen[0]} is set)"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "untouched (no glibc mallopt)"
    trim = min(TRIM_THRESHOLD, os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 8)
    if not (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, trim)):
        return "untouched (mallopt refused)"
    return f"glibc mmap threshold {MMAP_THRESHOLD // 2**20} MiB, trim threshold {trim // 2**20} MiB"
