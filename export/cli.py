"""``streid export``: onnx, int8, engine, detector. Thin commands over the library functions.

Failures print one line on stderr and exit 1 (nothing is left under the output name); ``engine`` without
TensorRT (and ``detector --format engine`` without it) exits 3 after printing the equivalent ``trtexec`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

EXIT_FAILED = 1
EXIT_UNAVAILABLE = 3

export_app = typer.Typer(help="Export re-id models (ONNX, INT8, TensorRT) and the detector.", no_args_is_help=True)

T = TypeVar("T")


def _run(step: Callable[[], T]) -> T:
    """Run an export step; expected failures become one line on stderr and exit 1 (never a traceback)."""
    from streid.export.errors import ExportError, TensorRTUnavailable
    from streid.export.metadata import MetadataError
    from streid.train.checkpoint import CheckpointError

    try:
        return step()
    except TensorRTUnavailable:
        raise  # the engine command explains it (exit 3)
    except (ExportError, CheckpointError, MetadataError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"export failed: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None


@export_app.command("onnx")
def onnx_cmd(
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="STREID checkpoint (.pt)")] = None,
    image_model: Annotated[
        str | None, typer.Option("--image-model", help="instead of a checkpoint: image re-id architecture of "
                                                       "--weights, e.g. osnet_x0_25 (frames averaged over the clip)")
    ] = None,
    weights: Annotated[Path | None, typer.Option("--weights", help="torchreid state dict for --image-model")] = None,
    height: Annotated[int, typer.Option("--height", min=32, help="--image-model: crop height")] = 256,
    width: Annotated[int, typer.Option("--width", min=32, help="--image-model: crop width")] = 128,
    trained_on: Annotated[
        str, typer.Option("--trained-on", help="--image-model: what the weights learned from (synthetic, real, "
                                               "unknown); recorded in the artifact")
    ] = "unknown",
    out: Annotated[Path | None, typer.Option("--out", help="output .onnx (default: next to the checkpoint)")] = None,
    opset: Annotated[int, typer.Option("--opset", min=17, help="ONNX opset (>= 17)")] = 17,
    batch_dynamic: Annotated[
        bool, typer.Option("--batch-dynamic/--batch-static", help="dynamic batch axis (static: batch 1)")
    ] = True,
    seq_len: Annotated[
        int | None, typer.Option("--seq-len", min=1, help="clip length L of the artifact (default: the training L; "
                                                          "8 for --image-model)")
    ] = None,
    calibrate_data: Annotated[
        Path | None, typer.Option("--calibrate-data", help="also fit the matching thresholds on this synthetic "
                                                           "site (scenes with gt/) or MARS-layout folder")
    ] = None,
    flip: Annotated[
        bool, typer.Option("--flip/--no-flip", help="average each embedding with the mirrored clip's, inside the "
                                                    "graph (flip test: more accurate, twice the compute)")
    ] = False,
) -> None:
    """Checkpoint (or image re-id weights) -> ONNX (uint8 BGR clips in, embedding out), checked against PyTorch."""
    from streid.export.metadata import TRAINED_ON

    if calibrate_data is not None and not calibrate_data.is_dir():
        typer.echo(f"export failed: --calibrate-data {calibrate_data}: not a folder", err=True)
        raise typer.Exit(EXIT_FAILED)
    if (checkpoint is None) == (image_model is None):
        raise typer.BadParameter("give --checkpoint, or --image-model with --weights", param_hint="--checkpoint")
    if image_model is not None and weights is None:
        raise typer.BadParameter("--image-model needs --weights FILE (torchreid state dict)", param_hint="--weights")
    if trained_on not in TRAINED_ON:
        raise typer.BadParameter(f"'{trained_on}' (choices: {', '.join(TRAINED_ON)})", param_hint="--trained-on")
    if checkpoint is not None:
        from streid.export.onnx_export import export_onnx

        result = _run(lambda: export_onnx(checkpoint, out, opset=opset, batch_dynamic=batch_dynamic,
                                          seq_len=seq_len, flip=flip))
    else:
        from streid.export.image_model import export_image_model

        result = _run(lambda: export_image_model(
            image_model, weights, out, seq_len or 8, height, width,  # type: ignore[arg-type]
            trained_on=trained_on, opset=opset, batch_dynamic=batch_dynamic, flip=flip))
    _report(result.path, result.meta, f"parity vs PyTorch: {result.parity.line()}")
    if calibrate_data is not None:
        from streid.calibrate import calibrate_artifact

        cal, _ = _run(lambda: calibrate_artifact(result.path, calibrate_data))
        typer.echo(f"calibration: {cal.line()}")


@export_app.command("int8")
def int8_cmd(
    onnx: Annotated[Path, typer.Option("--onnx", help="FP32 ONNX artifact from `streid export onnx`")],
    calib: Annotated[
        str, typer.Option("--calib", help="'synth' (render the synthetic world) or a folder of image tracklets")
    ] = "synth",
    clips: Annotated[int, typer.Option("--clips", min=1, help="calibration clips")] = 32,
    target: Annotated[
        str, typer.Option("--target", help="tensorrt: symmetric, runs on TensorRT and ORT; cpu: ORT CPU fast path")
    ] = "tensorrt",
    out: Annotated[Path | None, typer.Option("--out", help="output (default: NAME.int8.onnx)")] = None,
    eval_data: Annotated[
        Path | None, typer.Option("--eval-data", help="synthetic reid/ folder: FP32 vs INT8 mAP on its test split")
    ] = None,
    max_map_drop: Annotated[
        float, typer.Option("--max-map-drop", help="with --eval-data: refuse an INT8 model losing more mAP points")
    ] = 1.0,
) -> None:
    """FP32 ONNX -> INT8 QDQ ONNX (static, per-channel), calibrated on real clips."""
    from streid.export.int8 import quantize_int8

    result = _run(lambda: quantize_int8(onnx, out, calib=calib, calib_clips=clips, target=target,
                                        eval_data=eval_data, max_map_drop=max_map_drop))
    _report(result.path, result.meta, f"parity vs FP32 (reported, no bar for INT8): {result.parity.line()}")
    if result.retrieval:
        r = result.retrieval
        typer.echo(f"mAP on {eval_data}: FP32 {100 * r['fp32_mAP']:.2f}, INT8 {100 * r['int8_mAP']:.2f} "
                   f"({100 * (r['int8_mAP'] - r['fp32_mAP']):+.2f})")


@export_app.command("engine")
def engine_cmd(
    onnx: Annotated[Path, typer.Option("--onnx", help="ONNX artifact (FP32, or INT8 QDQ)")],
    fp16: Annotated[bool, typer.Option("--fp16", help="allow FP16 kernels")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="INT8 (explicit, from a QDQ artifact)")] = False,
    batch: Annotated[str, typer.Option("--batch", help="optimisation profile MIN:OPT:MAX")] = "1:8:32",
    workspace_mb: Annotated[int, typer.Option("--workspace-mb", min=1, help="builder workspace limit")] = 1024,
    dla_core: Annotated[int | None, typer.Option("--dla-core", min=0, help="Jetson DLA core")] = None,
    timing_cache: Annotated[Path | None, typer.Option("--timing-cache", help="read and update this cache")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="output .engine")] = None,
) -> None:
    """ONNX -> TensorRT engine + ENGINE.json; without TensorRT, prints the trtexec line and exits 3."""
    from streid.export.errors import TensorRTUnavailable
    from streid.export.tensorrt import EngineSpec, build_engine, parse_batch

    spec = _run(lambda: EngineSpec(parse_batch(batch), fp16, int8, workspace_mb, dla_core, timing_cache))
    try:
        path = _run(lambda: build_engine(onnx, spec, out))
    except TensorRTUnavailable as exc:
        typer.echo(f"TensorRT not available: {exc}", err=True)
        typer.echo("equivalent command on the device:", err=True)
        typer.echo(exc.trtexec_line)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    typer.echo(f"wrote {path} and {path.name}.json")


@export_app.command("detector")
def detector_cmd(
    weights: Annotated[Path, typer.Option("--weights", help="ultralytics YOLO weights (.pt)")],
    fmt: Annotated[str, typer.Option("--format", help="onnx or engine")] = "onnx",
    imgsz: Annotated[
        int | None, typer.Option("--imgsz", min=32, help="input size (default: the size it was trained at)")
    ] = None,
    half: Annotated[bool, typer.Option("--half", help="FP16")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="INT8, calibrated on --data")] = False,
    dynamic: Annotated[
        bool, typer.Option("--dynamic/--static", help="dynamic batch axis (the pipeline batches cameras)")
    ] = True,
    batch: Annotated[int, typer.Option("--batch", min=1, help="largest engine batch; INT8 calibration batch")] = 8,
    data: Annotated[
        Path | None, typer.Option("--data", help="YOLO data.yaml for INT8 calibration (default: the training set)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Person detector -> ONNX / engine through ultralytics' exporter, offline, checked against PyTorch."""
    from streid.export.detector import export_detector
    from streid.export.errors import TensorRTUnavailable

    try:
        result = _run(lambda: export_detector(weights, out, fmt=fmt, imgsz=imgsz, half=half, int8=int8,
                                              dynamic=dynamic, batch=batch, data=data))
    except TensorRTUnavailable as exc:
        typer.echo(f"TensorRT not available: {exc}", err=True)
        typer.echo("equivalent command on the device:", err=True)
        typer.echo(exc.trtexec_line)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    typer.echo(f"wrote {result.path}: {result.fmt} {result.precision} imgsz {result.imgsz} "
               f"{'dynamic batch' if result.dynamic else 'batch 1'}, classes {result.names}")
    if result.parity is not None:
        typer.echo(result.parity.line())


def _report(path: Path, meta: dict[str, Any], parity: str) -> None:
    typer.echo(
        f"wrote {path}: {meta['model']} L={meta['seq_len']} {meta['height']}x{meta['width']} "
        f"D={meta['embedding_dim']} {meta['precision']}, trained on {meta.get('trained_on', 'unknown')}"
        f"{', flip-averaged' if meta.get('flip_average') else ''}"
    )
    typer.echo(parity)
