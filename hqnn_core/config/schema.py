"""The profile schema: pydantic models with strict types and ``extra="forbid"``, and the walk over their fields.

Nothing here reads files or the plugin registries; loading (``loading``), error messages (``messages``),
registry checks (``registry_checks``) and the Markdown reference (``markdown``) build on these models.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DATASETS_VAR = "HQNN_DATASETS"


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


# -- walking the schema ------------------------------------------------------------------------
def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (through Optional, list, dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(models_in(arg))
    return out


def model_at(path: Sequence[Any], root: type[BaseModel] = Profile) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        models = models_in(info.annotation)
        model = models[0] if models else None
    return model


def iter_fields(model: type[BaseModel] = Profile, prefix: str = "") -> Iterator[tuple[str, Any, type[BaseModel]]]:
    """Every (key path, field info, owner model) of the schema, depth first."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{info.alias or name}"
        yield path, info, model
        for sub in models_in(info.annotation):
            if sub is not ComponentRef:
                yield from iter_fields(sub, f"{path}.")
