"""What a run spends on a backend: jobs, circuit executions (bindings) and shots (torch-free, for validating and estimating)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Usage:
    """Jobs, circuit executions (bindings) and shots."""

    jobs: int = 0
    circuits: int = 0
    shots: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.jobs + other.jobs, self.circuits + other.circuits, self.shots + other.shots)

    def times(self, n: int) -> Usage:
        return Usage(self.jobs * n, self.circuits * n, self.shots * n)

    def as_dict(self) -> dict[str, int]:
        return {"jobs": self.jobs, "circuits": self.circuits, "shots": self.shots}


__all__ = ["Usage"]
