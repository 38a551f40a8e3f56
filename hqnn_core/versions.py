"""Installed distribution versions, read from package metadata without importing the packages.

Adapters report their SDK versions for run records (``hqnn_environment_info``) through
:func:`installed_versions`, so that a run record never imports a vendor SDK just to name it. This
module imports only the standard library: every layer, adapters included, may use it.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Iterable


def installed_versions(distributions: Iterable[str]) -> dict[str, str]:
    """``{name: version}`` for each of ``distributions`` that is installed, in the order given; missing ones are left out.

    Example:
        >>> installed_versions(["pyyaml", "no-such-distribution-hqnn"])  # doctest: +SKIP
        {'pyyaml': '6.0.2'}
    """
    versions: dict[str, str] = {}
    for name in distributions:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return versions


__all__ = ["installed_versions"]
