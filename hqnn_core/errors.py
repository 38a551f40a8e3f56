"""One error hierarchy for hqnn: every message says what was wrong, what was expected, and the fix.

Each error also subclasses the matching builtin (``ValueError``, ``KeyError``, ``ImportError``)
so that code written against plain Python exceptions keeps working.
"""

from __future__ import annotations


class HQNNError(Exception):
    """Base class of every error hqnn raises on purpose."""


class ConfigError(HQNNError, ValueError):
    """A configuration value or option is invalid; the message names the key path and the fix."""


class InputError(HQNNError, ValueError):
    """Data handed to a layer is malformed (shape, dtype, non-finite values)."""


class UnknownComponentError(HQNNError, KeyError):
    """A component or backend name is not registered."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class DuplicateComponentError(HQNNError, ValueError):
    """Two plugins registered the same component name."""


class MissingExtraError(HQNNError, ImportError):
    """A backend needs a vendor SDK that is not installed; the message names the pip extra."""


class PluginError(HQNNError):
    """A plugin is malformed (bad hook implementation, bad registration)."""


class PluginLoadError(PluginError):
    """A plugin failed to import (raised only in strict mode; otherwise a warning)."""


class IncompatiblePluginError(PluginError):
    """A plugin declares a version range of hqnn that the installed version does not satisfy."""


class CapabilityError(HQNNError, ValueError):
    """A circuit or request exceeds what a backend declares it can do (raised before submission)."""


class UnsupportedError(HQNNError, ValueError):
    """A gradient estimator or mitigator cannot be used with this backend or circuit."""


class BackendError(HQNNError, RuntimeError):
    """A backend failed while executing circuits.

    The class says what the retry policy and the fallback chain do; the typed fields say more for
    logs, run records and an adapter's own recovery, and are set by keyword by the adapter that
    maps the vendor failure:

    Attributes:
        kind: the finer category: ``transient``, ``unavailable``, ``permanent`` (the class's own,
            the default), ``still_running`` (a wait timed out; the job runs on and may bill: never
            resubmit it blindly) or ``ambiguous_submit`` (a submission failed after it was sent, so
            the job may exist: look it up before resubmitting).
        vendor_error: the class name of the vendor exception it maps (``ClientError``, ``RuntimeJobFailureError``...).
        code: the vendor's error code (``ThrottlingException``, IBM ``1012``), if it gave one.
        task_id: the vendor's id of the task or job that failed (a Braket task ARN, an IBM job id).
    """

    default_kind = "permanent"

    def __init__(self, *args: object, kind: str | None = None, vendor_error: str | None = None, code: str | None = None,
                 task_id: str | None = None) -> None:
        super().__init__(*args)
        self.kind = kind or self.default_kind
        self.vendor_error = vendor_error
        self.code = code
        self.task_id = task_id


class TransientBackendError(BackendError):
    """A failure worth retrying on the same backend (throttling, network, 5xx)."""

    default_kind = "transient"


class PermanentBackendError(BackendError):
    """A failure that retrying cannot fix (invalid circuit, authentication, bad input)."""


class UnavailableBackendError(BackendError):
    """The backend cannot serve now (device offline or retired, quota, open circuit breaker): fall back."""

    default_kind = "unavailable"


class BudgetExceededError(HQNNError, RuntimeError):
    """A configured limit on shots, jobs or cost would be crossed by the next submission."""


class CheckpointError(HQNNError, ValueError):
    """A checkpoint is missing, corrupt, unsafe, or from a different configuration."""


class RunInUseError(HQNNError, RuntimeError):
    """Another live process holds the run directory's lock (one writer per run directory)."""


class HQNNWarning(UserWarning):
    """Base class of hqnn's warnings."""


class PluginLoadWarning(HQNNWarning):
    """A plugin failed to load and was skipped (strict mode turns this into PluginLoadError)."""


class FallbackWarning(HQNNWarning):
    """Execution switched to the next backend of the fallback chain."""
