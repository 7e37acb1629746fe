"""A trainable re-id checkpoint rebuilt from an exported ``mnv2`` ONNX (the built-in model ships as ONNX only).

Continuing the built-in model's training (a GPU stage, a fine-tune on a new site's look) needs a STREID checkpoint,
and its stage checkpoints are not shipped. The artifact's metadata holds the model config, so the architecture is
rebuilt exactly; the export folded each BatchNorm into its convolution, so every conv takes the weight and bias of
the ONNX Conv node named after it and its BatchNorm is rebuilt as ``train.detector_onnx`` does for the detector
(running statistics = the conv outputs' statistics on sample clips, gamma / beta undoing them), which computes what
the fold computed in eval mode and, on such clips, in training mode too. The projection (MatMul) and the BNNeck
(kept as a BatchNormalization node) are copied as they are. The identity heads are not in an inference graph: the
checkpoint has a one-class placeholder, which ``train.init.skip_heads: true`` (every fine-tune to new identities)
replaces. ``parity`` compares the rebuilt model with ONNX Runtime; scripts/reid_pt_from_onnx.py is the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from streid.train.detector_onnx import batchnorm_after, fold_back, onnx_convs, onnx_graph


def sample_clips(images: list[np.ndarray], seq_len: int, height: int, width: int) -> np.ndarray:
    """uint8 BGR clips (N, L, H, W, 3) of ``images`` resized to the model's input, ``seq_len`` frames each."""
    import cv2

    frames = np.stack([cv2.resize(im, (width, height), interpolation=cv2.INTER_LINEAR) for im in images])
    n = len(frames) // seq_len
    if n == 0:
        raise ValueError(f"--images: {len(frames)} images make no clip of {seq_len} frames")
    return frames[: n * seq_len].reshape(n, seq_len, height, width, 3)


