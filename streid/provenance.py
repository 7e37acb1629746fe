"""Honest defaults: say so, once at start, when a model that only ever saw the synthetic world meets real video.

What a model learned from comes from its own metadata (``streid.trained_on`` in an artifact, the data
format in a checkpoint's config, the ``streid models`` registry); the built-in models are synthetic by
construction. A source is synthetic when it is a test pattern or a video inside a folder ``streid synth``
wrote (it leaves ``site.json`` beside the videos); everything else (RTSP, USB, CSI, other files) is taken
as real.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

SYNTH_MARKER = "site.json"
GET_REAL = {
    "detector": "`streid models pull yolo11n` and --detector yolo11n",
    "reid": "`streid models pull osnet_x0_25_msmt17` and --embedder osnet_x0_25_msmt17",
}


def source_is_synthetic(kind: str, uri: str) -> bool:
    """A videotestsrc pattern, or a file in a folder written by ``streid synth``."""
    if kind == "test":
        return True
    return kind == "file" and (Path(uri).parent / SYNTH_MARKER).is_file()


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _registered(path: Path) -> str | None:
    from streid.models.registry import models_home, read_registry

    if not _same(path.parent, models_home()):
        return None
    entry = next((e for e in read_registry().values() if e.artifact == path.name), None)
    return entry.trained_on if entry is not None else None


def trained_on(path: str | Path, task: str) -> str:
    """``synthetic`` / ``real`` / ``unknown`` for a detector or re-id model file (its metadata; never its name)."""
    from streid.defaults import DETECTOR_FILE, REID_FILE, models_dir

    path = Path(path)
    if _same(path, models_dir() / (DETECTOR_FILE if task == "detector" else REID_FILE)):
        return "synthetic"  # the built-in models: trained on the synthetic world (their cards say how)
    registered = _registered(path)
    if registered is not None:
        return registered
    if task != "reid" or not path.is_file():
        return "unknown"
    suffix = path.suffix.lower()
    try:
        if suffix == ".onnx":
            from streid.export.int8 import read_onnx_meta

            return str(read_onnx_meta(path).get("trained_on", "unknown"))
        if suffix == ".engine":
            sidecar = path.with_name(path.name + ".json")
            return str(json.loads(sidecar.read_text(encoding="utf-8")).get("trained_on", "unknown"))
    except (OSError, ValueError):
        return "unknown"  # an unreadable model fails loudly where it is loaded; this is only a hint
    return "unknown"


def synthetic_warning(models: dict[str, str], sources: Iterable[tuple[str, str, str]]) -> str | None:
    """One line when any model in ``models`` (task -> path) is synthetic-only and a source is not synthetic.

    ``sources`` are (camera name, kind, uri). None when there is nothing to say.
    """
    real = [name for name, kind, uri in sources if not source_is_synthetic(kind, uri)]
    if not real:
        return None
    synthetic = {task: path for task, path in models.items() if path and trained_on(path, task) == "synthetic"}
    if not synthetic:
        return None
    which = " and ".join(f"{'detector' if t == 'detector' else 're-id model'} {Path(p).name}"
                         for t, p in synthetic.items())
    get = "; ".join(GET_REAL[t] for t in synthetic)
    cams = ", ".join(real[:3]) + (" ..." if len(real) > 3 else "")
    return (f"the {which} learned from the synthetic world only and camera(s) {cams} look like real video: "
            f"expect poor detections/matches; for real weights use {get}")
