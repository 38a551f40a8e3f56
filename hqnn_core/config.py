"""Run profiles: the YAML or TOML file that ``hqnn train`` runs, validated strictly before anything runs.

A profile is loaded with a duplicate-key-rejecting ``yaml.SafeLoader`` (or ``tomllib``), checked
for credentials, validated by the pydantic models below (``extra="forbid"``, strict types: no
``"1e3"``, ``1000.0`` or ``true`` for an integer), then checked against the plugin registries so
that a misspelt backend or encoder fails here, not after jobs were paid for. Every problem is one
:class:`~hqnn_core.errors.ConfigError` naming the file, the key path, the bad value and the fix.

The schema reference (``schema_markdown()``) is rendered from these models, so docs cannot drift.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hqnn_core.errors import ConfigError, MissingExtraError, UnknownComponentError

#: Largest profile file accepted, and deepest nesting: profiles are small, hand-written files.
MAX_PROFILE_BYTES = 1 << 20
MAX_DEPTH = 16
#: Keys that look like credentials; profiles are shared and recorded, so they must never hold secrets.
SECRET_KEY = re.compile(r"(token|secret|passw(or)?d|api[_-]?key|access[_-]?key|credential|private[_-]?key)", re.IGNORECASE)
CREDENTIALS_HINT = (
    "do not put credentials in a profile; use the vendor's credential mechanism: an AWS profile "
    "(AWS_PROFILE or ~/.aws/credentials) for Braket, QISKIT_IBM_TOKEN or a saved account for IBM"
)
DATASETS_VAR = "HQNN_DATASETS"


# -- the schema --------------------------------------------------------------------------------
class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ComponentRef(_Section):
    """A registered component by name (``angle``) or as ``{name: angle, options: {rotation: X}}``."""

    name: str = Field(description="registered name (see `hqnn components`)")
    options: dict[str, Any] = Field(default_factory=dict, description="the component's own options, validated by it")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "options": dict(self.options)}


def _ref(name: str) -> Any:
    return Field(default_factory=lambda: ComponentRef(name=name))


class DataConfig(_Section):
    """Where the data comes from and how it is prepared; every step is fitted on the training split only."""

    source: Literal["digits", "iris", "breast_cancer", "wine", "npz", "csv", "idx", "bars_and_stripes"] = Field(
        description="scikit-learn bundled set, or a file: npz (X_train, y_train, X_test, y_test), csv (features then label), idx (MNIST); "
        "or bars_and_stripes (generated bit-strings for model.kind: born_machine)"
    )
    pattern_shape: list[int] | None = Field(
        None, min_length=2, max_length=2, description="bars_and_stripes only: [rows, cols] of the images (every pattern once, uniformly weighted)"
    )
    path: str | None = Field(None, description="file for npz/csv/idx (idx: the images file); relative to the profile; ${HQNN_DATASETS} expands")
    test_path: str | None = Field(None, description="csv only: a separate test file (then no split is made)")
    labels_path: str | None = Field(None, description="idx only: the labels file (default: the images path with images-idx3 -> labels-idx1)")
    classes: list[int] | None = Field(None, min_length=2, description="labels to keep, in this order (class i is the i-th); default: all")
    test_size: float = Field(0.25, gt=0, lt=1, description="fraction held out for testing when the source has no split of its own")
    seed: int = Field(0, ge=0, lt=2**63, description="seed of the train/test split and of subsampling")
    max_train: int | None = Field(None, ge=2, description="keep at most this many training samples (stratified)")
    max_test: int | None = Field(None, ge=2, description="keep at most this many test samples (stratified)")
    standardize: bool = Field(True, description="zero mean, unit variance per feature (StandardScaler)")
    pca: int | None = Field(None, ge=1, description="reduce to this many principal components")
    angle_range: list[float] | None = Field(
        None, min_length=2, max_length=2, description="min-max scale every feature into [low, high] (e.g. [0, 3.14159]); clipped"
    )

    @model_validator(mode="after")
    def _paths_fit_source(self) -> DataConfig:
        file_sources = {"npz", "csv", "idx"}
        if self.source in file_sources and not self.path:
            raise ValueError(f"data.source {self.source!r} reads a file; set data.path (relative to the profile or ${{{DATASETS_VAR}}}/...)")
        if self.source not in file_sources and self.path:
            raise ValueError(f"data.path is only used by npz, csv and idx sources; remove it for source {self.source!r}")
        if self.test_path and self.source != "csv":
            raise ValueError("data.test_path is only used by the csv source; remove it")
        if self.labels_path and self.source != "idx":
            raise ValueError("data.labels_path is only used by the idx source; remove it")
        if (self.source == "bars_and_stripes") != (self.pattern_shape is not None):
            raise ValueError("data.pattern_shape ([rows, cols], e.g. [3, 3]) sizes the images of source bars_and_stripes: give it with that source, and only then")
        if self.pattern_shape is not None and min(self.pattern_shape) < 1:
            raise ValueError(f"data.pattern_shape must be two positive integers [rows, cols], got {self.pattern_shape}")
        if self.classes is not None and len(set(self.classes)) != len(self.classes):
            raise ValueError(f"data.classes lists a label twice: {self.classes}; list each label once")
        if self.angle_range is not None and not self.angle_range[0] < self.angle_range[1]:
            raise ValueError(f"data.angle_range must be [low, high] with low < high, got {self.angle_range}")
        return self


class FrontEndConfig(_Section):
    """Classical layers before the quantum layer; they end in a projection to the encoder's features."""

    model_config = ConfigDict(extra="forbid", strict=True, serialize_by_alias=True)

    kind: Literal["none", "mlp", "cnn", "pretrained"] = Field(
        "none", description="none (features go straight in; use data.pca), mlp, cnn (images), or pretrained (a backbone from `from`)"
    )
    from_: str | None = Field(None, alias="from", description="pretrained only: an hqnn run directory or a torch state_dict file")
    backbone: Literal["mlp", "cnn"] | None = Field(None, description="pretrained from a state_dict: its architecture (a run says its own)")
    freeze: bool | int = Field(True, description="pretrained only: true (freeze the backbone), false (fine-tune it), or N (freeze its first N layers)")
    hidden: list[int] = Field(default_factory=lambda: [32], description="mlp: hidden widths; cnn: widths of the dense layers after the convolutions")
    channels: list[int] = Field(default_factory=lambda: [8, 16], description="cnn only: channels of each conv + max-pool block")
    kernel_size: int = Field(3, ge=1, description="cnn only: convolution kernel size")
    activation: Literal["relu", "tanh"] = Field("relu", description="activation between hidden layers")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout after each hidden layer")
    output_scale: float = Field(3.141592653589793, gt=0, description="the projection ends in tanh times this, giving angles in [-scale, scale]")

    @model_validator(mode="after")
    def _check(self) -> FrontEndConfig:
        if any(h < 1 for h in self.hidden) or any(c < 1 for c in self.channels):
            raise ValueError("model.front_end.hidden and channels must hold positive integers")
        if self.kind == "cnn" and not self.channels:
            raise ValueError("model.front_end.channels must list at least one conv block for kind: cnn")
        if (self.kind == "pretrained") != (self.from_ is not None):
            raise ValueError("model.front_end.from names the pretrained backbone: give it with kind: pretrained, and only then")
        if not isinstance(self.freeze, bool) and self.freeze < 0:
            raise ValueError(f"model.front_end.freeze must be true, false or a number of layers >= 0, got {self.freeze}")
        return self


