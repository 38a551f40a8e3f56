"""The run's write-ahead spending ledger: ``ledger.jsonl``, durable before the work it counts.

Every submission the budget guard lets through is written twice, one JSON line each, to an
append-only file in the run directory: an ``intent`` (what it will spend, fsynced *before* it is
sent) and a ``result`` (what it did spend, once it returns or fails). Reading the file back, a
submission counts its result, or its intent when no result was written (the process died while it
was in flight: the vendor may have run and billed it). So after a crash at any point the ledger
holds at least every job submitted, and at most the one in-flight submission more, and a resumed
run's limits start from it (the run record is written only at epoch ends, and lags).

A kill can tear only the last line (a write cut short); it is dropped on reading and cut off before
appending, so the file stays one JSON object per line. Money is kept as :class:`~decimal.Decimal`
strings, never floats, so ``limits.max_cost`` compares exact sums.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hqnn_core.errors import CheckpointError
from hqnn_core.training.checkpoints import fsync_dir, kill_point

LEDGER = "ledger.jsonl"
_COUNTS = ("jobs", "circuits", "shots")


@dataclass
class Spend:
    """Jobs, circuits, shots and USD (exact) of one submission or of a whole ledger."""

    jobs: int = 0
    circuits: int = 0
    shots: int = 0
    cost: Decimal = Decimal(0)

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.jobs + other.jobs, self.circuits + other.circuits, self.shots + other.shots, self.cost + other.cost)

    def as_line(self) -> dict[str, Any]:
        return {"jobs": self.jobs, "circuits": self.circuits, "shots": self.shots, "cost_usd": str(self.cost)}


def _parse(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The ledger's entries and the byte length of its whole lines.

    Only lines ended by a newline count: each is written with one ``write``, so an unterminated
    tail is a write cut short (an intent cut short was never sent; a result cut short leaves its
    intent to count). Anything else that is not an entry means the file was damaged or edited.
    """
    lines = path.read_bytes().split(b"\n")  # the last item is b"" after a final newline, else the torn tail
    entries, good = [], 0
    for i, line in enumerate(lines[:-1]):
        good += len(line) + 1
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or entry.get("event") not in {"intent", "result"} or type(entry.get("n")) is not int:
                raise ValueError("not an intent or result entry")
            spend_of(entry)
        except (ValueError, TypeError, KeyError, ArithmeticError) as e:
            raise CheckpointError(
                f"{path}: line {i + 1} is not a ledger entry ({e}); the spending ledger is damaged. Restore it, or start a new run."
            ) from None
        entries.append(entry)
    return entries, good


def spend_of(entry: dict[str, Any]) -> Spend:
    jobs, circuits, shots = (entry[k] for k in _COUNTS)
    if not all(type(c) is int and c >= 0 for c in (jobs, circuits, shots)):
        raise ValueError("counts must be non-negative integers")
    cost = Decimal(str(entry["cost_usd"]))
    if not cost.is_finite() or cost < 0:
        raise ValueError("cost_usd must be a non-negative number")
    return Spend(jobs, circuits, shots, cost)


def total(entries: list[dict[str, Any]]) -> Spend:
    """Each submission's result, or its intent if it never returned."""
    by_n: dict[int, Spend] = {}
    for entry in entries:
        if entry["event"] == "result" or entry["n"] not in by_n:
            by_n[entry["n"]] = spend_of(entry)
    out = Spend()
    for spend in by_n.values():
        out = out + spend
    return out


def ledger_files(run_dir: Path) -> list[Path]:
    """This run's ledgers: ``ledger.jsonl``, and one per extra rank of a data-parallel run."""
    return sorted(p for p in Path(run_dir).glob("ledger*.jsonl") if p.is_file() and not p.is_symlink())


def read_spent(run_dir: Path) -> Spend | None:
    """What the run has spent over all its sessions, crashed ones included; None when it has no ledger yet."""
    files = ledger_files(run_dir)
    if not files:
        return None
    out = Spend()
    for path in files:
        out = out + total(_parse(path)[0])
    return out


class Ledger:
    """Appends intents and results to one ``ledger*.jsonl``; the budget guard calls it around each submission."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        entries: list[dict[str, Any]] = []
        if self.path.exists():
            entries, good = _parse(self.path)
            if good != self.path.stat().st_size:  # cut a torn last line off before appending after it
                with open(self.path, "r+b") as fh:
                    fh.truncate(good)
                    os.fsync(fh.fileno())
                entries = _parse(self.path)[0]
        self.next = max((e["n"] for e in entries), default=0) + 1
        existed = self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if not existed:
            fsync_dir(self.path.parent)

    @classmethod
    def for_run(cls, run_dir: Path, rank: int = 0) -> Ledger:
        return cls(Path(run_dir) / (LEDGER if rank == 0 else f"ledger.rank{rank}.jsonl"))

    def _append(self, entry: dict[str, Any], sync: bool) -> None:
        os.write(self._fd, (json.dumps(entry, separators=(",", ":")) + "\n").encode())
        if sync:
            os.fsync(self._fd)

    def intend(self, backend: str, spend: Spend) -> int:
        """Record (durably) a submission about to be sent; returns its number for :meth:`settle`."""
        n, self.next = self.next, self.next + 1
        self._append({"n": n, "event": "intent", "backend": backend, **spend.as_line()}, sync=True)
        kill_point("intent", n)  # crash-test hook: recorded, not yet sent
        return n

    def settle(self, n: int, spend: Spend) -> None:
        """Record what submission ``n`` spent (zero if it was refused before it reached the vendor)."""
        kill_point("submitted", n)  # crash-test hook: sent, result not yet recorded
        # not fsynced: if it is lost with the machine, the fsynced intent still counts the submission (an upper bound)
        self._append({"n": n, "event": "result", **spend.as_line()}, sync=False)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


__all__ = ["LEDGER", "Ledger", "Spend", "ledger_files", "read_spent", "total"]
