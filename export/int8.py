"""FP32 ONNX artifact -> INT8 QDQ artifact, calibrated on real clips (ONNX Runtime static quantisation).

Weights are symmetric INT8 per output channel. Activations depend on ``target``:
- ``tensorrt`` (default): symmetric INT8 (zero point 0), the only form TensorRT's explicit quantisation
  takes; ONNX Runtime on a CPU runs it too, so one file serves the CPU box and the Jetson.
- ``cpu``: asymmetric UINT8, ONNX Runtime's fast x86 path (u8 x s8 dot products, VNNI); not for TensorRT.
The first convolution (raw 0..255 pixels in, normalisation folded in) and max pools stay float: the first
conv keeps full pixel precision, and a float max pool runs on ONNX Runtime's fast NCHWc path. A transformer's
residual stream (LayerNormalization and the Add/Concat chain feeding it) stays float too: its range is wide
and per-tensor INT8 there costs stt_gt ~0.1 of cosine, while its MatMuls are still INT8. The metadata
is carried over with ``precision=int8`` (and ``quant_target``); the parity with FP32 is measured and
reported (no 0.9999 bar).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from streid.export.errors import ExportError
from streid.export.metadata import read_onnx_meta
from streid.export.onnx_export import ExportResult, ort_session, set_metadata, temp_path
from streid.export.parity import ParityReport, cosines

CALIB_BATCH = 4
SYNTH = "synth"
TARGETS = ("tensorrt", "cpu")
KEEP_FLOAT = {"BatchNormalization", "MaxPool"}
"""BatchNormalization on a (B, D) vector has no channel axis to quantise per channel; MaxPool, see above."""


def calibration_clips(calib: str | Path, meta: dict[str, Any], count: int, seed: int = 1) -> np.ndarray:
    """``count`` calibration clips: ``synth`` renders the synthetic world (seed differs from parity's),
    a folder reads image tracklets (MARS layout, or folders of frames)."""
    from streid.export.clips import clips_from_dir, synthetic_clips

    shape = (meta["seq_len"], meta["height"], meta["width"])
    if str(calib) == SYNTH:
        return synthetic_clips(count, *shape, seed=seed, identities=max(8, 2 * count))[0]
    return clips_from_dir(calib, *shape, limit=count)


class ClipReader:
    """ONNX Runtime CalibrationDataReader over in-memory clips, ``CALIB_BATCH`` clips per step."""

    def __init__(self, clips: np.ndarray, input_name: str, batch: int = CALIB_BATCH) -> None:
        self.clips, self.input_name, self.batch = clips, input_name, batch
        self._iter: Iterator[dict[str, np.ndarray]] | None = None
        self.rewind()

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._iter, None)  # type: ignore[arg-type]

    def rewind(self) -> None:
        self._iter = ({self.input_name: self.clips[s:s + self.batch]} for s in range(0, len(self.clips), self.batch))


def quantize_int8(
    onnx_path: str | Path,
    out: str | Path | None = None,
    calib: str | Path = SYNTH,
    calib_clips: int = 32,
    parity_clips: np.ndarray | None = None,
    target: str = "tensorrt",
    eval_data: str | Path | None = None,
    max_map_drop: float = 1.0,
) -> ExportResult:
    """Write the INT8 QDQ artifact; returns it with its cosine to the FP32 model (per clip, batch 1 and 8).

    With ``eval_data`` (a synthetic-world ``reid/`` folder, MARS layout) both artifacts are also scored on its
    test split, and an INT8 model that loses more than ``max_map_drop`` mAP points is refused (nothing written):
    a cosine close to 1 does not guarantee the ranking survives when identities differ in small directions.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from streid.export.onnx_export import parity_clips as default_parity_clips

    onnx_path = Path(onnx_path)
    if target not in TARGETS:
        raise ValueError(f"INT8 target '{target}' (choices: {', '.join(TARGETS)})")
    meta = read_onnx_meta(onnx_path)
    if meta["precision"] != "fp32":
        raise ExportError(f"{onnx_path}: precision is {meta['precision']}; quantise the FP32 export")
    out = Path(out) if out is not None else onnx_path.with_name(onnx_path.stem + ".int8.onnx")
    clips = calibration_clips(calib, meta, calib_clips)
    reader_cls = type("StreidClipReader", (ClipReader, CalibrationDataReader), {})
    tmp = temp_path(out)
    with tempfile.TemporaryDirectory(prefix="streid-int8-") as work:
        prepped = Path(work) / "prepped.onnx"
        try:
            # shape inference + graph optimisation first, as ONNX Runtime recommends before quantising
            quant_pre_process(str(onnx_path), str(prepped), skip_symbolic_shape=True)
            prepped_graph = onnx.load(str(prepped))
            op_types = sorted({n.op_type for n in prepped_graph.graph.node} - KEEP_FLOAT)
            symmetric = target == "tensorrt"
            quantize_static(
                str(prepped), str(tmp), reader_cls(clips, "clips"), op_types_to_quantize=op_types,
                nodes_to_exclude=input_convs(prepped_graph) + residual_stream(prepped_graph),
                quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8, weight_type=QuantType.QInt8,
                calibration_providers=["CPUExecutionProvider"],
                # a Q/DQ pair per consumer lets ONNX Runtime fuse every conv (a shared DQ blocks the fusion)
                extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True, "DedicatedQDQPair": True},
            )
            graph = onnx.load(str(tmp))
            set_metadata(graph, {**meta, "precision": "int8", "quant_target": target})
            onnx.checker.check_model(graph)
            onnx.save(graph, str(tmp))
            if parity_clips is None:
                parity_clips = default_parity_clips(meta["seq_len"], meta["height"], meta["width"])
            report = int8_parity(onnx_path, tmp, parity_clips)
            retrieval = None
            if eval_data is not None:
                retrieval = retrieval_check(onnx_path, tmp, Path(eval_data))
                drop = 100 * (retrieval["fp32_mAP"] - retrieval["int8_mAP"])
                if drop > max_map_drop:
                    raise ExportError(
                        f"INT8 loses {drop:.2f} mAP points on {eval_data} (FP32 {100 * retrieval['fp32_mAP']:.2f}, "
                        f"INT8 {100 * retrieval['int8_mAP']:.2f}; limit {max_map_drop}): keep the FP32 artifact, "
                        "calibrate on more clips, or raise --max-map-drop"
                    )
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return ExportResult(out, {**meta, "precision": "int8", "quant_target": target}, report, retrieval)


