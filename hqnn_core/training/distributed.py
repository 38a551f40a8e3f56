"""Data-parallel training with PyTorch's own ``torch.distributed`` (DistributedDataParallel).

How a run is split (see docs/distributed.md):

* every rank builds the same model from the same seeds and reads the same shuffled order; each
  global batch of ``train.batch_size`` rows is split into ``world_size`` contiguous shards
  (``torch.tensor_split``), so the global batch is the profile's batch size whatever the rank count;
* each rank's loss is ``sum(cross_entropy(shard)) * world_size / len(global batch)``, so DDP's
  gradient average is exactly the gradient of the global batch mean (shards may be uneven; an empty
  shard runs one row with weight 0 so every rank joins every all-reduce);
* each rank owns its backend instance and accounting; shot seeds are derived per rank
  (``derive_seed(seed, "rank<r>")``) so ranks do not sample the same noise and the run is reproducible;
* rank 0 alone writes the run directory, checkpoints and ``run.json``; the record's
  ``distributed`` section merges ranks (jobs, circuits and shots summed, one entry per rank);
* checkpoints hold every rank's accounting; resuming on the same number of ranks restores each
  rank's own, on another number rank 0 carries the total (so the run's totals stay right).

Launch with ``torchrun --nproc-per-node N -m hqnn_core.cli train PROFILE`` (the environment
variables are detected) or ``hqnn train PROFILE --nproc N``, which starts N local processes through
torchrun's elastic launcher API (:func:`hqnn_core.training.launch.launch`). Gloo on CPU, NCCL when CUDA is available.
"""

from __future__ import annotations

import datetime
import os
import socket
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from hqnn_core.errors import ConfigError
from hqnn_core.training.paths import confined
from hqnn_core.training.records import RunRecord
from hqnn_core.training.spec import derive_seed

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
_TIMEOUT = datetime.timedelta(minutes=10)  # a dead peer fails the run instead of hanging it for gloo's 30-minute default


@dataclass
class DistContext:
    """This process's place in the job, and the few collectives the trainer needs."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- data split ------------------------------------------------------------------------------
    def shard(self, idx: torch.Tensor) -> tuple[torch.Tensor, float]:
        """This rank's contiguous part of a global batch, and its loss weight (0 for an empty shard)."""
        part = torch.tensor_split(idx, self.world_size)[self.rank]
        if len(part) == 0:
            return idx[:1], 0.0  # run one row so this rank joins DDP's all-reduce, contributing nothing
        return part, float(self.world_size) / len(idx)

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` inside DistributedDataParallel (it all-reduces gradients during backward)."""
        if not any(p.requires_grad for p in model.parameters()):
            return model
        device_ids = [self.local_rank] if self.backend == "nccl" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def train_step(self, forward: nn.Module, optimizer: Any, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> tuple[float, int, int]:
        """One optimiser step on this rank's shard of the global batch ``idx``: (loss sum, hits, rows) of the shard."""
        part, weight = self.shard(idx)
        xb, yb = x[part], y[part]
        optimizer.zero_grad()
        logits = forward(xb)
        loss_sum = nn.functional.cross_entropy(logits, yb, reduction="sum")
        (loss_sum * weight).backward()  # DDP averages over ranks: the result is the global batch mean's gradient
        optimizer.step()
        if weight == 0.0:
            return 0.0, 0, 0
        return float(loss_sum.detach()), int((logits.detach().argmax(dim=1) == yb).sum()), len(yb)

    # -- collectives -----------------------------------------------------------------------------
    def all_sum(self, *values: float) -> list[float]:
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def gather(self, obj: Any) -> list[Any]:
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    # -- per-rank seeds, records, budgets, accounting --------------------------------------------
    def seed(self, seed: int) -> int:
        return derive_seed(seed, f"rank{self.rank}")

    def local_record(self, record: RunRecord) -> RunRecord:
        """Rank 0 keeps the real record; other ranks get one that never writes."""
        return record if self.is_main else _RankRecord(record.run_dir, record.data)

    def share(self, limit: int | None) -> int | None:
        """Each rank's equal share of a run-wide job or shot limit."""
        return None if limit is None else limit // self.world_size

    def checkpoint_accounting(self, backend: Any) -> list[dict[str, Any]]:
        """Every rank's accounting (collective: all ranks call it at each checkpoint)."""
        return self.gather(backend.accounting.as_dict())

    def merge_into(self, record: RunRecord, backend: Any) -> None:
        """Put every rank's accounting into the record (collective; rank 0's record is the one saved)."""
        entries = self.gather({"rank": self.rank, "accounting": backend.accounting.as_dict(), "shot_seed": getattr(backend.options, "seed", None),
                               "host": socket.gethostname(), "pid": os.getpid()})
        total = _sum([e["accounting"] for e in entries])
        record.data["distributed"] = {"world_size": self.world_size, "backend": self.backend, "ranks": entries, "total": total,
                                      "global_batch": "train.batch_size, split across ranks"}
        hybrid = record.data.get("hybrid") or {}
        if "accounting" in hybrid:
            hybrid["accounting"] = total


class _RankRecord(RunRecord):
    """The record as seen by ranks other than 0: kept in memory, never written."""

    def save(self) -> None:
        return None


def _sum(entries: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in entries:
        for key, value in entry.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = out.get(key, 0) + value
    return out


def restore_accounting(state: dict[str, Any], backend: Any, ctx: DistContext | None) -> None:
    """Accounting from a data-parallel checkpoint: each rank its own on the same rank count, else rank 0 the total."""
    ranks = state.get("accounting_ranks") or []
    world, rank = (ctx.world_size, ctx.rank) if ctx is not None else (1, 0)
    if len(ranks) == world:
        backend.accounting.restore(ranks[rank])
    elif ranks:  # another rank count: rank 0 carries the totals so the run's accounting stays whole
        backend.accounting.restore(_sum(ranks) if rank == 0 else {})


def attach_task_journals(backend: Any, run_dir: Any, ctx: DistContext | None) -> None:
    """Give every backend in the chain a task journal in the run directory (``Backend.attach_journal``; local ones ignore it).

    One file per rank (``pending_tasks.json``, ``pending_tasks.rank1.json``, ...), so a resumed run
    re-attaches to the tasks it was waiting for instead of paying for them twice.
    """
    name = "pending_tasks.json" if ctx is None or ctx.rank == 0 else f"pending_tasks.rank{ctx.rank}.json"
    for b in backend.members():
        b.attach_journal(confined(run_dir, name))


def from_environment() -> DistContext | None:
    """The distributed context torchrun (or ``--nproc``) set up, or None for a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    missing = [k for k in _ENV if k not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE is set but {', '.join(missing)} are not; launch with torchrun or `hqnn train PROFILE --nproc N`.")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if not dist.is_initialized():
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group(backend=backend, timeout=_TIMEOUT)
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ["LOCAL_RANK"]), dist.get_backend())


def shutdown(ctx: DistContext | None) -> None:
    if ctx is not None and dist.is_initialized():
        dist.destroy_process_group()
