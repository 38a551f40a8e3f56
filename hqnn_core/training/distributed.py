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
torchrun's elastic launcher API. Gloo on CPU, NCCL when CUDA is available.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from hqnn_core.errors import ConfigError
from hqnn_core.interfaces import Accounting
from hqnn_core.training.paths import confined
from hqnn_core.training.records import RunRecord

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
        from hqnn_core.training.prepare import derive_seed

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
        backend.accounting = Accounting(**ranks[rank])
    elif ranks:  # another rank count: rank 0 carries the totals so the run's accounting stays whole
        backend.accounting = Accounting(**_sum(ranks)) if rank == 0 else Accounting()


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


def check_profile(ctx: DistContext | None, optimizer: str) -> None:
    """Data parallelism needs gradients to average; gradient-free optimisers step on whole-set losses."""
    if ctx is not None and optimizer in ("spsa", "cobyla"):
        raise ConfigError(
            f"train.optimizer {optimizer!r} is gradient-free and cannot be data-parallel; use a torch optimiser "
            "(adam, sgd, ...) with --nproc/torchrun, or run on one process."
        )


def rank_backend_options(ctx: DistContext, loaded: Any) -> dict[str, Any] | None:
    """The profile's backend options with this rank's shot seed, for backends that take a seed."""
    from hqnn_core.plugin_manager import get_plugins
    from hqnn_core.training.prepare import seeds_for

    b = loaded.profile.backend
    if "seed" not in get_plugins().backends.get(b.name).Options.model_fields:
        return None
    base = b.options.get("seed")
    return {**b.options, "seed": ctx.seed(int(base) if base is not None else seeds_for(loaded.profile)["shots"])}


def shutdown(ctx: DistContext | None) -> None:
    if ctx is not None and dist.is_initialized():
        dist.destroy_process_group()


# -- launching N local processes -------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(kwargs: dict[str, Any], default_dtype: str | None) -> dict[str, Any] | None:
    """One rank: train and hand rank 0's record back to the launcher."""
    from hqnn_core.training.run import train

    if default_dtype is not None:
        torch.set_default_dtype(getattr(torch, default_dtype))
    torch.set_num_threads(1)  # N processes on N cores; more threads per rank only contend
    rank = int(os.environ.get("RANK", "0"))
    result = train(**{**kwargs, "quiet": kwargs.get("quiet", False) or rank != 0})
    return {"run_dir": str(result.run_dir), "record": result.record} if rank == 0 else None


def launch(nproc: int, default_dtype: str | None = None, **train_kwargs: Any) -> dict[str, Any]:
    """Run ``train(**train_kwargs)`` on ``nproc`` local processes (torchrun's elastic launcher, no restarts).

    Returns rank 0's ``{"run_dir", "record"}``. ``default_dtype`` ("float64") is set in every rank
    before the model is built (tests compare runs at float64 precision).
    """
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if nproc < 1:
        raise ConfigError(f"--nproc {nproc}: give a positive number of processes (e.g. --nproc 2).")
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=f"hqnn-{uuid.uuid4().hex[:12]}", rdzv_backend="c10d",
                          rdzv_endpoint=f"127.0.0.1:{_free_port()}", max_restarts=0, monitor_interval=0.1, start_method="spawn")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        results = elastic_launch(config, _worker)(train_kwargs, default_dtype)
    finally:  # the launcher installs its own SIGINT/SIGTERM handlers and leaves them behind; the caller's come back
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return results[0]