class QuantumConfig(_Section):
    """The ``QuantumLayer``: every component by registered name or ``{name, options}``."""

    n_qubits: int = Field(ge=1, description="qubits of the circuit (at most the backend's max_qubits; see `hqnn backends`)")
    encoder: ComponentRef = _ref("angle")
    ansatz: ComponentRef = _ref("hardware_efficient")
    layers: int = Field(1, ge=1, description="ansatz layers (a re-uploading encoder repeats before each)")
    observables: list[str] | None = Field(None, min_length=1, description="Pauli observables, e.g. ['Z0', '0.5*X0X1']; default Z on each qubit")
    gradient: ComponentRef = _ref("best")
    init: Literal["uniform", "normal", "zeros", "identity_blocks"] = Field(
        "uniform", description="starting weights: uniform (the ansatz's own), normal (small angles), zeros, identity_blocks (layer pairs = identity)"
    )
    init_std: float = Field(0.1, gt=0, description="standard deviation of init: normal")


class HeadConfig(_Section):
    """Classical layers after the quantum layer, ending in one logit per class."""

    kind: Literal["linear", "none"] = Field("linear", description="linear, or none (the observables are the logits; needs one per class)")
    hidden: list[int] = Field(default_factory=list, description="hidden widths before the final linear layer")

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, value: list[int]) -> list[int]:
        if any(h < 1 for h in value):
            raise ValueError(f"model.head.hidden must hold positive integers (layer widths), got {value}; e.g. hidden: [16]")
        return value


class KernelConfig(_Section):
    """A quantum-kernel SVC (``model.kind: kernel``): the feature map is ``model.quantum``'s encoder on its n_qubits."""

    type: Literal["fidelity", "projected"] = Field(
        "fidelity", description="fidelity (|<φ(x')|φ(x)>|²) or projected (Gaussian on one-qubit reduced states, Huang et al. 2021)"
    )
    C: float = Field(1.0, gt=0, allow_inf_nan=False, description="the SVC's regularisation (larger: less regularised)")
    gamma: float = Field(1.0, gt=0, allow_inf_nan=False, description="projected only: k = exp(-gamma · ½ Σ_q,P (<P_q> - <P_q>')²)")
    method: Literal["auto", "state", "compute_uncompute"] = Field(
        "auto", description="fidelity only: state overlaps (exact simulators) or compute-uncompute circuits (any backend, shots)"
    )
    psd: bool = Field(False, description="project a shot-estimated training Gram matrix onto the nearest positive semidefinite one")


class BornMachineConfig(_Section):
    """The quantum circuit Born machine of ``model.kind: born_machine`` (see docs/generative.md)."""

    bandwidths: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: [0.25, 0.5, 1.0], min_length=1,
        description="σ of the MMD loss's Gaussian kernel mixture on the Hamming distance, exp(-d/(2σ²)) averaged",
    )