class _OrtClips:
    """An ONNX re-id artifact as a clip embedder (uint8 BGR clips in), for ``evaluate_embedder``."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        import onnxruntime as ort

        self.meta = meta
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def embed(self, clips: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input: clips})[0]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def retrieval_check(fp32: Path, int8: Path, data_root: Path, protocol: str = "torchreid") -> dict[str, float]:
    """mAP of the FP32 and the INT8 artifact on a synthetic test split (torchreid protocol)."""
    from streid.train.data import read_dataset
    from streid.train.eval.artifact import evaluate_embedder

    meta = read_onnx_meta(fp32)
    dataset = read_dataset("synthetic", data_root)
    return {
        "fp32_mAP": float(evaluate_embedder(_OrtClips(fp32, meta), dataset, protocol)["mAP"]),
        "int8_mAP": float(evaluate_embedder(_OrtClips(int8, meta), dataset, protocol)["mAP"]),
    }


def input_convs(graph: Any) -> list[str]:
    """Names of the convolutions that read the 3 input colour channels, and of the constant offset each
    carries (``fold.FoldedInputConv``): kept float."""
    weights = {t.name: t for t in graph.graph.initializer}
    convs = [
        n for n in graph.graph.node
        if n.op_type == "Conv" and n.input[1] in weights and len(weights[n.input[1]].dims) > 1
        and weights[n.input[1]].dims[1] == 3
    ]
    outputs = {o for n in convs for o in n.output}
    offsets = [n for n in graph.graph.node
               if n.op_type == "Add" and n.input[0] in outputs and len(n.input) > 1 and n.input[1] in weights]
    return [n.name for n in (*convs, *offsets)]


def residual_stream(graph: Any) -> list[str]:
    """Names of the LayerNormalization nodes and of the Add/Concat nodes whose values flow into them
    through Add/Concat only (the transformer residual stream, class tokens, positional embeddings): kept
    float. A CNN without LayerNormalization has none."""
    nodes = graph.graph.node
    producer = {out: n for n in nodes for out in n.output}
    norms = [n for n in nodes if n.op_type == "LayerNormalization"]
    keep = {n.name for n in norms}
    frontier = [producer[n.input[0]] for n in norms if n.input[0] in producer]
    while frontier:
        node = frontier.pop()
        if node.op_type in ("Add", "Concat") and node.name not in keep:
            keep.add(node.name)
            frontier += [producer[i] for i in node.input if i in producer]
    return sorted(keep)


def int8_parity(fp32: Path, int8: Path, clips: np.ndarray) -> ParityReport:
    """Cosine of INT8 vs FP32 embeddings per clip, at batch 1 and at batch 8."""
    a, b = ort_session(fp32), ort_session(int8)
    report = ParityReport()
    for batch in (1, 8):
        n = len(clips) // batch * batch
        ref = np.concatenate([a.run(None, {"clips": clips[s:s + batch]})[0] for s in range(0, n, batch)])
        got = np.concatenate([b.run(None, {"clips": clips[s:s + batch]})[0] for s in range(0, n, batch)])
        report.min_cosine[batch] = float(cosines(got, ref).min())
    return report
