"""``streid models`` operations: pull a known public model, import a user's file, list what is known and cached.

Re-id weights (torchreid, STREID checkpoints) are exported once, here, to the clip artifact the pipeline
loads (parity-checked); the registry points the name at that artifact. Detectors are used as they are.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from streid.models.download import download, sha256_file
from streid.models.kinds import Kind, detect_kind
from streid.models.known import KNOWN, KnownModel, known
from streid.models.registry import Entry, ModelError, check_name, models_home, read_registry, register


@dataclass(frozen=True)
class ClipShape:
    """The clip a re-id artifact made from image weights takes: frames per clip and crop size."""

    seq_len: int = 8
    height: int = 256
    width: int = 128


def _artifact(name: str, file: Path, kind: Kind, trained_on: str | None, origin: str, shape: ClipShape,
              home: Path) -> tuple[Path, str]:
    """(the file the pipeline loads for ``name``, trained_on); re-id weights are exported next to ``file``."""
    if kind.kind in ("ultralytics", "onnx-detector"):
        return file, trained_on or "unknown"
    if kind.kind == "streid-onnx":
        from streid.export.int8 import read_onnx_meta

        meta = read_onnx_meta(file)
        if trained_on is not None and trained_on != meta["trained_on"]:
            raise ModelError(f"{file}: the artifact says trained_on={meta['trained_on']}; re-export it to change that")
        return file, meta["trained_on"]
    from streid.export.errors import ExportError
    from streid.export.metadata import MetadataError
    from streid.train.checkpoint import CheckpointError

    try:
        if kind.kind == "torchreid":
            from streid.export.image_model import export_image_model

            out = home / f"{name}.L{shape.seq_len}.onnx"
            result = export_image_model(kind.arch, file, out, shape.seq_len, shape.height, shape.width,
                                        trained_on=trained_on or "unknown", origin=origin)
        else:
            from streid.export.onnx_export import export_onnx

            if trained_on is not None:
                raise ModelError(f"{file}: a STREID checkpoint says what it was trained on; --trained-on is not "
                                 "taken for it")
            result = export_onnx(file, home / f"{name}.onnx")
    except (ExportError, CheckpointError, MetadataError, ValueError) as exc:
        raise ModelError(f"{file}: cannot make a clip artifact: {exc}") from None
    return result.path, result.meta["trained_on"]


def _copy_in(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` atomically (hidden temp file in the same folder, then rename)."""
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def import_model(path: str | Path, name: str | None = None, trained_on: str | None = None,
                 shape: ClipShape = ClipShape()) -> Entry:
    """Register a file the user brought under ``name`` (default: its stem); returns the registry entry."""
    path = Path(path)
    kind = detect_kind(path)  # fails before anything is written
    name = check_name(name or path.stem)
    public = known(name)
    if public is not None and public.task != kind.task:
        raise ModelError(f"'{name}' is the public {public.task} model; {path} is a {kind.task} model: pick --name")
    home = models_home()
    home.mkdir(parents=True, exist_ok=True)
    sha = sha256_file(path)
    dest = home / f"{name}{path.suffix.lower() or '.bin'}"
    if path.resolve() != dest.resolve():
        _copy_in(path, dest)
    artifact, learned = _artifact(name, dest, kind, trained_on, f"import of {path.name} sha256:{sha}", shape, home)
    entry = Entry(name, kind.task, kind.kind, dest.name, artifact.name, sha, f"import:{path.resolve()}", learned,
                  kind.arch)
    register(entry)
    return entry


def pull(name: str, url: str | None = None, sha256: str | None = None, shape: ClipShape = ClipShape(),
         force: bool = False, progress=None) -> tuple[Entry, bool]:
    """Download a known public model into the cache (verified), register it; (entry, fetched now)."""
    check_name(name)
    public = known(name)
    if public is None:
        raise ModelError(f"unknown model '{name}' (known: {', '.join(m.name for m in KNOWN)}); "
                         "for other files use `streid models import FILE --name NAME`")
    home = models_home()
    previous = read_registry().get(name)
    dest = home / f"{name}{public.suffix}"
    if previous is not None and dest.is_file() and not force:
        if sha256_file(dest) != previous.sha256:
            raise ModelError(f"{dest}: sha256 differs from the one recorded at pull time; pull again with --force")
        return previous, False
    expected = sha256 or public.sha256 or (previous.sha256 if previous is not None and force else None)
    source = url or public.url
    digest = download(source, dest, expected, progress=progress)
    try:
        kind = detect_kind(dest)
        if kind.kind != public.kind or (public.kind == "torchreid" and kind.arch != public.arch):
            raise ModelError(f"{source} sent a {kind.kind} {kind.arch} file, not {public.kind} {public.arch}")
    except ModelError as exc:
        dest.unlink()  # never leave a file under the model's name that is not the model
        raise ModelError(f"{exc} (from {source}; file discarded)") from None
    artifact, learned = _artifact(name, dest, kind, public.trained_on, f"{public.url} sha256:{digest}", shape, home)
    entry = Entry(name, public.task, kind.kind, dest.name, artifact.name, digest, source, learned, public.arch)
    register(entry)
    return entry, True


@dataclass(frozen=True)
class Row:
    """One line of ``streid models list``."""

    name: str
    task: str
    arch: str
    data: str
    trained_on: str
    licence: str
    size: str
    source: str
    sha256: str
    cached: str


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MB" if path.is_file() else "-"


def _checksum(public: KnownModel | None, entry: Entry | None) -> str:
    if public is not None and public.sha256:
        return f"published {public.sha256[:16]}"
    if entry is not None:
        return f"recorded {entry.sha256[:16]}"
    return "unpublished"


def rows() -> list[Row]:
    """Built-in models, the known public ones, and whatever the user imported, with their cache state."""
    from streid.defaults import DETECTOR_FILE, REID_FILE, models_dir

    out = [Row(f"default ({f})", task, arch, "synthetic world (this project)", "synthetic", "project licence",
               _size(models_dir() / f), str(models_dir()), "-", "yes" if (models_dir() / f).is_file() else "no")
           for f, task, arch in ((DETECTOR_FILE, "detector", "YOLO11n"), (REID_FILE, "reid", "nl3d (small)"))]
    home = models_home()
    entries = read_registry()
    for public in KNOWN:
        entry = entries.get(public.name)
        out.append(Row(public.name, public.task, public.arch, public.data, public.trained_on, public.licence,
                       _size(home / entry.file) if entry else "-", public.url, _checksum(public, entry),
                       "yes" if entry and (home / entry.artifact).is_file() else "no"))
    for entry in entries.values():
        if known(entry.name) is None:
            out.append(Row(entry.name, entry.task, entry.arch or entry.kind, "imported", entry.trained_on, "-",
                           _size(home / entry.file), entry.source, f"recorded {entry.sha256[:16]}",
                           "yes" if (home / entry.artifact).is_file() else "no"))
    return out
