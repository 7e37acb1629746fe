"""Built-in default models (``deploy/models``): where they live, and an error that says how to make them.

A config that names no model gets these; any user weights replace them. They are made on this machine by
``scripts/make_default_models.sh`` (nothing is downloaded), so a checkout may not have them yet.
``$STREID_MODELS`` points elsewhere (an installed package has no checkout next to it).
"""

from __future__ import annotations

import os
from pathlib import Path

MODELS_ENV = "STREID_MODELS"
DETECTOR_FILE = "person_detector.onnx"
MAKE_COMMAND = "scripts/make_default_models.sh"


def models_dir() -> Path:
    """``$STREID_MODELS``, else ``deploy/models`` of this checkout."""
    env = os.environ.get(MODELS_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[1] / "deploy" / "models"


def _builtin(name: str, what: str, command: str, setting: str) -> Path:
    """A built-in model file, or FileNotFoundError saying how to make it and how to give your own."""
    path = models_dir() / name
    if not path.is_file():
        raise FileNotFoundError(
            f"no {what} configured and the default {path} does not exist: make it with `{command}`, or set "
            f"{setting}"
        )
    return path


def default_detector() -> Path:
    """The built-in person detector ONNX."""
    return _builtin(
        DETECTOR_FILE, "detector weights",
        f"{MAKE_COMMAND} detector` (or `streid train detector --export {models_dir() / DETECTOR_FILE}",
        "pipeline.detector.weights (or --detector) to your own .pt/.onnx/.engine weights",
    )


REID_FILE = "reid_small.onnx"


def default_embedder() -> Path:
    """The built-in re-id model ONNX."""
    return _builtin(
        REID_FILE, "re-id model", f"{MAKE_COMMAND} reid",
        "pipeline.embedder.path (or --embedder) to your own .onnx/.engine/.pt artifact",
    )


def resolve_embedder(path: str) -> str:
    """``default`` (any case) -> the built-in re-id model; a registered model name (``streid models``) -> its
    artifact; any other value unchanged ("" = no embeddings). Raises ValueError for a name not usable here."""
    from streid.models.registry import resolve

    return str(default_embedder()) if path.strip().lower() == "default" else resolve(path, "reid")


def resolve_detector(weights: str) -> str:
    """A registered model name (``streid models``) -> its weights file; any other value unchanged ("" = built-in)."""
    from streid.models.registry import resolve

    return resolve(weights, "detector")