class ModelConfig(_Section):
    """Classical front end -> quantum layer -> classical head; or an SVC on a quantum kernel; or a generative circuit."""

    kind: Literal["classifier", "kernel", "born_machine"] = Field(
        "classifier", description="classifier (front end -> quantum layer -> head), kernel (an SVC on model.quantum's encoder as a "
        "feature map; see docs/kernels.md) or born_machine (model.quantum's ansatz learns the data's bit-string distribution; "
        "see docs/generative.md)",
    )
    born_machine: BornMachineConfig = Field(default_factory=BornMachineConfig, description="born_machine only: its loss")
    front_end: FrontEndConfig = Field(default_factory=FrontEndConfig)
    quantum: QuantumConfig
    head: HeadConfig = Field(default_factory=HeadConfig)
    kernel: KernelConfig | None = Field(None, description="kind: kernel only: the kernel and the SVC (defaults when omitted; see docs/kernels.md)")

    @model_validator(mode="after")
    def _check_kind(self) -> ModelConfig:
        if self.kind != "kernel":
            if self.kernel is not None:
                raise ValueError("model.kernel configures kind: kernel; set model.kind: kernel or remove model.kernel")
            return self
        q = self.quantum
        unused = [f"model.{k}" for k, default in (("front_end", FrontEndConfig()), ("head", HeadConfig())) if getattr(self, k) != default]
        unused += [f"model.quantum.{k}" for k in ("ansatz", "layers", "observables", "gradient", "init", "init_std")
                   if getattr(q, k) != QuantumConfig.model_fields[k].get_default(call_default_factory=True)]
        if unused:
            raise ValueError(f"kind: kernel uses only model.quantum.n_qubits and model.quantum.encoder (the feature map) and model.kernel; "
                             f"remove {', '.join(unused)}")
        if self.kernel is None:
            self.kernel = KernelConfig()
        return self


MAX_SHOTS = 10**9  # per circuit; far above any device's limit, far below where shot counts overflow int64 products


def _shots(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"shots must be a positive integer or null (exact simulation), got {value!r} of type {type(value).__name__}; "
            "write e.g. shots: 1000 (not 1e3, 1000.0 or true)"
        )
    if value < 1:
        raise ValueError(f"shots must be at least 1, got {value}; use shots: null for exact simulation")
    if value > MAX_SHOTS:
        raise ValueError(f"shots must be at most {MAX_SHOTS:,} per circuit, got {value:.3g}; lower it (no device takes more)")
    return value


class RetryConfig(_Section):
    """How hard to retry one backend on transient errors (throttling, timeouts, lost responses)."""

    attempts: int = Field(5, ge=1, le=100, description="attempts per call on one backend, the first included")
    deadline_s: float = Field(600.0, gt=0, description="seconds for all attempts of one call; the check includes the coming sleep")
    backoff_s: float = Field(1.0, ge=0, description="first backoff in seconds, doubled on each retry (0: retry at once)")
    max_backoff_s: float = Field(60.0, ge=0, description="longest single backoff")
    jitter_s: float = Field(1.0, ge=0, description="up to this many seconds added to each backoff, from a private seeded RNG")


class BackendConfig(_Section):
    """Where the circuits run; one name swaps the vendor (``--set backend.name=qiskit.aer``)."""

    name: str = Field("torch", description="backend name (see `hqnn backends`), e.g. torch, qiskit.aer, pennylane:default.qubit")
    options: dict[str, Any] = Field(default_factory=dict, description="the backend's own options, validated by it")
    shots: int | None = Field(None, description="samples per circuit, or null for exact expectations")
    fallback: list[ComponentRef] = Field(
        default_factory=list, description="backends to move to, in order, when this one is unavailable or keeps failing (see docs/reliability.md)"
    )
    retry: RetryConfig = Field(default_factory=lambda: RetryConfig(), description="retry policy for transient errors on each backend of the chain")
    call_timeout_s: float | None = Field(None, gt=0, description="abandon one backend call after this many seconds (counts as transient)")
    breaker_reset_s: float = Field(300.0, gt=0, description="seconds a failed backend of the chain is skipped before one call probes it again")
    allow_cost_escalation: bool = Field(False, description="allow backend.fallback to move work from a local backend to a remote (paid) one")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("shots", mode="before")
    @classmethod
    def _check_shots(cls, value: Any) -> Any:
        return _shots(value)


class LimitsConfig(_Section):
    """Spending limits, checked before every submission: a run stops before it would cross one."""

    max_jobs: int | None = Field(None, ge=1, lt=2**63, description="vendor jobs this run may submit (training, evaluation, baseline excluded)")
    max_shots: int | None = Field(None, ge=1, lt=2**63, description="shots this run may use in total")
    max_cost: float | None = Field(None, gt=0, allow_inf_nan=False, description="USD this run may spend at list prices (see `hqnn estimate` and docs/budgets.md)")
    preflight: bool = Field(True, description="refuse to start when the estimated usage of the whole run exceeds a limit")


class LayerwiseConfig(_Section):
    """Layer-wise training: grow the ansatz ``add_layers`` at a time, training only the newest (Skolik et al. 2021)."""

    epochs_per_stage: int = Field(ge=1, description="epochs of each stage; a stage adds add_layers ansatz layers")
    start_layers: int = Field(1, ge=1, description="ansatz layers trained in the first stage")
    add_layers: int = Field(1, ge=1, description="ansatz layers added per stage (2 keeps init: identity_blocks pairs whole)")
    freeze_earlier: bool = Field(True, description="hold the layers of earlier stages; after the last stage every layer trains")


