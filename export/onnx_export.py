"""Checkpoint -> ONNX re-id artifact: preprocessing in the graph, metadata inside, parity checked.

The file appears under its final name only after the ONNX checker and the parity check passed; on any
failure the temporary file is removed and the error propagates (an exporter never returns None).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streid.export.errors import ExportError, ParityError
from streid.export.metadata import INPUT_NAME, OUTPUT_NAME, build_metadata, to_props
from streid.export.parity import ParityReport

MIN_OPSET = 17
PARITY_COSINE = 0.9999
PARITY_BATCHES = (1, 8)


@dataclass
class ExportResult:
    """What an export wrote and how close it is to PyTorch."""

    path: Path
    meta: dict[str, Any]
    parity: ParityReport
    retrieval: dict[str, float] | None = None  # INT8: mAP of FP32 and INT8 on a test split, when one was given


def temp_path(out: Path) -> Path:
    """Hidden sibling of ``out`` (same folder, so the final rename is atomic)."""
    return out.with_name(f".{out.name}.tmp{os.getpid()}{out.suffix}")


def parity_clips(seq_len: int, height: int, width: int, n: int = 8, seed: int = 0) -> np.ndarray:
    """Clips of distinct synthetic people for the parity check (uint8 BGR)."""
    from streid.export.clips import synthetic_clips

    return synthetic_clips(n, seq_len, height, width, seed=seed)[0]


def set_metadata(model: Any, meta: dict[str, Any]) -> None:
    """Replace the ``streid.*`` entries of an ONNX ModelProto's metadata_props with ``meta``."""
    keep = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith("streid.")]
    del model.metadata_props[:]
    for key, value in [*keep, *to_props(meta).items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def ort_session(path: Path, threads: int = 0) -> Any:
    """A CPU ONNX Runtime session (the reference runtime of every parity check)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def trained_on(config: dict[str, Any]) -> str:
    """What a training run learned from, by its data format: the synthetic world only, or real footage."""
    fmt = (config.get("data") or {}).get("format")
    return "unknown" if fmt is None else "synthetic" if fmt == "synthetic" else "real"


def export_onnx(
    checkpoint: str | Path,
    out: str | Path | None = None,
    opset: int = MIN_OPSET,
    batch_dynamic: bool = True,
    tolerance: float = PARITY_COSINE,
    clips: np.ndarray | None = None,
    optimize: bool = True,
    seq_len: int | None = None,
    flip: bool = False,
) -> ExportResult:
    """Export a checkpoint's model to ONNX (embedding out); raises on any failure, leaving nothing behind.

    ``optimize`` rewrites factorised 3D convs as 2D ones and folds the normalisation into the first conv
    (``streid.export.graph``); the parity check compares the result with the unmodified model either way.
    ``flip`` averages each embedding with the mirrored clip's (:class:`~streid.export.wrapper.FlipAveraged`).
    """
    from streid.export.checkpoint import load_checkpoint

    if opset < MIN_OPSET:  # before reading anything: the request itself is wrong
        raise ExportError(f"opset {opset} is too old; STREID exports with opset >= {MIN_OPSET}")
    checkpoint = Path(checkpoint)
    model, config, info = load_checkpoint(checkpoint)  # fails before anything is written
    info = {**info, "trained_on": trained_on(config), "origin": f"streid train ({checkpoint.name})"}
    if seq_len is not None:  # frame-wise models pooled over time take any L: deploy longer clips than trained on
        info["seq_len"] = int(seq_len)
    out = Path(out) if out is not None else checkpoint.with_suffix(".onnx")
    return export_model(model, info, out, opset, batch_dynamic, tolerance, clips, optimize, flip)


def export_model(
    model: Any,
    info: dict[str, Any],
    out: Path,
    opset: int = MIN_OPSET,
    batch_dynamic: bool = True,
    tolerance: float = PARITY_COSINE,
    clips: np.ndarray | None = None,
    optimize: bool = True,
    flip: bool = False,
) -> ExportResult:
    """Export a clip model (eval mode); ``info``: model, model_config, seq_len, height, width, trained_on, origin;
    ``flip``: flip-averaged embeddings, recorded as ``flip_average`` in the metadata."""
    import onnx
    import onnxslim
    import torch

    import streid
    from streid.export.graph import export_module
    from streid.export.parity import onnx_parity, torch_embeddings
    from streid.export.wrapper import FlipAveraged
    from streid.train.data.clips import MEAN, STD

    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset} is too old; STREID exports with opset >= {MIN_OPSET}")
    out.parent.mkdir(parents=True, exist_ok=True)
    seq_len, height, width = info["seq_len"], info["height"], info["width"]
    if clips is None:
        clips = parity_clips(seq_len, height, width)
    if clips.shape[1:] != (seq_len, height, width, 3) or clips.dtype != np.uint8:
        want = (seq_len, height, width, 3)
        raise ExportError(f"parity clips {clips.shape} {clips.dtype} do not fit (N, {want}) uint8")
    wrapper = export_module(model, MEAN, STD, clips, optimize=optimize)
    if flip:
        wrapper = FlipAveraged(wrapper)
    example = torch.from_numpy(clips[:2] if batch_dynamic else clips[:1])
    tmp = temp_path(out)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter; correctness is decided by the parity check below
            embedding_dim = int(wrapper(example).shape[1])
            torch.onnx.export(
                wrapper,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if batch_dynamic else None,
                do_constant_folding=True,
            )
        graph = onnxslim.slim(onnx.load(str(tmp)))
        meta = build_metadata(
            info["model"], info["model_config"], seq_len, height, width, MEAN, STD, embedding_dim,
            streid.__version__, "fp32", info.get("trained_on", "unknown"), info.get("origin", ""),
        )
        meta["flip_average"] = flip
        set_metadata(graph, meta)
        graph.producer_name = "streid"
        onnx.checker.check_model(graph, full_check=True)
        onnx.save(graph, str(tmp))
        reference = torch_embeddings(model, clips, flip)
        batches = PARITY_BATCHES if batch_dynamic else (1,)
        report = onnx_parity(ort_session(tmp), reference, clips, batches)
        if report.worst < tolerance:
            raise ParityError(f"{out}: ONNX Runtime disagrees with PyTorch: {report.line()} < {tolerance}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(out, meta, report)
