"""The local model cache: ``$STREID_HOME/models`` holds the files and ``registry.json`` says what each name is.

A registered name works wherever a model path is accepted (``--detector``, ``--embedder``, config keys):
``resolve`` turns it into the file. A name is an identifier (letters, digits, ``_ . -``), never a path
fragment, so a value from a config or the command line cannot reach outside the cache through it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from streid.offline import streid_home

REGISTRY_FILE = "registry.json"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TASKS = ("detector", "reid")


class ModelError(ValueError):
    """A model name, file or download that cannot be used; the message is one line for the user."""


@dataclass
class Entry:
    """One registered model: ``file`` is the weights as given, ``artifact`` what the pipeline loads (in the cache)."""

    name: str
    task: str
    kind: str  # ultralytics | torchreid | streid-onnx | streid-checkpoint | onnx-detector
    file: str
    artifact: str
    sha256: str
    source: str
    trained_on: str = "unknown"
    arch: str = ""


def models_home() -> Path:
    """``$STREID_HOME/models`` (default ``~/.cache/streid/models``)."""
    return streid_home() / "models"


def is_name(value: str) -> bool:
    """True for a model name (an identifier, no separators, no ``..``)."""
    return bool(NAME_RE.match(value)) and ".." not in value


def check_name(value: str) -> str:
    """``value`` if it is a valid name, else ModelError saying what a name may hold."""
    if not is_name(value):
        raise ModelError(f"'{value}' is not a model name: use 1-64 letters, digits, '_', '.', '-' "
                         "(starting with a letter or digit, no '..' or '/')")
    return value


def read_registry(home: Path | None = None) -> dict[str, Entry]:
    """Every registered model by name (empty when nothing was pulled or imported)."""
    path = (home or models_home()) / REGISTRY_FILE
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: Entry(**fields) for name, fields in raw.items() if is_name(name)}
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise ModelError(f"{path}: unreadable model registry ({exc}); move it away and pull/import again") from None


def register(entry: Entry, home: Path | None = None) -> None:
    """Add or replace ``entry`` (atomic rewrite of registry.json)."""
    home = home or models_home()
    home.mkdir(parents=True, exist_ok=True)
    entries = read_registry(home)
    entries[check_name(entry.name)] = entry
    tmp = home / f".{REGISTRY_FILE}.tmp{os.getpid()}"
    tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(entries.items())}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, home / REGISTRY_FILE)


def cached_file(entry: Entry, home: Path | None = None) -> Path:
    """The artifact of ``entry`` inside the cache (names in the registry are file names, never paths)."""
    home = home or models_home()
    path = home / Path(entry.artifact).name
    if not path.is_file():
        raise ModelError(f"model '{entry.name}': {path} is gone from the cache; pull or import it again")
    return path


def resolve(value: str, task: str) -> str:
    """A registered or known model name -> its file in the cache; anything else unchanged.

    An existing file wins over a name; a name registered for the other task, or a known public model not
    pulled yet, is a ModelError that says what to do.
    """
    from streid.models.known import known

    if not value or Path(value).exists() or not is_name(value):
        return value
    entry = read_registry().get(value)
    if entry is not None:
        if entry.task != task:
            raise ModelError(f"model '{value}' is a {entry.task} model, not a {task} model")
        return str(cached_file(entry))
    public = known(value)
    if public is not None:
        if public.task != task:
            raise ModelError(f"model '{value}' is a {public.task} model, not a {task} model")
        raise ModelError(f"model '{value}' is not in the local cache: run `streid models pull {value}` "
                         f"(or fetch {public.url} by hand and `streid models import FILE --name {value}`)")
    return value