class TrainConfig(_Section):
    """The optimisation loop; every random source is seeded from ``seed``."""

    optimizer: ComponentRef = Field(
        default_factory=lambda: ComponentRef(name="adam"), description="adam, sgd (torch); spsa, cobyla (gradient-free, for shot-based hardware)"
    )
    lr: float = Field(0.01, gt=0, allow_inf_nan=False, description="learning rate (adam, sgd; spsa's step size a)")
    epochs: int = Field(10, ge=1, le=100000, description="passes over the training set")
    batch_size: int = Field(32, ge=1, description="samples per optimiser step (cobyla uses the whole training set)")
    eval_batch_size: int = Field(256, ge=1, description="samples per forward pass when evaluating")
    seed: int = Field(0, ge=0, lt=2**63, description="seeds weights, shuffling, dropout, shot sampling and gradient-free perturbations")
    baseline: bool = Field(False, description="also train the classical baseline (the quantum layer replaced by Linear + tanh)")
    checkpoint_every: int = Field(1, ge=1, description="write a checkpoint every this many epochs (and after the last)")
    keep_checkpoints: int = Field(3, ge=2, le=100, description="checkpoints kept per model; older ones are deleted")
    layerwise: LayerwiseConfig | None = Field(None, description="grow and freeze ansatz layers stage by stage (see docs/trainability.md)")
    shots_per_step: int | None = Field(
        None, ge=1, lt=2**63, description="most shots one optimiser step may use: shots per circuit become min(backend.shots, this // circuits per step)"
    )


class OutputConfig(_Section):
    """Where the run directory goes."""

    runs_dir: str = Field("runs", description="parent folder of run directories (relative to the working directory)")
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]+$", description="run directory name; default: <profile name>-<UTC time>")
    plots: bool = Field(True, description="write PNG plots (loss, accuracy, confusion matrix)")
    keep_raw_profile: bool = Field(False, description="also keep the profile file's own text (comments included), redacted, as profile.raw.<ext>")
    log_to: list[Literal["tensorboard", "mlflow"]] = Field(
        default_factory=list, description="also log metrics, parameters, circuit specs and artifacts to these trackers (see docs/tracking.md)"
    )
    mlflow_tracking_uri: str | None = Field(None, description="MLflow tracking URI (default: MLflow's own, MLFLOW_TRACKING_URI or ./mlruns)")
    mlflow_experiment: str = Field("hqnn", min_length=1, description="MLflow experiment the run is logged under")


class ServingConfig(_Section):
    """How ``hqnn predict`` serves a trained run, and when it serves a classical model instead (see docs/serving.md)."""

    fallback: str = Field(
        "baseline", min_length=1,
        description="classical model served when the quantum path is unavailable, over budget or degraded: baseline (this run's), "
        "none (raise instead), or another run directory (its baseline)",
    )
    degradation_margin: float | None = Field(
        0.05, ge=0, le=1, description="switch to the classical model when windowed quantum accuracy on labelled rows falls this far below it (null: never)"
    )
    window: int = Field(50, ge=1, description="labelled rows in the rolling accuracy window of each model")
    probe_every: int = Field(1, ge=1, description="while serving the classical model, try the quantum path again every this many batches")
    batch_size: int | None = Field(None, ge=1, description="rows per quantum call (default: train.eval_batch_size)")
    max_jobs: int | None = Field(None, ge=1, description="vendor jobs serving may submit; past it rows are served classically")
    max_shots: int | None = Field(None, ge=1, description="shots serving may use; past it rows are served classically")
    max_cost: float | None = Field(None, gt=0, description="USD serving may spend at list prices; past it rows are served classically")


class Profile(_Section):
    """A training run: data, model, backend, mitigation, limits, training and output."""

    description: str = Field("", description="free text, copied to the run record")
    data: DataConfig
    model: ModelConfig
    backend: BackendConfig = Field(default_factory=BackendConfig)
    mitigation: list[ComponentRef] = Field(default_factory=list, description="error mitigators applied in order around every backend call")
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)

    @model_validator(mode="after")
    def _shot_budget_needs_shots(self) -> Profile:
        if self.train.shots_per_step is not None and self.backend.shots is None:
            raise ValueError(
                f"train.shots_per_step ({self.train.shots_per_step}) budgets sampled runs, but backend.shots is null (exact); "
                "set backend.shots to the most shots per circuit (e.g. 1000), or remove train.shots_per_step"
            )
        return self

    @model_validator(mode="after")
    def _data_fits_the_kind(self) -> Profile:
        if self.data.source == "bars_and_stripes" and self.model.kind != "born_machine":
            raise ValueError("data.source bars_and_stripes generates unlabelled bit-strings; use it with model.kind: born_machine")
        return self

    @model_validator(mode="after")
    def _layerwise_fits_the_ansatz(self) -> Profile:
        lw, layers = self.train.layerwise, self.model.quantum.layers
        if lw is not None and lw.start_layers > layers:
            raise ValueError(
                f"train.layerwise.start_layers ({lw.start_layers}) exceeds model.quantum.layers ({layers}); lower start_layers or add layers"
            )
        return self


