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


def default_detector() -> Path:
    """The built-in person detector ONNX; FileNotFoundError naming the command that makes it."""
    path = models_dir() / DETECTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no detector weights configured and the default detector {path} does not exist: make it with "
            f"`{MAKE_COMMAND}` (or `streid train detector --export {path}`), or set pipeline.detector.weights "
            "to your own .pt/.onnx/.engine"
        )
    return path
