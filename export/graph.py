"""The module that gets traced: the model behind uint8 BGR input, rewritten for fast runtimes when exact.

Three rewrites (``fold.fold_batchnorm``: eval BatchNorm folded into the conv before it; ``conv2d.as_2d``:
factorised 3D convs and pools as 2D ones; ``fold.fold_input_norm``: the normalisation folded into the first
conv) make ONNX Runtime's CPU path 1.5-2x faster on nl3d and give
TensorRT 2D (INT8) kernels. Each is kept only if the rewritten module matches the plain one on the given
clips; the export's parity check then compares the ONNX graph with the unmodified model.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch
from torch import nn

from streid.export.conv2d import as_2d
from streid.export.fold import fold_batchnorm, fold_input_norm
from streid.export.parity import cosines
from streid.export.wrapper import ClipEmbedder, RawClipEmbedder

log = logging.getLogger(__name__)
REWRITE_COSINE = 0.99999


@torch.no_grad()
def export_module(
    model: nn.Module, mean: tuple[float, ...], std: tuple[float, ...], clips: np.ndarray, optimize: bool = True
) -> nn.Module:
    """uint8 BGR (B, L, H, W, 3) -> (B, D) module for ``model`` (eval mode); ``model`` itself is not changed."""
    plain = ClipEmbedder(model, mean, std).eval()
    if not optimize:
        return plain
    x = torch.from_numpy(clips[:2])
    reference = plain(x).numpy()
    mean_t, std_t = torch.tensor(mean), torch.tensor(std)
    normalised = (x.permute(0, 1, 4, 2, 3).flip(2).float() / 255.0 - mean_t.view(1, 1, 3, 1, 1)) / std_t.view(
        1, 1, 3, 1, 1)
    fused = copy.deepcopy(model).eval()
    fold_batchnorm(fused, normalised[:1])
    if cosines(ClipEmbedder(fused, mean, std).eval()(x).numpy(), reference).min() < REWRITE_COSINE:
        log.warning("folding BatchNorm into convs changes this model's output; not folded")
        fused = model
    model_2d, _count = as_2d(fused)
    candidate: nn.Module = ClipEmbedder(model_2d, mean, std).eval()
    if cosines(candidate(x).numpy(), reference).min() < REWRITE_COSINE:
        log.warning("3D -> 2D conv rewrite changes this model's output; exporting it unchanged")
        model_2d, candidate = copy.deepcopy(fused).eval(), ClipEmbedder(fused, mean, std).eval()
    folded_model = fold_input_norm(copy.deepcopy(model_2d), normalised[:1], mean_t, std_t)
    if folded_model is not None:
        folded = RawClipEmbedder(folded_model).eval()
        if cosines(folded(x).numpy(), reference).min() >= REWRITE_COSINE:
            return folded
        log.warning("folding the normalisation into the first conv changes this model's output; not folded")
    return candidate