#: Sections that do not change what is computed: a checkpoint stays valid when only these change.
NON_RESULT_SECTIONS = ("description", "limits", "output", "serving")


# -- loaded profiles ---------------------------------------------------------------------------
@dataclass
class LoadedProfile:
    """A validated profile with where it came from (for relative paths, hashes and error messages)."""

    profile: Profile
    raw: dict[str, Any]
    source: str
    base_dir: Path
    file_sha256: str | None = None
    overrides: list[str] = field(default_factory=list)

    @property
    def config_hash(self) -> str:
        """sha256 of everything that changes results (limits, output and description excluded)."""
        data = self.profile.model_dump(mode="json", exclude=set(NON_RESULT_SECTIONS))
        data["data"] = self.resolved_data_paths(data["data"])
        if data["model"]["kind"] == "classifier":  # hashes (and checkpoints) from before model.kind stay valid
            del data["model"]["kind"], data["model"]["kernel"], data["model"]["born_machine"]
        if data["data"].get("pattern_shape") is None:
            data["data"].pop("pattern_shape", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def resolved_data_paths(self, data: dict[str, Any] | None = None) -> dict[str, Any]:
        data = dict(data if data is not None else self.profile.data.model_dump(mode="json"))
        for key in ("path", "test_path", "labels_path"):
            if data.get(key):
                data[key] = str(resolve_path(data[key], self.base_dir, f"data.{key}", self.source))
        return data

    def resolved(self) -> dict[str, Any]:
        """The validated profile as plain data with absolute data paths (what a run record stores)."""
        out = self.profile.model_dump(mode="json")
        out["data"] = self.resolved_data_paths(out["data"])
        return out


def _default_datasets_dir() -> Path | None:
    env = os.environ.get(DATASETS_VAR)
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[1]
    for candidate in (repo.parent / "shared" / "datasets", repo / "shared" / "datasets", Path.cwd().parent / "shared" / "datasets"):
        if candidate.is_dir():
            return candidate
    return None


def resolve_path(value: str, base_dir: Path, key: str = "path", source: str = "profile") -> Path:
    """Expand ``${HQNN_DATASETS}`` and make relative paths relative to the profile's directory."""
    for var in re.findall(r"\$\{([^}]*)\}", value):
        if var != DATASETS_VAR:
            raise ConfigError(f"{source}: {key}: only ${{{DATASETS_VAR}}} is expanded in paths, found ${{{var}}}; write the path out.")
        root = _default_datasets_dir()
        if root is None:
            raise ConfigError(
                f"{source}: {key}: {value!r} uses ${{{DATASETS_VAR}}}, which is not set and no shared/datasets folder was found "
                f"beside the repository; set {DATASETS_VAR}=/path/to/datasets."
            )
        value = value.replace(f"${{{DATASETS_VAR}}}", str(root))
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()


# -- parsing -----------------------------------------------------------------------------------
class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and aliases (PyYAML silently keeps the last duplicate)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not supported in profiles; write the value out", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                first = None
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first defined on line {first}); keep only one", key_node.start_mark
                )
            try:
                seen[key] = key_node.start_mark.line + 1
            except TypeError:
                pass
        return super().construct_mapping(node, deep)


