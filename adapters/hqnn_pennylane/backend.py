"""``pennylane:<device>``: any installed PennyLane device as an hqnn backend, one broadcast execution per call.

Every task of a call becomes one tape whose gate parameters are length-N arrays (PennyLane
parameter broadcasting), and all tapes go to a single ``qml.execute``: that is the call's one job.
Devices without native broadcasting (lightning.qubit, plugin devices) are expanded by PennyLane
inside that execution, still one job from hqnn's side.

Gradients: when the slot values require grad and the device differentiates (``backprop`` on
default.qubit and default.mixed, ``adjoint`` on lightning.qubit), results are autograd-connected
torch tensors from PennyLane's torch interface, so hqnn's ``backprop``/``adjoint`` estimators work
through the device. Otherwise the values are detached and evaluated on NumPy, returning float64.

Shot semantics: with ``shots=S`` each binding is sampled S times per measurement setting.
PennyLane partitions the Pauli words into qubit-wise commuting groups that share one set of S
samples, and measures each term of a multi-term observable (``qml.Hamiltonian``) with its own
S samples. So every Pauli term is estimated from S samples and has standard error
``sqrt((1 - <P>^2) / S)``, as on the embedded torch backend; only the correlations between
different terms may differ. A seed is given to a fresh device per sampling call, so a seed
reproduces the samples exactly.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from typing import Annotated, Any, Literal

import numpy as np
import pennylane as qml
import torch
from pennylane.devices import ExecutionConfig
from pydantic import BaseModel, ConfigDict, Field

from hqnn_core.caching import TranslationCache
from hqnn_core.circuit import Circuit
from hqnn_core.errors import ConfigError, HQNNError, UnknownComponentError
from hqnn_core.interfaces import Backend, BackendCapabilities, Task
from hqnn_core.measurement import plan_measurements

from . import hqnn_environment_info
from .errors import map_error
from .translate import Translation, to_sample_tapes, to_tape, translate

#: Largest circuit we declare per device (memory of a broadcast statevector / density matrix on one machine).
MAX_QUBITS = {"default.mixed": 14}
DEFAULT_MAX_QUBITS = 30
#: Below this many qubits, OpenMP devices run single-threaded under ``threads="auto"``.
THREADS_BELOW_QUBITS = 16

#: Translations kept per backend (a layer uses one circuit; the bound is for odd workloads).
MAX_CACHED_CIRCUITS = 256

_GRADIENTS = ("backprop", "adjoint")


def installed_devices() -> list[str]:
    """Names of the PennyLane devices installed here (PennyLane's own entry-point table)."""
    return sorted(qml.plugin_devices)


class PennyLaneBackend(Backend):
    """Runs hqnn circuits on a PennyLane device (``pennylane:default.qubit``, ``pennylane:lightning.qubit``...)."""

    name = "pennylane"
    vendor = "pennylane"
    capabilities = BackendCapabilities(max_qubits=DEFAULT_MAX_QUBITS)  # replaced per device in __init__

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        diff_method: Literal["best", "backprop", "adjoint"] = Field(
            "best",
            description="how the device differentiates when hqnn's backprop/adjoint gradient is used: "
            "best = backprop where the device offers it, else adjoint",
        )
        seed: int | None = Field(None, description="base seed for shot sampling")
        share_weights: bool = Field(
            True,
            description="pass weight slots whose rows are equal as one scalar (exact for QuantumLayer; a direct caller "
            "differentiating per row gets the row-sum on row 0); false broadcasts every slot",
        )
        threads: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
            "auto",
            description="OpenMP threads while an OpenMP device (lightning.*) runs: auto = 1 below "
            "16 qubits, the library default above",
        )
        depolarizing: float = Field(
            0.0, ge=0.0, le=0.75, description="depolarizing probability after every gate, per wire (mixed-state devices)"
        )
        readout: float = Field(
            0.0, ge=0.0, le=0.5, description="symmetric readout-error probability per measured bit (mixed-state devices)"
        )

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        if not target:
            raise ConfigError(
                f"backend 'pennylane' needs a device: write 'pennylane:<device>', e.g. 'pennylane:default.qubit'. Installed: {', '.join(installed_devices())}."
            )
        if target not in qml.plugin_devices:
            raise UnknownComponentError(self._unknown_device(target))
        self._translations: TranslationCache[Circuit, Translation] = TranslationCache(MAX_CACHED_CIRCUITS)
        self._devices: dict[int, Any] = {}
        self._threadpools: Any = None
        probe, self._seedable = self._probe(target)
        self._noisy = bool(self.options.depolarizing or self.options.readout)
        if self._noisy:
            self._check_noise(probe)
        self._diff_method = self._choose_diff_method(probe)
        # Per device (the family serves many): what the probe device tells refines what the target and options decide.
        self.capabilities = replace(
            self.capabilities_for(target, self.options),
            backprop=self._diff_method == "backprop",
            adjoint=self._diff_method == "adjoint",
            higher_order=self._diff_method == "backprop",  # PennyLane's adjoint gradients are first-order only
            deterministic_shots=self._seedable,
        )

    @classmethod
    def capabilities_for(cls, target: str | None, options: BaseModel) -> BackendCapabilities:
        """The device's qubit limit and whether noise options are set; differentiation and seeding are probed when built."""
        assert isinstance(options, cls.Options)
        noisy = bool(options.depolarizing or options.readout)
        return replace(cls.capabilities, max_qubits=MAX_QUBITS.get(target or "", DEFAULT_MAX_QUBITS), noise=noisy)

    # -- set-up ------------------------------------------------------------------------------
    @staticmethod
    def _unknown_device(target: str) -> str:
        installed = installed_devices()
        msg = f"Unknown PennyLane device {target!r}."
        close = difflib.get_close_matches(target, installed, n=3, cutoff=0.6)
        if close:
            msg += f" Did you mean {' or '.join(repr('pennylane:' + c) for c in close)}?"
        msg += f" Installed PennyLane devices: {', '.join(installed)}. Other devices come from PennyLane plugins (e.g. amazon-braket-pennylane-plugin for braket.local.qubit)."
        return msg

    def _probe(self, target: str) -> tuple[Any, bool]:
        """A one-wire device to ask about differentiation and noise, and whether seeded sampling works.

        Some plugin devices accept ``seed`` when built but fail when sampling with it (the Braket
        plugin hands it to a simulator that rejects it), so a one-shot run decides.
        """
        try:
            seeded = qml.device(target, wires=1, seed=0)
            qml.execute([qml.tape.QuantumScript([qml.Hadamard(0)], [qml.expval(qml.Z(0))], shots=1)], seeded)
            return seeded, True
        except TypeError:  # no seed argument: sampling works but is not reproducible
            pass
        except Exception as e:  # noqa: BLE001 - any vendor failure becomes a config error naming the device
            raise self._unusable(target, e) from e
        try:
            return qml.device(target, wires=1), False
        except Exception as e:  # noqa: BLE001
            raise self._unusable(target, e) from e

    @staticmethod
    def _unusable(target: str, error: Exception) -> ConfigError:
        return ConfigError(
            f"PennyLane device {target!r} could not be created or run with wires (and seed) alone: {type(error).__name__}: {error}. "
            "Devices that need more constructor arguments (e.g. braket.aws.qubit's device_arn) are not supported through "
            "'pennylane:'; use the vendor's own hqnn backend (e.g. 'braket.aws:<device arn>')."
        )

    def _check_noise(self, probe: Any) -> None:
        tape = qml.tape.QuantumScript([qml.DepolarizingChannel(0.1, wires=0)], [qml.expval(qml.Z(0))])
        try:
            qml.execute([tape], probe)
        except qml.exceptions.DeviceError:
            raise ConfigError(
                f"backend {self.full_name!r} cannot simulate noise channels, so options depolarizing/readout are not available; "
                "use 'pennylane:default.mixed' for a noisy emulation, or set them to 0."
            ) from None

    def _choose_diff_method(self, probe: Any) -> str | None:
        supported = [m for m in _GRADIENTS if probe.supports_derivatives(ExecutionConfig(gradient_method=m, interface="torch"))]
        wanted = self.options.diff_method
        if wanted == "best":
            return supported[0] if supported else None
        if wanted not in supported:
            raise ConfigError(
                f"device {self.target!r} does not support diff_method={wanted!r}; it supports {supported or 'neither backprop nor adjoint'}. "
                "Leave diff_method at 'best' (and use gradient='parameter_shift' where neither is available)."
            )
        return wanted

    def _device(self, n_wires: int, seed: int | None) -> Any:
        """A device for ``n_wires`` qubits.

        Unseeded devices are cached per qubit count. A seeded one is built fresh for each sampling
        call (about 30 us for default.qubit or lightning.qubit): a device's generator advances as it
        samples, so a cached one would not give the same samples for the same seed twice.
        """
        if seed is not None and self._seedable:
            return qml.device(self.target, wires=n_wires, seed=seed)
        device = self._devices.get(n_wires)
        if device is None:
            device = self._devices[n_wires] = qml.device(self.target, wires=n_wires)
        return device

    def _thread_limit(self, n_wires: int) -> AbstractContextManager[Any]:
        """Cap OpenMP threads while an OpenMP device (lightning) runs small circuits.

        Lightning parallelises each gate and expectation over the 2^n amplitudes; below
        ``THREADS_BELOW_QUBITS`` qubits that costs more than it saves, and on a busy machine the
        spinning threads slow a batch down by more than 10x (measured: 7.3 s vs 0.4 s for 1000
        bindings of 4 qubits on 2 shared cores).
        """
        threads = self.options.threads
        if threads == "auto":
            threads = 1 if n_wires < THREADS_BELOW_QUBITS else None
        if threads is None or not str(self.target).startswith("lightning"):
            return nullcontext()
        if self._threadpools is None:
            try:
                from threadpoolctl import ThreadpoolController  # scikit-learn's dependency
            except ImportError:  # pragma: no cover - installed with hqnn's scikit-learn
                return nullcontext()
            self._threadpools = ThreadpoolController()  # created once: it scans the loaded libraries
        return self._threadpools.limit(limits=threads, user_api="openmp")

    def translation(self, circuit: Circuit) -> Translation:
        """The PennyLane form of ``circuit``, translated once per circuit."""
        return self._translations.get(circuit, lambda: translate(circuit, self.options.depolarizing, self.options.readout))

    # -- execution ---------------------------------------------------------------------------
    def _shareable(self, circuit: Circuit, shots: int | None, differentiable: bool) -> list[bool]:
        """Slots that may be passed as one scalar when their rows agree (see :func:`_columns`).

        Never with shots: an unbroadcast tape would draw one set of samples for all N bindings.
        """
        if shots is not None or not self.options.share_weights:
            return [False] * circuit.n_slots
        if not differentiable:
            return [True] * circuit.n_slots
        return ["input" not in slot.sources for slot in circuit.slots]

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        if shots is not None:
            return self._sampled(tasks, shots, seed)
        differentiable = self._diff_method is not None and any(v.requires_grad for _, v in tasks)
        tapes = []
        for circuit, values in tasks:
            tapes.append(
                to_tape(
                    self.translation(circuit),
                    _columns(values, differentiable, self._shareable(circuit, shots, differentiable)),
                    shots,
                )
            )
        n_wires = max(c.n_qubits for c, _ in tasks)
        self._count_job()
        if differentiable:
            with _default_dtype(tasks[0][1].dtype):
                results = self._execute(tapes, n_wires, None, self._diff_method, "torch")
        else:
            results = self._execute(tapes, n_wires, None, None, None)
        out = []
        for (circuit, values), result in zip(tasks, results, strict=True):
            n, k = values.shape[0], len(circuit.observables)
            if differentiable:
                out.append(_stack_torch(result, n, k).to(device=values.device, dtype=values.dtype))
            else:
                out.append(torch.from_numpy(_stack_numpy(result, n, k)).to(values.device))
        return out

    def _execute(self, tapes: list[Any], n_wires: int, seed: int | None, diff_method: str | None, interface: str | None) -> Any:
        """One ``qml.execute`` of every tape (the call's one job), vendor failures mapped to hqnn errors."""
        try:
            with self._thread_limit(n_wires):
                return qml.execute(tapes, self._device(n_wires, seed), diff_method=diff_method, interface=interface)
        except HQNNError:
            raise
        except Exception as e:
            mapped = map_error(e, self.full_name)
            if mapped is None:
                raise
            raise mapped from e

    def _sampled(self, tasks: list[Task], shots: int, seed: int | None) -> list[torch.Tensor]:
        """Every setting of every task sampled in one ``qml.execute`` (one job); terms read by the core plan."""
        plans = [plan_measurements(circuit) for circuit, _ in tasks]
        tapes, where = [], []
        for i, ((circuit, values), plan) in enumerate(zip(tasks, plans, strict=True)):
            if values.shape[0] == 0 or not plan.settings:
                continue
            columns = _columns(values, False, [False] * circuit.n_slots)
            # a parameter-free tape is not broadcast: one execution with rows * shots samples, split below
            per_tape = shots if circuit.n_slots else shots * values.shape[0]
            for tape in to_sample_tapes(self.translation(circuit), columns, per_tape, plan):
                tapes.append(tape)
                where.append(i)
        n_wires = max(c.n_qubits for c, _ in tasks)
        self._count_job()
        bits: list[list[np.ndarray]] = [[] for _ in tasks]
        if tapes:
            results = self._execute(tapes, n_wires, seed, None, None)
            for i, result in zip(where, results, strict=True):
                rows, n = tasks[i][1].shape[0], tasks[i][0].n_qubits
                bits[i].append(np.asarray(result).reshape(rows, shots, n))
        out = []
        for (_, values), plan, task_bits in zip(tasks, plans, bits, strict=True):
            rows = values.shape[0]
            terms = plan.term_values_from_bits(task_bits) if task_bits else np.zeros((rows, len(plan.terms)))
            out.append(torch.from_numpy(plan.combine(terms)).to(values.device))
        return out

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["device"] = self.target
        info["diff_method"] = self._diff_method
        info["versions"] = hqnn_environment_info()
        return info


