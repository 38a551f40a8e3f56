"""hqnn adapter for Qiskit and Qiskit Aer (registered through the ``hqnn`` entry point)."""