def _yaml_error(source: str, error: yaml.YAMLError) -> ConfigError:
    mark = getattr(error, "problem_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = getattr(error, "problem", None) or str(error)
    if "could not determine a constructor for the tag" in problem or "unhashable" in problem:
        tag = re.search(r"tag '([^']*)'", problem)
        return ConfigError(
            f"{where}: unsupported YAML tag {tag.group(1) if tag else ''!r}; profiles hold plain data only "
            "(mappings, lists, strings, numbers, booleans, null). Remove the tag."
        )
    if "duplicate key" in problem or "aliases" in problem:
        return ConfigError(f"{where}: {problem}.")
    return ConfigError(f"{where}: YAML syntax error: {problem}. Fix the syntax there (check indentation, colons and quoting).")


def parse_text(text: str, source: str, fmt: str) -> dict[str, Any]:
    """Parse profile text (``yaml`` or ``toml``) into plain data, rejecting duplicate keys and tags."""
    if fmt == "toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            pos = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
            where = f"{source}:{pos.group(1)}:{pos.group(2)}" if pos else source
            raise ConfigError(f"{where}: TOML syntax error: {str(e).split(' (at line')[0]}. Fix the syntax there.") from None
    else:
        try:
            docs = list(yaml.load_all(text, Loader=_StrictYamlLoader))  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as e:
            raise _yaml_error(source, e) from None
        except RecursionError:
            raise ConfigError(f"{source}: the YAML is nested too deeply to read; a profile is a few levels deep, fix the nesting.") from None
        if len(docs) > 1:
            raise ConfigError(f"{source}: holds {len(docs)} YAML documents (separated by ---); a profile is one document.")
        data = docs[0] if docs else None
    if data is None:
        raise ConfigError(f"{source}: the profile is empty; it needs at least the data and model sections (see examples/digits.yaml).")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a profile is a mapping of sections (data, model, train, ...), got a {type(data).__name__}.")
    _check_plain(data, source)
    return data


def _check_plain(data: Any, source: str, path: str = "", depth: int = 0) -> None:
    """Reject credentials, non-string keys, too deep nesting and non-plain values (TOML dates)."""
    if depth > MAX_DEPTH:
        raise ConfigError(f"{source}: {path}: nested more than {MAX_DEPTH} levels deep; profiles are flat sections.")
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                hint = " YAML reads unquoted yes/no/on/off/true/false as booleans; quote the key." if isinstance(key, bool) else " Quote it."
                raise ConfigError(f"{source}: {path or '<top>'}: key {key!r} is a {type(key).__name__}, not a string.{hint}")
            sub = f"{path}.{key}" if path else key
            if SECRET_KEY.search(key):
                raise ConfigError(f"{source}: {sub}: looks like a credential; {CREDENTIALS_HINT}. Remove the key.")
            _check_plain(value, source, sub, depth + 1)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_plain(value, source, f"{path}[{i}]", depth + 1)
    elif data is not None and not isinstance(data, (str, int, float, bool)):
        raise ConfigError(f"{source}: {path}: {type(data).__name__} values are not supported; write a string or a number.")


# -- overrides ---------------------------------------------------------------------------------
def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.epochs=3"`` -> (["train", "epochs"], 3): the value is read as a YAML scalar or flow list."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", key):
        raise ConfigError(f"--set {text!r}: write KEY.PATH=VALUE, e.g. --set train.epochs=3 or --set backend.name=qiskit.aer.")
    try:
        parsed = yaml.load(value, Loader=_StrictYamlLoader) if value.strip() else None  # noqa: S506
    except RecursionError:
        raise ConfigError(f"--set {key}: the value is nested too deeply to read; give a plain value or a short list.") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {text!r}: cannot read the value: {getattr(e, 'problem', e)}; quote strings, e.g. --set 'backend.name=\"no\"'.") from None
    _check_plain({key.split(".")[-1]: parsed}, f"--set {text}")
    return key.split("."), parsed


def _component_default(keys: Sequence[str]) -> dict[str, Any]:
    """An empty section for ``keys``, or ``{"name": <default>}`` when it is a component left at its default."""
    owner = _model_at(keys[:-1])
    info = owner.model_fields.get(keys[-1]) if owner else None
    if info is not None and _unwrap(info.annotation) == [ComponentRef] and not info.is_required():
        default = info.get_default(call_default_factory=True)
        if isinstance(default, ComponentRef):
            return {"name": default.name}
    return {}


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of ``raw`` with each ``KEY.PATH=VALUE`` applied in order."""
    out = json.loads(json.dumps(raw))
    for text in overrides:
        keys, value = parse_override(text)
        node: Any = out
        for i, key in enumerate(keys[:-1]):
            child = node.get(key) if isinstance(node, dict) else None
            if isinstance(child, str):  # shorthand `backend: torch` / `encoder: angle` gains a sub-key
                child = {"name": child}
            elif child is None:
                child = _component_default(keys[: i + 1])
            elif not isinstance(child, dict):
                raise ConfigError(f"--set {text!r}: {'.'.join(keys[: i + 1])} is a {type(child).__name__}, not a section; set it whole.")
            node[key] = child
            node = child
        node[keys[-1]] = value
    return out


# -- validation errors -------------------------------------------------------------------------
def _unwrap(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (through Optional, list, dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(_unwrap(arg))
    return out


def _model_at(path: Sequence[Any], root: type[BaseModel] = Profile) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        models = _unwrap(info.annotation)
        model = models[0] if models else None
    return model


def iter_fields(model: type[BaseModel] = Profile, prefix: str = "") -> Iterator[tuple[str, Any, type[BaseModel]]]:
    """Every (key path, field info, owner model) of the schema, depth first."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{info.alias or name}"
        yield path, info, model
        for sub in _unwrap(info.annotation):
            if sub is not ComponentRef:
                yield from iter_fields(sub, f"{path}.")


def _unknown_key_hint(loc: Sequence[Any]) -> str:
    key = str(loc[-1])
    parent = _model_at(loc[:-1])
    allowed = list(parent.model_fields) if parent else []
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}? Allowed here: {', '.join(allowed)}"
    elsewhere = [p for p, _, _ in iter_fields() if p.split(".")[-1] == key]
    if elsewhere:
        return f"unknown key {key!r} here; it belongs at {' or '.join(elsewhere)}. Allowed here: {', '.join(allowed)}"
    return f"unknown key {key!r}; remove it. Allowed here: {', '.join(allowed) or 'none'}"


def _describe_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = json.dumps(value)[:80]
        return f"{text} ({type(value).__name__})"
    return f"{value!r} ({type(value).__name__})"


