"""The torch backends' options and memory model load without torch (what config-time tools need)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from hqnn_plugins.noisy_torch_backend import NoisyTorchBackend
from hqnn_plugins.torch_backend import TorchBackend
from hqnn_plugins.torch_backend_memory import largest_qubits, memory_needed
from hqnn_plugins.torch_backend_options import DensityMatrixOptions, StatevectorOptions, TorchSimulatorOptions


def test_options_and_memory_model_import_without_torch():
    code = ("import sys; import hqnn_plugins.torch_backend_options, hqnn_plugins.torch_backend_memory; "
            "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_both_backends_share_one_precision_and_seed_definition():
    assert TorchBackend.Options is StatevectorOptions and NoisyTorchBackend.Options is DensityMatrixOptions
    for options in (StatevectorOptions, DensityMatrixOptions):
        assert issubclass(options, TorchSimulatorOptions)
        assert list(options.model_fields)[:2] == ["precision", "seed"]
    assert list(StatevectorOptions.model_fields) == ["precision", "seed", "diff_method"]
    assert TorchBackend(precision="complex128", seed=3).options.seed == 3
    with pytest.raises(ValidationError, match="readout_error"):
        DensityMatrixOptions(readout_error=[0.1, 0.2, 0.3])
    with pytest.raises(ValidationError, match="extra"):
        DensityMatrixOptions(diff_method="adjoint")  # the statevector's option is not the density matrix's


def test_memory_model_reads_torch_and_numpy_dtypes_alike():
    assert memory_needed(20, 4, torch.complex64) == memory_needed(20, 4, np.dtype(np.complex64)) == memory_needed(20, 4)
    assert memory_needed(20, 4, torch.complex128, "adjoint") == int(6.8 * 4 * 2**20 * 16) + 32 * 2**20
    assert largest_qubits(24 * 2**30, dtype=np.dtype(np.complex128), method="adjoint") == 27
