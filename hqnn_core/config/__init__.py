"""Run profiles: the YAML or TOML file that ``hqnn train`` runs, validated strictly before anything runs.

A profile is loaded with a duplicate-key-rejecting ``yaml.SafeLoader`` (or ``tomllib``), checked
for credentials, validated by the pydantic models (``extra="forbid"``, strict types: no
``"1e3"``, ``1000.0`` or ``true`` for an integer), then checked against the plugin registries so
that a misspelt backend or encoder fails here, not after jobs were paid for. Every problem is one
:class:`~hqnn_core.errors.ConfigError` naming the file, the key path, the bad value and the fix.

The package has one module per job, each importing only those listed before it:

- ``schema``: the pydantic models and the walk over their fields;
- ``messages``: pydantic validation errors rewritten as key path, value and fix;
- ``loading``: YAML/TOML parsing, ``--set`` overrides, ``${HQNN_DATASETS}`` paths, :class:`LoadedProfile`;
- ``registry_checks``: names and options checked against the plugin registries;
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
from hqnn_core.config.messages import format_validation_error
from hqnn_core.config.registry_checks import check_components, check_ref, options_error
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

#: The old private name, kept until training/resilience.py reads registry checks from the run spec.
_check_ref = check_ref

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
    "check_components",
    "check_ref",
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
