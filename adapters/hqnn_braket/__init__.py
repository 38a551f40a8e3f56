"""hqnn adapter for Amazon Braket (registered through the ``hqnn`` entry point)."""
