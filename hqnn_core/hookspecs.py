"""The hooks through which built-in and third-party plugins extend hqnn.

Hooks register components and observe coarse lifecycle events; they never run on the hot path
(executing circuits and gradients goes through interface methods). Hooks are called with keyword
arguments only, so an implementation may accept any subset of a spec's arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from hqnn_core.circuit import Circuit
    from hqnn_core.interfaces import Ansatz, Backend, Encoder, GradientEstimator, Mitigator, Optimizer
    from hqnn_core.registry import BackendRegistry, ComponentRegistry, ConverterRegistry

hookspec = pluggy.HookspecMarker("hqnn")
hookimpl = pluggy.HookimplMarker("hqnn")


@hookspec
def hqnn_register_encoders(registry: ComponentRegistry[Encoder]) -> None:
    """Register encoder classes with ``registry.add(MyEncoder)``.

    Called once when the plugin manager is built, for each plugin in turn; the registry records
    which plugin and distribution added each name. Every ``hqnn_register_*`` hook also takes import
    strings with a torch-free layout, ``registry.add("pkg.module:Class", name=..., layout=Layout)``
    (:mod:`hqnn_core.interfaces.layout`), so that checking a profile imports neither. Return nothing.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_register_ansatze(registry: ComponentRegistry[Ansatz]) -> None:
    """Register ansatz classes with ``registry.add(MyAnsatz)``.

    Called once when the plugin manager is built. Return nothing.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_register_gradients(registry: ComponentRegistry[GradientEstimator]) -> None:
    """Register gradient estimator classes with ``registry.add(MyEstimator)``.

    Called once when the plugin manager is built. Return nothing.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_register_mitigators(registry: ComponentRegistry[Mitigator]) -> None:
    """Register error mitigator classes with ``registry.add(MyMitigator)``.

    Called once when the plugin manager is built. Return nothing.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_register_optimizers(registry: ComponentRegistry[Optimizer]) -> None:
    """Register optimiser classes with ``registry.add(MyOptimizer)``; profiles name them in ``train.optimizer``.

    Called once when the plugin manager is built. An optimiser declares how an epoch runs and what
    a step costs (:class:`~hqnn_core.interfaces.optimizer.Optimizer`), so estimates, shot budgets and
    the data-parallel check work for it unchanged. Return nothing.

    .. versionadded:: 0.2
    """


@hookspec
def hqnn_register_backends(registry: BackendRegistry) -> None:
    """Register backends, lazily: ``registry.add("vendor.sim", "pkg.module:Class", extra=..., requires=(...))``.

    Called once when the plugin manager is built. Register import strings rather than classes
    so that no vendor SDK is imported until the backend is selected; ``requires`` names the
    modules checked (without importing) to report availability. ``registry.add_family("vendor",
    ...)`` registers ``vendor:<target>`` names. Return nothing.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_register_converters(registry: ConverterRegistry) -> None:
    """Register circuit converters, lazily: ``registry.add("vendor.format", "pkg.module:Class", requires=(...))``.

    Called once when the plugin manager is built. A converter reads another library's circuits
    into neutral circuits and writes them back (:mod:`hqnn_core.convert`); register an import
    string so that its SDK is imported only when a conversion is asked for. Return nothing.

    .. versionadded:: 0.2
    """


@hookspec(firstresult=True)
def hqnn_choose_gradient(backend: Backend, circuit: Circuit, shots: int | None) -> str | None:
    """Pick the gradient for ``gradient="best"``; the first non-``None`` name wins.

    Called when a layer is built with ``gradient="best"``, and by ``hqnn validate``, which describes
    the model without building it and passes the backend's torch-free layout
    (:class:`~hqnn_core.interfaces.layout.BackendLayout`: ``name``, ``options``, ``capabilities``), so
    read only those. The built-in implementation runs last and returns ``"backprop"`` when the
    backend declares backprop and ``shots`` is ``None``, else ``"parameter_shift"``.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``hqnn`` command-line group with ``@cli.command()``.

    Called once when the CLI starts. Return nothing.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_environment_info() -> Mapping[str, str]:
    """Return versions this plugin wants in run records, e.g. ``{"qiskit": "2.6.1"}``.

    Called when a run record is created. Read versions with ``importlib.metadata.version`` so that
    no SDK is imported. Every result is merged into the record's ``environment``.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_run_started(run: Mapping[str, Any]) -> None:
    """Observe the start of a training run; ``run`` is the run record as a mapping.

    Called after the run directory and record exist, before the first step. Return nothing.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_epoch_finished(run: Mapping[str, Any], epoch: int, metrics: Mapping[str, float]) -> None:
    """Observe the end of an epoch with its metrics (loss, accuracy, shots used...).

    Called after the epoch's checkpoint is written. Return nothing.

    .. versionadded:: 0.1
    """


@hookspec
def hqnn_run_finished(run: Mapping[str, Any], error: BaseException | None) -> None:
    """Observe the end of a run, including failed runs (``error`` is set). Must not raise.

    .. versionadded:: 0.1
    """
