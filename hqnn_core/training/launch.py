"""``hqnn train --nproc N``: N local data-parallel processes through torchrun's elastic launcher API.

Each process runs :func:`hqnn_core.training.run.train`, which finds its rank in the environment
torchrun sets (see :mod:`hqnn_core.training.distributed` for how a run is split). This module sits
above the run, so the run and the distributed collectives never import it.
"""

from __future__ import annotations

import os
import signal
import socket
import uuid
from typing import Any

import torch
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from hqnn_core.errors import ConfigError
from hqnn_core.training.run import train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(kwargs: dict[str, Any], default_dtype: str | None) -> dict[str, Any] | None:
    """One rank: train and hand rank 0's record back to the launcher."""
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


__all__ = ["launch"]
