"""YAML configs with `extends:`, `--set` overrides and typed validation.

A config file is a mapping of sections (``synth:``, ``data:``, ``train:`` ...). Each section is a
pydantic model that forbids unknown keys, so a misspelt key fails at load time with the file, the
key path and what was expected, instead of being silently ignored deep inside a run.

Each section's model lives with the stage that owns it and is listed in ``SECTIONS``.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

EXTENDS_KEY = "extends"


class ConfigError(ValueError):
    """A config that cannot be used; the message is one line naming file, key and expectation."""

    def __init__(self, file: str | Path | None, key: str, message: str) -> None:
        self.file = str(file) if file is not None else "<config>"
        self.key = key
        self.message = message
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {message}")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


# Top-level sections and the model class that validates each, as "module:Class". Config modules
# hold pydantic models only (no torch, no GStreamer), so validating any config stays cheap and a
# pipeline-only install can still read its configs. Add a line here when a stage gains a section.
SECTIONS: dict[str, str] = {
    "run": "streid.sections:RunSection",
    "model": "streid.train.models.config:ModelConfig",
    "train": "streid.train.config:TrainConfig",
    "synth": "streid.train.synth.config:SynthConfig",
    "data": "streid.train.data.config:DataConfig",
    "pipeline": "streid.pipeline.config:PipelineSection",
    "identity": "streid.pipeline.identity.config:IdentityConfig",
    "detector_train": "streid.train.detector_config:DetectorTrainConfig",
}


def known_sections() -> dict[str, Any]:
    """Every registered section's model class (or tagged union of classes), imported on first use."""
    out: dict[str, Any] = {}
    for name, target in SECTIONS.items():
        module_name, _, attr = target.partition(":")
        out[name] = getattr(importlib.import_module(module_name), attr)
    return out


# ---------------------------------------------------------------- raw YAML handling


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(path, "", "file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise ConfigError(path, "", f"not valid YAML ({where}): {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, "", f"expected a mapping at the top level, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _origins(data: dict[str, Any], origin: Path, prefix: str = "") -> dict[str, Path]:
    """Map every key path in ``data`` to the file that set it (for error messages)."""
    table: dict[str, Path] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        table[path] = origin
        if isinstance(value, dict):
            table.update(_origins(value, origin, path + "."))
    return table


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict[str, Path]]:
    """Read a YAML file, resolving ``extends:`` (a path or list of paths relative to the file)."""
    path = Path(path).resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ConfigError(path, EXTENDS_KEY, f"circular extends: {chain}")
    data = _read_yaml(path)
    parents = data.pop(EXTENDS_KEY, None)
    merged: dict[str, Any] = {}
    origins: dict[str, Path] = {}
    if parents is not None:
        if isinstance(parents, str):
            parents = [parents]
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise ConfigError(path, EXTENDS_KEY, "expected a file path or a list of file paths")
        for parent in parents:
            parent_path = (path.parent / parent).resolve()
            if not parent_path.is_file():
                raise ConfigError(path, EXTENDS_KEY, f"extended file not found: {parent_path}")
            pdata, porigins = load_raw(parent_path, (*_seen, path))
            merged = deep_merge(merged, pdata)
            origins.update(porigins)
    merged = deep_merge(merged, data)
    origins.update(_origins(data, path))
    return merged, origins


def parse_override(item: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value parsed as YAML)."""
    if "=" not in item:
        raise ConfigError("--set", item, "expected KEY.PATH=VALUE")
    key, _, raw = item.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError("--set", item, "expected KEY.PATH=VALUE")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """Apply ``--set`` items; returns the new mapping and the key paths they set."""
    out = copy.deepcopy(data)
    keys: list[str] = []
    for item in overrides:
        parts, value = parse_override(item)
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError("--set", ".".join(parts), f"'{part}' is not a mapping")
            node = child
        node[parts[-1]] = value
        keys.append(".".join(parts))
    return out, keys


# ---------------------------------------------------------------- typed config


class Config:
    """A validated config: one typed section object per section present (or defaulted)."""

    def __init__(self, sections: dict[str, Section], source: Path | None, raw: dict[str, Any]) -> None:
        self.sections = sections
        self.source = source
        self.raw = raw

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        if name in SECTIONS:
            raise ConfigError(self.__dict__.get("source"), name, f"section '{name}' is required here")
        raise AttributeError(name)

    def require(self, *names: str) -> None:
        """Fail early, naming the file, when a command needs a section the config lacks."""
        for name in names:
            if name not in self.raw:
                raise ConfigError(self.source, name, f"section '{name}' is required by this command")

    def to_dict(self) -> dict[str, Any]:
        return {name: sec.model_dump(mode="json") for name, sec in self.sections.items()}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _format_error(err: dict[str, Any]) -> tuple[str, str]:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
    kind = err.get("type", "")
    msg = err.get("msg", "invalid value")
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif "input" in err and kind not in ("missing",):
        shown = repr(err["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        msg = f"{msg} (got {shown})"
    return loc, msg


def validate(
    data: dict[str, Any],
    *,
    source: str | Path | None = None,
    origins: dict[str, Path] | None = None,
) -> Config:
    """Validate a raw mapping into a Config; errors name the file that set the offending key."""
    sections = known_sections()
    origins = origins or {}
    source_path = Path(source) if source is not None else None

    def file_for(key: str) -> str | Path | None:
        probe = key
        while probe:
            if probe in origins:
                return origins[probe]
            probe = probe.rpartition(".")[0]
        return source_path

    for name in data:
        if name not in sections:
            choices = ", ".join(sections)
            raise ConfigError(file_for(name), name, f"unknown section (expected one of: {choices})")
    built: dict[str, Section] = {}
    for name, model in sections.items():
        is_union = not (isinstance(model, type) and issubclass(model, BaseModel))
        if is_union and data.get(name) is None:
            continue  # a union section (e.g. model:) has no default: absent means "not configured"
        value = data.get(name, {})
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(file_for(name), name, f"expected a mapping, got {type(value).__name__}")
        try:
            if is_union:
                built[name] = TypeAdapter(model).validate_python(value)
            else:
                built[name] = model.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            if is_union and first.get("loc") and first["loc"][0] == value.get("name"):
                first = {**first, "loc": first["loc"][1:]}  # drop the union tag from the key path
            loc, msg = _format_error(first)
            key = f"{name}.{loc}" if loc else name
            raise ConfigError(file_for(key), key, msg) from None
    return Config(built, source_path, data)


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Config:
    """Load, merge (`extends:`), override (`--set`) and validate a config file."""
    data: dict[str, Any] = {}
    origins: dict[str, Path] = {}
    if path is not None:
        data, origins = load_raw(path)
    overrides = list(overrides)
    if overrides:
        data, keys = apply_overrides(data, overrides)
        for key in keys:
            origins[key] = Path("--set")
    return validate(data, source=path, origins=origins)
