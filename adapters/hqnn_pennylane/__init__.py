"""hqnn adapter for PennyLane devices (registered through the ``hqnn`` entry point)."""
