"""Shot-noise bounds: how far a sampled expectation may fall from the exact one.

One formula for every backend, so no adapter can loosen its tests ad hoc. A Pauli term estimated
from N ±1 samples has standard error ``sqrt((1 - <P>^2) / N)``; a bound of ``k`` standard errors
(k = 5 by default) with a fixed seed makes a false failure a one-in-a-million event.
"""

from __future__ import annotations

import math

import torch

from hqnn_core.circuit import Observable

K_SIGMA = 5.0


def term_std(exact: torch.Tensor | float, shots: int) -> torch.Tensor:
    """Standard error of one Pauli term's estimate; floored at ``1/sqrt(shots)/sqrt(shots)`` near ±1."""
    exact = torch.as_tensor(exact, dtype=torch.float64)
    variance = torch.clamp(1 - exact**2, min=1.0 / shots)
    return torch.sqrt(variance / shots)


def shot_tolerance(exact: torch.Tensor, observables: tuple[Observable, ...] | list[Observable], shots: int, k: float = K_SIGMA) -> torch.Tensor:
    """Allowed ``|estimate - exact|`` per entry of an ``[N, K]`` expectation array.

    Single-term observables use the exact per-term standard error; sums of terms take the
    worst case ``sum |c_i| / sqrt(shots)`` since the terms' covariances are not known.
    """
    exact = torch.as_tensor(exact, dtype=torch.float64)
    cols = []
    for j, obs in enumerate(observables):
        if len(obs.terms) == 1 and obs.terms[0].paulis:
            c = abs(obs.terms[0].coeff)
            cols.append(k * c * term_std(exact[:, j] / c if c else exact[:, j], shots))
        else:
            total = sum(abs(t.coeff) for t in obs.terms if t.paulis)
            cols.append(torch.full_like(exact[:, j], k * total / math.sqrt(shots)))
    return torch.stack(cols, dim=1)