def _problem(error: Mapping[str, Any]) -> str:
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return _unknown_key_hint(loc)
    if kind == "missing":
        return "required key is missing; add it (see examples/digits.yaml)"
    if isinstance(value, bool) and kind in {"string_type", "model_type", "dict_type", "literal_error", "model_attributes_type"}:
        return (
            f"got the boolean {value}; YAML reads unquoted yes/no/on/off/true/false as booleans. "
            f"Quote it, e.g. {loc[-1] if loc else 'key'}: 'no'"
        )
    if kind in {"value_error", "assertion_error"}:
        return msg if "got" in msg or isinstance(value, dict) else f"{msg} (got {_describe_value(value)})"
    if kind == "int_type":
        return f"expected an integer, got {_describe_value(value)}; write digits only, e.g. 1000 (not 1e3, 1000.0 or '1000')"
    if kind in {"float_type", "float_parsing"}:
        return f"expected a number, got {_describe_value(value)}; write e.g. 0.01 without quotes"
    if kind == "bool_type":
        return f"expected true or false, got {_describe_value(value)}"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"expected a mapping of keys, got {_describe_value(value)}; indent the keys under it"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        extra = " (PCA is data.pca)" if value == "pca" else ""
        return f"{_describe_value(value)} is not allowed; choose one of {expected}{extra}"
    if kind in {"list_type", "tuple_type"}:
        return f"expected a list, got {_describe_value(value)}; write e.g. [0, 1]"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long", "string_pattern_mismatch"}:
        return f"{msg[0].lower()}{msg[1:]}, got {_describe_value(value)}; change the value"
    return f"{msg}, got {_describe_value(value)}"


def _loc_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top>"


def _origin(path: str, overrides: Sequence[str]) -> str:
    for text in reversed(overrides):
        key = text.partition("=")[0].strip()
        if path == key or path.startswith(key + ".") or key.startswith(path + "."):
            return f" (from --set {text})"
    return ""


def format_validation_error(error: ValidationError, source: str, overrides: Sequence[str] = ()) -> ConfigError:
    """One ConfigError naming the file, each bad key path, the value and the fix."""
    seen, lines = set(), []
    for e in error.errors():
        path = _loc_text(e["loc"])
        problem = _problem(e)
        # section-level checks already name their key (``data.path``): do not prefix the section again
        line = problem if path == "<top>" or problem.startswith(f"{path}.") else f"{path}: {problem}"
        line += _origin(path, overrides)
        if line not in seen:
            seen.add(line)
            lines.append(line)
    if len(lines) == 1:
        return ConfigError(f"{source}: {lines[0]}.")
    return ConfigError(f"{source}: {len(lines)} problems:\n" + "\n".join(f"  {line}." for line in lines))


# -- loading -----------------------------------------------------------------------------------
def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return "yaml"
    if suffix == ".toml":
        return "toml"
    raise ConfigError(f"{path}: unknown profile format {suffix or '(no suffix)'!r}; use a .yaml, .yml or .toml file.")


def read_profile_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], bytes]:
    """Parse a profile file to plain data (no schema yet); returns the data and the raw bytes."""
    p = Path(path)
    fmt = _format_of(p)
    try:
        size = p.stat().st_size
        if size > MAX_PROFILE_BYTES:
            raise ConfigError(f"{p}: {size} bytes is too large for a profile (limit {MAX_PROFILE_BYTES}); profiles hold settings, not data.")
        blob = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such profile file; check the path (try examples/digits.yaml).") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory; give a .yaml or .toml profile (to resume a run use --resume {p}).") from None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text (byte {e.start}); save the profile as UTF-8.") from None
    return parse_text(text, str(p), fmt), blob


def validate_profile(
    raw: Mapping[str, Any], source: str = "<profile>", base_dir: str | os.PathLike[str] = ".", overrides: Sequence[str] = (),
    file_sha256: str | None = None,
) -> LoadedProfile:
    """Apply ``--set`` overrides, validate against the schema, and return a :class:`LoadedProfile`."""
    _check_plain(dict(raw), source)
    data = apply_overrides(dict(raw), overrides)
    try:
        profile = Profile.model_validate(data)
    except ValidationError as e:
        raise format_validation_error(e, source, overrides) from None
    return LoadedProfile(profile, data, source, Path(base_dir).resolve(), file_sha256, list(overrides))


