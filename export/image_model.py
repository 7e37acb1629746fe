"""Image re-id weights (torchreid OSNet) -> clip artifact: frames embedded by the image model, averaged, L2-normalised.

The artifact is the same kind our own exports are (uint8 BGR clips in, metadata inside, parity-checked at
batch 1 and 8), so the pipeline, ``streid reid``, ``streid search`` and ``streid eval`` take it unchanged.
"""

from __future__ import annotations

from pathlib import Path

from streid.export.errors import ExportError
from streid.export.onnx_export import MIN_OPSET, ExportResult, export_model
from streid.models.download import sha256_file

IMAGE_MODELS = ("osnet_x1_0", "osnet_x0_75", "osnet_x0_5", "osnet_x0_25", "osnet_ibn_x1_0", "osnet_ain_x1_0",
                "osnet_ain_x0_75", "osnet_ain_x0_5", "osnet_ain_x0_25")
DEFAULT_SIZE = (256, 128)  # torchreid's default re-id input (height, width)


def export_image_model(
    image_model: str,
    weights: str | Path,
    out: str | Path | None = None,
    seq_len: int = 8,
    height: int = DEFAULT_SIZE[0],
    width: int = DEFAULT_SIZE[1],
    trained_on: str = "unknown",
    origin: str | None = None,
    opset: int = MIN_OPSET,
    batch_dynamic: bool = True,
    flip: bool = False,
) -> ExportResult:
    """torchreid weights of ``image_model`` -> ONNX clip artifact (default: WEIGHTS.L8.onnx next to the weights)."""
    from streid.train.models.config import OSNetConfig
    from streid.train.models.torchreid_weights import TorchreidWeightsError, osnet_from_file

    if image_model not in IMAGE_MODELS:
        raise ExportError(f"unknown image model '{image_model}' (choices: {', '.join(IMAGE_MODELS)})")
    if seq_len < 1 or height < 32 or width < 32:
        raise ExportError(f"clip shape L={seq_len} {height}x{width}: need L >= 1 and at least 32x32 pixels")
    weights = Path(weights)
    try:
        model, arch = osnet_from_file(weights, image_model)
    except TorchreidWeightsError as exc:
        raise ExportError(str(exc)) from None
    out = Path(out) if out is not None else weights.with_name(f"{weights.stem}.L{seq_len}.onnx")
    info = {
        "model": arch,
        "model_config": OSNetConfig(arch=arch).model_dump(mode="json"),
        "seq_len": seq_len, "height": height, "width": width,
        "trained_on": trained_on,
        "origin": origin or f"torchreid weights {weights.name} sha256:{sha256_file(weights)}",
    }
    return export_model(model, info, out, opset=opset, batch_dynamic=batch_dynamic, flip=flip)
