"""Paths named inside a run directory stay inside it.

A run directory is data a user may receive from someone else: ``run.json`` and the checkpoint
manifests name files, and hqnn reads, replaces and deletes them. :func:`confined` is the one gate
every such name passes through: it refuses absolute paths, ``..``, control characters, backslashes
and symlinks that lead out of the folder, so nothing in a run directory can make hqnn touch a path
outside it.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from hqnn_core.errors import CheckpointError


def confined(root: str | os.PathLike[str], relative: object, what: str = "a path") -> Path:
    """``root / relative``, refused unless it names something inside ``root`` once symlinks are followed.

    Args:
        root: the run directory (or a folder inside it) the name must stay in.
        relative: the name as read from the run directory (a relative POSIX path such as ``epoch-0003.pt``).
        what: where the name came from, for the error message (e.g. ``checkpoints/hybrid/manifest.json``).

    Raises:
        CheckpointError: the name is not a plain relative path, or it (or a symlink on the way) leads outside ``root``.
    """
    if not isinstance(relative, str) or not relative or any(ord(c) < 32 or c in "\\\x7f" for c in relative):
        raise CheckpointError(f"{what} names {relative!r}, which is not a plain relative file name; the run directory was modified. "
                              "hqnn only touches files inside the run directory.")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", ".") for part in relative.split("/")):
        raise CheckpointError(f"{what} names {relative!r}, a path outside the run directory (absolute or with '..'); "
                              "the run directory was modified. hqnn only touches files inside the run directory.")
    base = Path(root).resolve()
    target = (base / pure).resolve()  # follows every symlink on the way, existing or not
    if not target.is_relative_to(base):
        raise CheckpointError(f"{what} names {relative!r}, which is a symlink (or lies under one) leading outside the run directory "
                              f"to {target}; remove the link. hqnn only touches files inside the run directory.")
    return base / pure
