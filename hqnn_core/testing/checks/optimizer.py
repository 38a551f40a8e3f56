"""Optimiser checks: defaults build, what ``build`` returns matches ``stepping``, a step lowers a small loss,
the evaluations a step reports are the ones it makes, and seeds and checkpoints reproduce the numbers.

The loss is ``sum_i 1 - cos(theta_i - t_i)`` over three parameters from zero: smooth, periodic in each
parameter (as a rotation angle's loss is), quadratic near its minimum 0 at ``t``, and cheap.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from hqnn_core.errors import HQNNError
from hqnn_core.interfaces.optimizer import GradientSteps, LossResult, LossSteps, Optimizer, WholeSetEpochs
from hqnn_core.testing.checks.common import ConformanceSettings, Violation, check, expect

TARGET = (0.8, -0.5, 1.2)
#: the learning rate the checks train with (train.lr's role)
LR = 0.05
#: steps the seed and resume checks take: enough random draws (3 parameters x 6 steps of SPSA's +-1 signs) that two
#: unseeded runs agreeing by chance is a 2**-18 event, not the 1-in-64 of two steps
REPRO_STEPS = 6
PROTOCOLS: dict[str, type] = {"gradient": GradientSteps, "loss": LossSteps, "whole_set": WholeSetEpochs}


def small_loss(theta: torch.Tensor) -> torch.Tensor:
    """``sum_i 1 - cos(theta_i - t_i)``: the loss every optimiser check minimises."""
    return (1 - torch.cos(theta - torch.tensor(TARGET, dtype=theta.dtype))).sum()


class _Run:
    """One built optimiser on fresh parameters, counting the loss evaluations it asks for."""

    def __init__(self, optimizer: Optimizer, seed: int, start: torch.Tensor | None = None) -> None:
        self.optimizer = optimizer
        self.theta = nn.Parameter(torch.zeros(len(TARGET), dtype=torch.float64) if start is None else start.clone())
        self.evaluations = 0
        try:
            self.steps = optimizer.build([self.theta], LR, seed)
        except HQNNError as e:
            raise Violation(f"build() raised {type(e).__name__}: {e}", "build() must accept any parameters, train.lr and a seed.") from None

    def loss(self) -> float:
        with torch.no_grad():
            return float(small_loss(self.theta))

    def _evaluate(self) -> LossResult:
        self.evaluations += 1
        return self.loss(), 0

    def step(self) -> None:
        """One step as the trainer takes it for this ``stepping``."""
        stepping = type(self.optimizer).stepping
        if stepping == "gradient":
            self.steps.zero_grad()
            small_loss(self.theta).backward()
            self.evaluations += 1
            self.steps.step()
        elif stepping == "loss":
            with torch.no_grad():
                results = self.steps.step(self._evaluate)
            expect(isinstance(results, list) and results, f"step(loss_fn) returned {results!r}, not a non-empty list of loss results.",
                   "return the (loss, hits) results whose mean the epoch reports, e.g. every evaluation's.")
        else:
            with torch.no_grad():
                self.steps.run_epoch(self._evaluate)


def _declared(optimizer: Optimizer) -> str:
    stepping = type(optimizer).stepping
    expect(stepping in PROTOCOLS, f"stepping is {stepping!r}.", f"set the class attribute stepping to one of {', '.join(PROTOCOLS)}.")
    return stepping


@check("optimizer")
def check_optimizer_options_defaults_validate(optimizer: Optimizer, settings: ConformanceSettings) -> None:
    """Every option has a valid default, so ``train.optimizer: <name>`` alone works."""
    cls = type(optimizer)
    try:
        defaults = cls.Options()
        built = cls()
    except (HQNNError, ValueError) as e:
        raise Violation(f"the default options do not validate: {e}", "give every field of Options a valid default.") from None
    expect(built.options == defaults, f"{cls.__qualname__}() has options {built.options!r}, not the defaults {defaults!r}.",
           "let Component.__init__ build the options; do not change them afterwards.")


@check("optimizer")
def check_optimizer_builds_what_stepping_declares(optimizer: Optimizer, settings: ConformanceSettings) -> None:
    """``build`` returns the stepping object its ``stepping`` promises, with ``state_dict``/``load_state_dict`` for checkpoints."""
    stepping = _declared(optimizer)
    steps = _Run(optimizer, settings.seed).steps
    protocol = PROTOCOLS[stepping]
    expect(isinstance(steps, protocol), f"stepping = {stepping!r} but build() returned {type(steps).__qualname__}, which lacks "
           f"the methods of {protocol.__name__}.", f"return an object with the methods of hqnn_core.interfaces.optimizer.{protocol.__name__}, "
           "or declare the stepping it has.")


@check("optimizer")
def check_optimizer_step_decreases_small_loss(optimizer: Optimizer, settings: ConformanceSettings) -> None:
    """One step (one epoch for ``whole_set``) from zero lowers the small loss and keeps it finite."""
    run = _Run(optimizer, settings.seed)
    before = run.loss()
    run.step()
    after = run.loss()
    expect(torch.isfinite(run.theta.detach()).all(), f"a step made the parameters {run.theta.detach().tolist()}.",
           "keep the step finite (check divisions by the perturbation or the learning rate).")
    expect(after < before, f"one step took the loss from {before:.6g} to {after:.6g}; it should go down.",
           "step against the gradient (or accept only points with a lower loss).")


@check("optimizer")
def check_optimizer_counts_its_evaluations(optimizer: Optimizer, settings: ConformanceSettings) -> None:
    """``evaluations_per_step`` (and ``steps_per_epoch`` for ``whole_set``) equal, or bound, the evaluations a step makes.

    Estimates, job limits and the shot budget are computed from these numbers before anything runs.
    """
    stepping = _declared(optimizer)
    n = len(TARGET)
    declared = optimizer.evaluations_per_step(n)
    run = _Run(optimizer, settings.seed)
    run.step()
    if stepping == "whole_set":
        cap = declared * optimizer.steps_per_epoch(1, n)
        expect(run.evaluations <= cap, f"one epoch made {run.evaluations} loss evaluations, over the declared "
               f"evaluations_per_step x steps_per_epoch = {declared} x {cap // max(declared, 1)} = {cap}.",
               "return the true cap from steps_per_epoch (estimates and job limits count it).")
    else:
        expect(run.evaluations == declared, f"one step made {run.evaluations} loss evaluation(s) but evaluations_per_step({n}) "
               f"says {declared}.", "return the number of loss_fn calls one step makes (a torch step is one forward and backward pass: 1).")


def _after(optimizer: Optimizer, seed: int, steps: int) -> tuple[torch.Tensor, _Run]:
    run = _Run(optimizer, seed)
    for _ in range(steps):
        run.step()
    return run.theta.detach().clone(), run


@check("optimizer")
def check_optimizer_seed_reproducible(optimizer: Optimizer, settings: ConformanceSettings) -> None:
    """Two builds with the same seed take bit-identical steps (all randomness comes from the seed)."""
    first, _ = _after(optimizer, settings.seed, REPRO_STEPS)
    second, _ = _after(optimizer, settings.seed, REPRO_STEPS)
    expect(torch.equal(first, second), f"two runs with seed {settings.seed} reached {first.tolist()} and {second.tolist()}.",
           "draw every random number from a generator seeded by build()'s seed, never from a global one.")


@check("optimizer")
def check_optimizer_resumes_exactly(optimizer: Optimizer, settings: ConformanceSettings) -> None:
    """Stopping after a step, saving ``state_dict`` and loading it into a fresh build continues with the same numbers."""
    half = REPRO_STEPS // 2
    straight, _ = _after(optimizer, settings.seed, REPRO_STEPS)
    halfway, run = _after(optimizer, settings.seed, half)
    state = copy.deepcopy(run.steps.state_dict())
    resumed = _Run(optimizer, settings.seed, start=halfway)
    resumed.steps.load_state_dict(state)
    for _ in range(REPRO_STEPS - half):
        resumed.step()
    got = resumed.theta.detach()
    expect(torch.equal(got, straight), f"{REPRO_STEPS} steps reached {straight.tolist()}, but {half} steps, a checkpoint and "
           f"{REPRO_STEPS - half} more reached {got.tolist()}.", "put every piece of state a step reads (step counters, generator states) in state_dict().")
