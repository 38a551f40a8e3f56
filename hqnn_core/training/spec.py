"""The run spec: a profile resolved against the registry once, frozen, and read by everything that builds a run.

:func:`resolve` checks every component name and option of a :class:`~hqnn_core.config.LoadedProfile`
against the registries (raising the :class:`~hqnn_core.errors.ConfigError` that names the key and the
fix) and decides everything a run needs that the profile leaves open: the backend chain with each
member's shot seed, the gradient, mitigators and their seeds, limits, the optimizer, the retry and
fallback settings, and this process's rank. Preparing, estimating, validating, the budget, the run
record, kernel and Born-machine runs all read the :class:`RunSpec`; none of them looks the profile up
in the registry again. Every random source's seed comes from here, so a backend in a fallback chain
cannot miss its seed.

This module imports neither torch nor any backend SDK, so ``hqnn validate`` can resolve a profile
without them (the registry loads component classes only as far as it must to read their options).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from hqnn_core.config import LoadedProfile, Profile
from hqnn_core.errors import ConfigError
from hqnn_core.plugin_manager import get_plugins
from hqnn_core.training.validate import check_components

#: The named random sources of a run; each gets ``derive_seed(train.seed, tag)``.
SEED_TAGS = ("weights", "init", "baseline_init", "shuffle", "torch", "shots", "spsa", "gradient", "mitigation")


def derive_seed(seed: int, tag: str) -> int:
    """A 63-bit seed for one random source, from the run seed and the source's name."""
    state = np.random.SeedSequence([seed, zlib.crc32(tag.encode())]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def seeds_for(profile: Profile) -> dict[str, int]:
    return {"train": profile.train.seed, "data_split": profile.data.seed, **{t: derive_seed(profile.train.seed, t) for t in SEED_TAGS}}


def _frozen(options: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(options))


@dataclass(frozen=True)
class Choice:
    """One resolved component: its registered name and its options (seed included where one was derived)."""

    name: str
    options: Mapping[str, Any]

    def spec(self) -> dict[str, Any]:
        """``{"name", "options"}`` as the component factories take it."""
        return {"name": self.name, "options": dict(self.options)}


@dataclass(frozen=True)
class BackendChoice(Choice):
    """One member of the backend chain; ``key`` is where the profile names it (``backend``, ``backend.fallback[0]``)."""

    key: str = "backend"
    remote: bool = False


@dataclass(frozen=True)
class RetrySettings:
    """``backend.retry`` with its derived jitter seed (see :class:`~hqnn_core.execution.retry.RetryPolicy`)."""

    attempts: int
    deadline_s: float
    backoff_s: float
    max_backoff_s: float
    jitter_s: float
    seed: int


@dataclass(frozen=True)
class ChainSettings:
    """How the chain moves between its members: retry policy, per-call deadline, circuit breaker, cost escalation."""

    retry: RetrySettings
    call_timeout_s: float | None
    breaker_reset_s: float
    allow_cost_escalation: bool


@dataclass(frozen=True)
class Limits:
    """``limits`` of the profile (this rank's share of them under data parallelism)."""

    max_jobs: int | None
    max_shots: int | None
    max_cost: float | None
    preflight: bool


@dataclass(frozen=True)
class RunSpec:
    """Everything a run is built from, resolved once (see :func:`resolve`); frozen, and equal for equal inputs."""

    source: str
    backends: tuple[BackendChoice, ...]
    #: None: the primary runs alone (a remote one still gets the default retry chain of one)
    chain: ChainSettings | None
    shots: int | None
    shots_per_step: int | None
    n_qubits: int
    encoder: Choice
    ansatz: Choice
    layers: int
    observables: tuple[str, ...] | None
    #: None: ``best`` (chosen for the assembled backend when the layer is built)
    gradient: Choice | None
    mitigators: tuple[Choice, ...]
    init: str
    init_std: float
    optimizer: Choice
    limits: Limits
    seeds: Mapping[str, int]
    #: the seeds the profile left open and the spec filled in, by profile key (recorded in run.json)
    injected_seeds: Mapping[str, int]
    rank: int | None = None
    world_size: int = 1

    @property
    def backend(self) -> BackendChoice:
        """The primary backend."""
        return self.backends[0]

    @property
    def fallback(self) -> tuple[BackendChoice, ...]:
        return self.backends[1:]

    def layer_kwargs(self) -> dict[str, Any]:
        """:class:`~hqnn_core.layer.QuantumLayer` arguments other than the backend (which the run assembles)."""
        return {
            "n_qubits": self.n_qubits,
            "encoder": self.encoder.spec(),
            "ansatz": self.ansatz.spec(),
            "layers": self.layers,
            "gradient": "best" if self.gradient is None else self.gradient.spec(),
            "shots": self.shots,
            "observables": None if self.observables is None else list(self.observables),
            "mitigation": [m.spec() for m in self.mitigators],
            "seed": self.seeds["weights"],
            "init": self.init,
            "init_std": self.init_std,
        }


# -- resolving ---------------------------------------------------------------------------------
def wants_chain(loaded: LoadedProfile) -> bool:
    """Whether the profile asks for a fallback chain, a retry policy or a per-call deadline."""
    b = loaded.profile.backend
    return bool(b.fallback) or "retry" in b.model_fields_set or b.call_timeout_s is not None


def _seeded(cls: Any, options: Mapping[str, Any], seed: int, key: str, injected: dict[str, int]) -> dict[str, Any]:
    """``options`` with ``seed`` filled in when the component takes one and the profile left it unset."""
    out = dict(options)
    if cls is not None and "seed" in cls.Options.model_fields and out.get("seed") is None:
        out["seed"] = seed
        injected[key] = seed
    return out


def _rank_seed(seed: int, rank: int | None) -> int:
    """A data-parallel rank's own shot seed (ranks must not sample the same noise), else ``seed``."""
    return seed if rank is None else derive_seed(seed, f"rank{rank}")


def _member(cls: Any, name: str, options: Mapping[str, Any], key: str, seeds: Mapping[str, int], rank: int | None,
            injected: dict[str, int]) -> BackendChoice:
    """One chain member with its shot seed: the profile's, else the run's derived one, made per rank under data parallelism."""
    opts = dict(options)
    if "seed" in cls.Options.model_fields:
        base = opts.get("seed")
        if base is None:
            opts["seed"] = _rank_seed(seeds["shots"], rank)
            if rank is None:  # a rank's own seed is recorded in run.json's distributed section
                injected[f"{key}.options.seed"] = seeds["shots"]
        elif rank is not None:
            opts["seed"] = _rank_seed(int(base), rank)
    return BackendChoice(name, _frozen(opts), key, bool(cls.capabilities.remote))


def resolve(loaded: LoadedProfile, backend: str | None = None, shots: Any = "profile", backend_options: Mapping[str, Any] | None = None,
            rank: int | None = None, world_size: int = 1, with_fallback: bool = True) -> RunSpec:
    """Check ``loaded`` against the registries and resolve it into a :class:`RunSpec` (nothing is built or run).

    ``backend``/``backend_options``/``shots`` run the profile's model on another backend (``hqnn
    compare``, ``hqnn eval --backend``); ``rank``/``world_size`` give a data-parallel process its
    share of the limits and its own shot seeds; ``with_fallback=False`` leaves ``backend.fallback``
    and the retry policy out (a rebuilt model evaluated once).

    Raises ConfigError (or MissingExtraError) naming the profile key and the fix.
    """
    classes = check_components(loaded)  # the one registry check of the run
    p = loaded.profile
    if rank is not None and not classes["optimizer_class"].data_parallel():  # data parallelism averages gradients
        raise ConfigError(f"{loaded.source}: train.optimizer {p.train.optimizer.name!r} is gradient-free and cannot be data-parallel; "
                          "use a torch optimiser (adam, sgd, ...) with --nproc/torchrun, or run on one process.")
    q, b, t = p.model.quantum, p.backend, p.train
    plugins = get_plugins()
    seeds = seeds_for(p)
    injected: dict[str, int] = {}
    if backend is None:
        primary = _member(classes["backend_class"], b.name, b.options if backend_options is None else backend_options, "backend", seeds, rank,
                          injected)
    else:
        primary = _member(plugins.backends.get(backend), backend, b.options if backend_options is None else backend_options, "backend", seeds,
                          rank, injected)
    members = [primary]
    chain = None
    if with_fallback and backend is None and wants_chain(loaded):
        members += [_member(cls, ref.name, ref.options, f"backend.fallback[{i}]", seeds, rank, injected)
                    for i, (cls, ref) in enumerate(zip(classes["fallback_classes"], b.fallback))]
        r = b.retry
        chain = ChainSettings(RetrySettings(r.attempts, r.deadline_s, r.backoff_s, r.max_backoff_s, r.jitter_s, derive_seed(t.seed, "retry") % 2**31),
                              b.call_timeout_s, b.breaker_reset_s, b.allow_cost_escalation)
    gradient = None
    if q.gradient.name != "best":
        gradient = Choice(q.gradient.name, _frozen(_seeded(classes["gradient_class"], q.gradient.options, seeds["gradient"],
                                                           "model.quantum.gradient.options.seed", injected)))
    mitigators = tuple(
        Choice(ref.name, _frozen(_seeded(cls, ref.options, derive_seed(seeds["mitigation"], str(i)), f"mitigation[{i}].options.seed", injected)))
        for i, (cls, ref) in enumerate(zip(classes["mitigator_classes"], p.mitigation))
    )

    def share(limit: Any) -> Any:  # each rank gets an equal share of a run-wide limit
        return limit if limit is None or world_size == 1 else limit // world_size

    lim = p.limits
    return RunSpec(
        source=loaded.source,
        backends=tuple(members),
        chain=chain,
        shots=b.shots if shots == "profile" else shots,
        shots_per_step=t.shots_per_step,
        n_qubits=q.n_qubits,
        encoder=Choice(q.encoder.name, _frozen(q.encoder.options)),
        ansatz=Choice(q.ansatz.name, _frozen(q.ansatz.options)),
        layers=q.layers,
        observables=None if q.observables is None else tuple(q.observables),
        gradient=gradient,
        mitigators=mitigators,
        init=q.init,
        init_std=q.init_std,
        optimizer=Choice(t.optimizer.name, _frozen(t.optimizer.options)),
        limits=Limits(share(lim.max_jobs), share(lim.max_shots), share(lim.max_cost), lim.preflight),
        seeds=_frozen(seeds),
        injected_seeds=_frozen(injected),
        rank=rank,
        world_size=world_size,
    )


__all__ = ["SEED_TAGS", "BackendChoice", "ChainSettings", "Choice", "Limits", "RetrySettings", "RunSpec", "derive_seed", "resolve", "seeds_for",
           "wants_chain"]
