"""The metadata every re-id artifact carries, so a runtime never guesses the model from a file name.

Kept free of torch (onnx is imported only to read an ONNX file) so the pipeline (and a Jetson install without
training code) can read it.
ONNX files store it in ``metadata_props`` (all values strings); TensorRT engines in ``ENGINE.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PREFIX = "streid."
PIXEL_FORMAT = "BGR uint8 NLHWC"
"""The input the artifacts take: uint8 BGR clips (N, L, H, W, 3), as OpenCV and GStreamer appsinks give them."""

REQUIRED = ("model", "config", "seq_len", "height", "width", "pixel_format", "mean", "std", "embedding_dim",
            "version", "precision")
PRECISIONS = ("fp32", "fp16", "int8")
STRING_KEYS = ("model", "pixel_format", "version", "precision", "quant_target", "trained_on", "origin")
TRAINED_ON = ("synthetic", "real", "unknown")
"""What the weights learned from: the synthetic world only, real footage (at least in part), or not known."""
INPUT_NAME = "clips"
OUTPUT_NAME = "embedding"


class MetadataError(ValueError):
    """An artifact without (complete) STREID metadata; the message names the file and the missing keys."""


def build_metadata(
    model: str,
    model_config: Mapping[str, Any],
    seq_len: int,
    height: int,
    width: int,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    embedding_dim: int,
    version: str,
    precision: str = "fp32",
    trained_on: str = "unknown",
    origin: str = "",
) -> dict[str, Any]:
    """Typed metadata (ints, floats, dicts) of one artifact; ``origin`` says where the weights came from."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision '{precision}' (choices: {', '.join(PRECISIONS)})")
    if trained_on not in TRAINED_ON:
        raise ValueError(f"trained_on '{trained_on}' (choices: {', '.join(TRAINED_ON)})")
    return {
        "model": model,
        "config": dict(model_config),
        "seq_len": int(seq_len),
        "height": int(height),
        "width": int(width),
        "pixel_format": PIXEL_FORMAT,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "embedding_dim": int(embedding_dim),
        "version": version,
        "precision": precision,
        "trained_on": trained_on,
        "origin": origin,
    }


def to_props(meta: Mapping[str, Any]) -> dict[str, str]:
    """Typed metadata -> ``streid.*`` string properties (JSON for lists and dicts)."""
    out = {}
    for key, value in meta.items():
        out[PREFIX + key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return out


def from_props(props: Mapping[str, str], source: str) -> dict[str, Any]:
    """``streid.*`` string properties -> typed metadata; raises ``MetadataError`` naming ``source``."""
    ours = {k[len(PREFIX):]: v for k, v in props.items() if k.startswith(PREFIX)}
    if not ours:
        raise MetadataError(
            f"{source}: no STREID metadata (streid.* properties); export it with `streid export onnx` "
            "- the model is never guessed from a file name"
        )
    missing = [k for k in REQUIRED if k not in ours]
    if missing:
        raise MetadataError(f"{source}: incomplete STREID metadata, missing {', '.join(PREFIX + k for k in missing)}")
    meta: dict[str, Any] = {}
    for key, value in ours.items():
        if key in STRING_KEYS:
            meta[key] = value
            continue
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError as exc:
            raise MetadataError(f"{source}: {PREFIX}{key} is not valid JSON: {value!r}") from exc
    if meta["pixel_format"] != PIXEL_FORMAT:
        raise MetadataError(f"{source}: pixel format '{meta['pixel_format']}' is not supported ({PIXEL_FORMAT})")
    for key in ("seq_len", "height", "width", "embedding_dim"):
        if not isinstance(meta[key], int) or meta[key] < 1:
            raise MetadataError(f"{source}: {PREFIX}{key} must be a positive integer, got {meta[key]!r}")
    if meta.setdefault("trained_on", "unknown") not in TRAINED_ON:  # older artifacts do not say
        raise MetadataError(f"{source}: {PREFIX}trained_on '{meta['trained_on']}' (choices: {', '.join(TRAINED_ON)})")
    return meta


def read_onnx_meta(path: str | Path) -> dict[str, Any]:
    """STREID metadata of an ONNX file, without loading weights (raises naming the file when there is none)."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: ONNX file not found")
    model = onnx.load(str(path), load_external_data=False)
    return from_props({p.key: p.value for p in model.metadata_props}, str(path))
