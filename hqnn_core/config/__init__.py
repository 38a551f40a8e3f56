"""Run profiles: the YAML or TOML file that ``hqnn train`` runs, validated strictly before anything runs.

A profile is loaded with a duplicate-key-rejecting ``yaml.SafeLoader`` (or ``tomllib``), checked
for credentials, validated by the pydantic models (``extra="forbid"``, strict types: no
``"1e3"``, ``1000.0`` or ``true`` for an integer). The training layer then checks it against the
plugin registries (:func:`hqnn_core.training.validate.check_components`), so that a misspelt backend
or encoder fails before anything is built, not after jobs were paid for. Every problem is one
:class:`~hqnn_core.errors.ConfigError` naming the file, the key path, the bad value and the fix.

The package has one module per job, each importing only those listed before it (and ``hqnn_core.errors``):

- ``schema``: the pydantic models and the walk over their fields;
- ``messages``: pydantic validation errors (the profile's and a component's options) rewritten as key path, value and fix;
- ``loading``: YAML/TOML parsing, ``--set`` overrides, ``${HQNN_DATASETS}`` paths, :class:`LoadedProfile`;
- ``markdown``: the schema reference (``schema_markdown()``), rendered from the models so docs cannot drift.

Every public name is re-exported here: ``from hqnn_core.config import load_profile`` is the way in.
"""

from hqnn_core.config.loading import (
    CREDENTIALS_HINT,
    MAX_DEPTH,
    MAX_PROFILE_BYTES,
    SECRET_KEY,
    LoadedProfile,
    apply_overrides,
    load_profile,
    parse_override,
    parse_text,
    read_profile_file,
    resolve_path,
    validate_profile,
)
from hqnn_core.config.markdown import schema_markdown
from hqnn_core.config.messages import format_validation_error, options_error
from hqnn_core.config.schema import (
    DATASETS_VAR,
    MAX_SHOTS,
    NON_RESULT_SECTIONS,
    BackendConfig,
    BornMachineConfig,
    ComponentRef,
    DataConfig,
    FrontEndConfig,
    HeadConfig,
    KernelConfig,
    LayerwiseConfig,
    LimitsConfig,
    ModelConfig,
    OutputConfig,
    Profile,
    QuantumConfig,
    RetryConfig,
    ServingConfig,
    TrainConfig,
    iter_fields,
)
from hqnn_core.errors import ConfigError

__all__ = [
    "CREDENTIALS_HINT",
    "DATASETS_VAR",
    "MAX_DEPTH",
    "MAX_PROFILE_BYTES",
    "MAX_SHOTS",
    "NON_RESULT_SECTIONS",
    "SECRET_KEY",
    "BackendConfig",
    "BornMachineConfig",
    "ComponentRef",
    "ConfigError",
    "DataConfig",
    "FrontEndConfig",
    "HeadConfig",
    "KernelConfig",
    "LayerwiseConfig",
    "LimitsConfig",
    "LoadedProfile",
    "ModelConfig",
    "OutputConfig",
    "Profile",
    "QuantumConfig",
    "RetryConfig",
    "ServingConfig",
    "TrainConfig",
    "apply_overrides",
    "format_validation_error",
    "iter_fields",
    "load_profile",
    "options_error",
    "parse_override",
    "parse_text",
    "read_profile_file",
    "resolve_path",
    "schema_markdown",
    "validate_profile",
]
