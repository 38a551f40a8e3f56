"""Amazon Braket backends: the local simulators (``braket.local:sv|dm``) and AWS devices (``braket.aws:<arn>``).

The registry's import strings and user code name the backends here; the work is split by job:

* :mod:`hqnn_braket.packing`: each neutral circuit translated once (cached) into one parametric
  Braket circuit, and the bindings of a call packed into as few tasks as the device allows
  (program sets of ``CircuitBinding``s for shots; one OpenQASM program and input set per binding
  for exact results, since Braket has no exact program sets);
* :mod:`hqnn_braket.base`: the translation cache, job planning and error mapping both share;
* :mod:`hqnn_braket.local`: the local simulators with their ``direct`` and ``sdk`` engines;
* :mod:`hqnn_braket.aws`: AWS managed submission, journalled and idempotent.

Shot semantics are in :mod:`hqnn_braket.measurement` and match the embedded torch backend's.
"""

from __future__ import annotations

from hqnn_braket.aws import BraketAwsBackend
from hqnn_braket.local import BraketLocalBackend

__all__ = ["BraketAwsBackend", "BraketLocalBackend"]