def load_profile(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> LoadedProfile:
    """Read, parse and validate a YAML or TOML profile (schema only; see :func:`check_components`)."""
    raw, blob = read_profile_file(path)
    return validate_profile(raw, str(path), Path(path).resolve().parent, overrides, hashlib.sha256(blob).hexdigest())


# -- registry checks ---------------------------------------------------------------------------
def options_error(owner: str, key: str, options: type[BaseModel], error: ValidationError, loaded: LoadedProfile) -> ConfigError:
    allowed = list(options.model_fields)
    lines = []
    for e in error.errors():
        path = f"{key}.options." + _loc_text(e["loc"])
        if e["type"] == "extra_forbidden":
            bad = str(e["loc"][-1])
            close = difflib.get_close_matches(bad, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else "; remove it."
            lines.append(f"{path}: {owner} has no option {bad!r}{hint} Its options: {', '.join(allowed) or 'none'}")
        else:
            lines.append(f"{path}: {_problem(e)}")
    return ConfigError(f"{loaded.source}: " + "; ".join(lines) + _origin(key, loaded.overrides) + ".")


def _check_ref(kind: str, ref: ComponentRef, key: str, loaded: LoadedProfile, origin_key: str | None = None) -> Any:
    """The registered layout for ``ref`` (its torch-free options and shape), with its options validated; ``origin_key`` names the --set that may have set it."""
    from hqnn_core.plugin_manager import get_plugins

    try:
        cls = get_plugins().registry(kind).layout(ref.name)
    except UnknownComponentError as e:
        raise ConfigError(f"{loaded.source}: {key}.name: {e}{_origin(origin_key or key, loaded.overrides)}") from None
    except MissingExtraError as e:
        raise MissingExtraError(f"{loaded.source}: {key}.name: {e}") from None
    try:
        cls.Options(**ref.options)
    except ValidationError as e:
        raise options_error(f"{kind} {ref.name!r}", key, cls.Options, e, loaded) from None
    return cls


def check_components(loaded: LoadedProfile) -> dict[str, Any]:
    """Check every component and backend name and option against the registries (nothing is built).

    Returns the backend class. Raises ConfigError (or MissingExtraError naming the pip extra).
    """
    from hqnn_core.plugin_manager import get_plugins
    from hqnn_core.training.optimizers import check_optimizer

    p, src = loaded.profile, loaded.source
    q = p.model.quantum
    _check_ref("encoder", q.encoder, "model.quantum.encoder", loaded)
    _check_ref("ansatz", q.ansatz, "model.quantum.ansatz", loaded)
    if q.gradient.name != "best":
        _check_ref("gradient", q.gradient, "model.quantum.gradient", loaded)
    elif q.gradient.options:
        raise ConfigError(f"{src}: model.quantum.gradient.options: gradient 'best' takes no options; name an estimator to pass options.")
    for i, ref in enumerate(p.mitigation):
        _check_ref("mitigator", ref, f"mitigation[{i}]", loaded)
    registry = get_plugins().backends
    origin = _origin("backend.name", loaded.overrides)
    try:
        registry.resolve(p.backend.name)
        backend_cls = registry.layout(p.backend.name)
    except UnknownComponentError as e:
        raise ConfigError(f"{src}: backend.name: {e}{origin}") from None
    except MissingExtraError as e:
        raise MissingExtraError(f"{src}: backend.name: {e}") from None
    try:
        backend_cls.Options(**p.backend.options)
    except ValidationError as e:
        raise options_error(f"backend {p.backend.name!r}", "backend", backend_cls.Options, e, loaded) from None
    caps = backend_cls.capabilities
    shots = p.backend.shots
    if shots is None and not caps.analytic:
        raise ConfigError(f"{src}: backend.shots: backend {p.backend.name!r} only samples; set backend.shots to a positive integer, e.g. 1000.")
    if shots is not None and not caps.shots:
        raise ConfigError(f"{src}: backend.shots: backend {p.backend.name!r} is exact only; set backend.shots: null.")
    if shots is not None and caps.max_shots is not None and shots > caps.max_shots:
        raise ConfigError(f"{src}: backend.shots: {shots} exceeds backend {p.backend.name!r}'s maximum of {caps.max_shots}; lower it.")
    from hqnn_core.training.resilience import check_fallback

    check_fallback(loaded, backend_cls)
    check_optimizer(p.train.optimizer, loaded)
    if p.train.optimizer.name in {"adam", "sgd"} and q.gradient.name == "backprop" and shots is not None:
        raise ConfigError(f"{src}: model.quantum.gradient: backprop cannot differentiate sampled results (backend.shots={shots}); use 'best'.")
    return {"backend_class": backend_cls}


# -- schema reference --------------------------------------------------------------------------
def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(repr(a).replace("'", "") for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_text(a) for a in typing.get_args(annotation))
    if origin is list:
        return f"list[{_type_text(typing.get_args(annotation)[0])}]"
    if origin is dict:
        return "mapping"
    if annotation is type(None):
        return "null"
    if annotation is ComponentRef:
        return "name \\| {name, options}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(annotation.__name__, annotation.__name__)
    return str(annotation)


def _default_text(info: Any) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        if isinstance(value, ComponentRef):
            return f"`{value.name}`"
        return "(section)"
    return f"`{json.dumps(value)}`"


def _constraints(info: Any) -> str:
    parts = []
    for meta in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "min length"), ("max_length", "max length")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value}")
    return ", ".join(parts)


def schema_markdown() -> str:
    """The profile reference as Markdown, rendered from the pydantic models themselves."""
    lines = ["# Run profile reference", "", "Generated from `hqnn_core.config` by `schema_markdown()`; do not edit by hand.", ""]
    sections: dict[str, list[str]] = {}
    for path, info, _owner in iter_fields():
        head = path.split(".")[0]
        if path == head and _unwrap(info.annotation) and _unwrap(info.annotation)[0] is not ComponentRef:
            continue
        models = _unwrap(info.annotation)
        desc = info.description or ""
        if not desc and models == [ComponentRef]:
            desc = f"component by name or {{name, options}}; {ComponentRef.model_fields['name'].description}"
        elif not desc and models:
            desc = (models[0].__doc__ or "").strip().splitlines()[0]
        limits = _constraints(info)
        row = f"| `{path}` | {_type_text(info.annotation)} | {_default_text(info)} | {desc}{f' ({limits})' if limits else ''} |"
        sections.setdefault(head, []).append(row)
    for name, info in Profile.model_fields.items():
        models = _unwrap(info.annotation)
        doc = (models[0].__doc__ if models and models[0] is not ComponentRef else info.description) or ""
        lines += [f"## `{name}`", "", doc.strip().splitlines()[0] if doc.strip() else "", ""]
        lines += ["| key | type | default | meaning |", "|---|---|---|---|", *sections.get(name, []), ""]
    return "\n".join(lines)
