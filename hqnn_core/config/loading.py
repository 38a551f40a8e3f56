"""Reading a profile: a duplicate-key-rejecting YAML ``SafeLoader`` (or ``tomllib``), the credential and
plain-data checks, ``--set`` overrides, ``${HQNN_DATASETS}`` paths, and validation into a :class:`LoadedProfile`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hqnn_core.config.messages import format_validation_error
from hqnn_core.config.schema import DATASETS_VAR, NON_RESULT_SECTIONS, ComponentRef, Profile, model_at, models_in
from hqnn_core.errors import ConfigError

#: Largest profile file accepted, and deepest nesting: profiles are small, hand-written files.
MAX_PROFILE_BYTES = 1 << 20
MAX_DEPTH = 16
#: Keys that look like credentials; profiles are shared and recorded, so they must never hold secrets.
SECRET_KEY = re.compile(r"(token|secret|passw(or)?d|api[_-]?key|access[_-]?key|credential|private[_-]?key)", re.IGNORECASE)
CREDENTIALS_HINT = (
    "do not put credentials in a profile; use the vendor's credential mechanism: an AWS profile "
    "(AWS_PROFILE or ~/.aws/credentials) for Braket, QISKIT_IBM_TOKEN or a saved account for IBM"
)


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
    repo = Path(__file__).resolve().parents[2]
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
    owner = model_at(keys[:-1])
    info = owner.model_fields.get(keys[-1]) if owner else None
    if info is not None and models_in(info.annotation) == [ComponentRef] and not info.is_required():
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
