"""Converters carry circuits between another library's format and hqnn's neutral circuit.

The vendor halves live in the adapters and register through ``hqnn_register_converters`` by
import string, so the core imports no SDK; :mod:`hqnn_core.convert` is the public entry point.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from hqnn_core.circuit import Circuit
from hqnn_core.interfaces.component import Component


class Converter(Component):
    """Reads a foreign circuit into a neutral :class:`Circuit` (``to_neutral``) and writes one back (``from_neutral``).

    ``to_neutral`` decomposes gates outside the neutral set where that is exact and otherwise raises
    :class:`~hqnn_core.errors.CapabilityError` naming the gate and the fix. Round trips preserve the
    state the circuit prepares.
    """

    kind: ClassVar[str] = "converter"

    @abstractmethod
    def to_neutral(self, source: Any, **kwargs: Any) -> Circuit:
        """The neutral circuit of ``source``; keyword arguments say which parameters are inputs or weights."""

    @abstractmethod
    def from_neutral(self, circuit: Circuit) -> Any:
        """``circuit`` in this converter's format."""