def unfold_input_conv(conv: Any, weight: np.ndarray, offset: np.ndarray | None, meta: dict[str, Any],
                      onnx_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(weight, bias) of the first conv for normalised RGB input, from the export's ``FoldedInputConv`` (weights
    scaled by 1 / (255 std) and flipped to BGR; the BatchNorm's shift and the normalisation's offset in one constant
    map): the inverse of ``streid.export.fold``. The map less the offset of the unfolded weights must be one bias per
    channel; anything else is not that fold and raises ValueError."""
    import torch

    if offset is None:
        raise ValueError(f"{onnx_path}: a wrapped first conv without its offset map")
    mean = torch.tensor(meta["mean"], dtype=torch.float32)
    std = torch.tensor(meta["std"], dtype=torch.float32)
    w = torch.from_numpy(weight.copy()).flip(1) * (255.0 * std).view(1, 3, 1, 1)
    constant = (-mean / std).view(1, 3, 1, 1).expand(1, 3, int(meta["height"]), int(meta["width"]))
    with torch.no_grad():
        base = torch.nn.functional.conv2d(constant, w, None, conv.stride, conv.padding, conv.dilation, conv.groups)
    if tuple(base.shape) != offset.shape:
        raise ValueError(f"{onnx_path}: first conv offset {offset.shape}, expected {tuple(base.shape)}")
    rest = torch.from_numpy(offset.copy()) - base
    bias = rest.mean(dim=(0, 2, 3))
    if float((rest - bias.view(1, -1, 1, 1)).abs().max()) > 1e-3 * max(1.0, float(bias.abs().max())):
        raise ValueError(f"{onnx_path}: the first conv's offset map is not the input-normalisation fold")
    return w.numpy(), bias.numpy()


def mnv2_meta(onnx_path: Path) -> dict[str, Any]:
    """The STREID metadata of an ``mnv2`` re-id artifact (model config, clip shape, normalisation); ValueError
    naming the file for a missing file or any other kind of artifact (only mnv2 is rebuilt)."""
    from streid.export.metadata import read_onnx_meta

    meta = read_onnx_meta(onnx_path) if Path(onnx_path).is_file() else None
    if not meta or meta.get("model") != "mnv2" or not isinstance(meta.get("config"), dict):
        raise ValueError(f"{onnx_path}: not a STREID mnv2 re-id artifact (no such file, or metadata model "
                         f"{(meta or {}).get('model')!r}); only mnv2 is rebuilt")
    return meta


def rebuild(onnx_path: Path, meta: dict[str, Any], clips: np.ndarray) -> Any:
    """The ``mnv2`` model of ``meta`` (:func:`mnv2_meta` of ``onnx_path``) computing what the file does; ``clips``
    (uint8 BGR, N x L x H x W x 3) give the BatchNorm statistics."""
    import torch
    from pydantic import TypeAdapter, ValidationError

    from streid.train.data.clips import to_tensor
    from streid.train.models import build_model
    from streid.train.models.config import ModelConfig

    try:
        cfg = TypeAdapter(ModelConfig).validate_python({**meta["config"], "pretrained": None})
    except ValidationError as exc:
        raise ValueError(f"{onnx_path}: metadata config: {exc.errors()[0]['msg']}") from None
    model = build_model(cfg, 1).eval()
    inits, graph = loaded = onnx_graph(onnx_path)
    modules = dict(model.named_modules())
    torch_convs = [n for n, m in modules.items() if isinstance(m, torch.nn.Conv2d)]
    convs = {}
    for key, value in onnx_convs(onnx_path, loaded).items():
        key = key.removeprefix("model.")
        if key not in modules and key.endswith(".conv"):  # the first conv, with the input normalisation folded in
            key = key.removesuffix(".conv")
            value = unfold_input_conv(modules[key], value[0], inits.get(f"model.{key}.offset"), meta, onnx_path)
        convs[key] = value
    if sorted(convs) != sorted(torch_convs):
        odd = sorted(set(convs) ^ set(torch_convs))[:4]
        raise ValueError(f"{onnx_path} does not fit its own metadata: convs {odd}")
    matmul = [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    want = tuple(model.reduce.weight.shape[::-1])
    if len(matmul) != 1 or inits[matmul[0].input[1]].shape != want:
        raise ValueError(f"{onnx_path}: expected one projection MatMul of shape {want}")
    with torch.no_grad():
        model.reduce.weight.copy_(torch.from_numpy(inits[matmul[0].input[1]].T.copy()))
        for key in ("weight", "bias", "running_mean", "running_var"):
            value = inits.get(f"model.neck.{key}")
            if value is None:
                raise ValueError(f"{onnx_path}: no BNNeck initialiser model.neck.{key}")
            getattr(model.neck, key).copy_(torch.from_numpy(value.copy()))
    missing = [n for n in torch_convs if batchnorm_after(model, n) is None]
    if missing:
        raise ValueError(f"{onnx_path}: convs {missing[:3]} have no BatchNorm after them in the model")
    batch = torch.stack([to_tensor(np.ascontiguousarray(c[..., ::-1])) for c in clips])
    fold_back(model, convs, lambda: model(batch))
    return model


def parity(model: Any, onnx_path: Path, clips: np.ndarray) -> float:
    """Smallest cosine between the rebuilt model's embeddings and ONNX Runtime's on ``clips`` (batch 1 and 2)."""
    from streid.export.onnx_export import ort_session
    from streid.export.parity import onnx_parity, torch_embeddings

    reference = torch_embeddings(model, clips)
    return onnx_parity(ort_session(onnx_path), reference, clips, (1, 2)).worst


def checkpoint_payload(model: Any, meta: dict[str, Any], onnx_path: Path, min_cosine: float) -> dict[str, Any]:
    """What ``train.init.checkpoint`` and ``streid export onnx --checkpoint`` read, and where it came from."""
    from streid.models.download import sha256_file

    return {
        "config": {"model": meta["config"],
                   "data": {"seq_len": meta["seq_len"], "height": meta["height"], "width": meta["width"],
                            # what the artifact says it learned from, as the data format export reads it back
                            **({"format": "synthetic"} if meta.get("trained_on") == "synthetic" else {})}},
        "model": model.state_dict(),
        "num_classes": 1,  # a placeholder head: the artifact has none (train.init.skip_heads replaces it)
        "epoch": 0,
        "metrics": {},
        "rebuilt_from": {"onnx": str(onnx_path), "sha256": sha256_file(onnx_path), "min_cosine": min_cosine},
    }