def _columns(values: torch.Tensor, differentiable: bool, shareable: list[bool]) -> list[Any]:
    """One gate parameter per slot: a length-N column, or a scalar where sharing it is exact.

    A slot marked ``shareable`` whose rows are all equal is passed as one scalar, so PennyLane
    applies one 2x2 matrix instead of N of them (weights are the same in every row of a forward
    pass; this is what keeps the adapter within a few percent of a native TorchLayer). On the
    differentiable path only weight and constant slots are shareable: their gradient arrives as the
    sum over rows on row 0, which is exactly what a weight broadcast to every row receives.
    """
    if not differentiable:
        values = values.detach().cpu().to(torch.float64)
    if values.shape[1] == 0:
        return []
    columns: list[Any] = list(values.unbind(1) if differentiable else values.numpy().T)
    if values.shape[0] > 1 and any(shareable):
        same = (values == values[:1]).all(0).tolist()
        first = values[0].unbind() if differentiable else values[0].numpy()
        columns = [first[s] if same[s] and shareable[s] else col for s, col in enumerate(columns)]
    return columns


@contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Run with torch's default dtype set to ``dtype``.

    PennyLane's torch interface turns plain Python floats (what lightning.qubit returns) into
    tensors of the *default* dtype, which would round float64 results to float32.
    """
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _columns_of(result: Any, k: int) -> list[Any]:
    # PennyLane returns a bare array for a one-measurement tape and a tuple otherwise.
    return [result] if k == 1 else list(result)


def _stack_numpy(result: Any, n: int, k: int) -> np.ndarray:
    """``[n, k]`` float64 from one tape's results; scalars (unbroadcast tapes) are repeated n times."""
    if k == 0:
        return np.zeros((n, 0))
    cols = [np.broadcast_to(np.asarray(r, dtype=np.float64).reshape(-1), (n,)) for r in _columns_of(result, k)]
    return np.stack(cols, axis=1)


def _stack_torch(result: Any, n: int, k: int) -> torch.Tensor:
    """``[n, k]`` autograd-connected tensor from one tape's torch results."""
    if k == 0:
        return torch.zeros(n, 0, dtype=torch.float64)
    cols = [torch.as_tensor(r).reshape(-1).expand(n) for r in _columns_of(result, k)]
    return torch.stack(cols, dim=1)
