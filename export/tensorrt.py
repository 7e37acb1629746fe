"""ONNX artifact -> TensorRT engine (TensorRT Python API), plus ``ENGINE.json`` with the same metadata.

One optimisation profile spans min/opt/max batch (engines that reject batch > 1 are a classic failure);
L, H and W are fixed by the artifact. A timing cache makes rebuilds fast; DLA is for Jetson. Where the
``tensorrt`` package is absent (CPU boxes) ``build_engine`` raises ``TensorRTUnavailable`` carrying the
equivalent ``trtexec`` line to run on the device. INT8 comes from a QDQ artifact (explicit quantisation).
Input is uint8 (preprocessing in the graph): TensorRT >= 8.6 takes uint8 network inputs.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streid.export.errors import ExportError, TensorRTUnavailable
from streid.export.metadata import INPUT_NAME


@dataclass(frozen=True)
class EngineSpec:
    """What to build: batch profile, precision flags, workspace, DLA core and timing cache."""

    batch: tuple[int, int, int] = (1, 8, 32)
    fp16: bool = False
    int8: bool = False
    workspace_mb: int = 1024
    dla_core: int | None = None
    timing_cache: Path | None = None

    def __post_init__(self) -> None:
        lo, opt, hi = self.batch
        if not 1 <= lo <= opt <= hi:
            raise ValueError(f"batch profile {lo}:{opt}:{hi} must satisfy 1 <= min <= opt <= max")
        if self.workspace_mb < 1:
            raise ValueError(f"workspace {self.workspace_mb} MiB must be >= 1")


def parse_batch(text: str) -> tuple[int, int, int]:
    """'1:8:32' -> (1, 8, 32); a single number means a fixed batch."""
    try:
        values = [int(v) for v in text.split(":")]
    except ValueError:
        raise ValueError(f"--batch '{text}': expected MIN:OPT:MAX integers, e.g. 1:8:32") from None
    if len(values) == 1:
        values = values * 3
    if len(values) != 3:
        raise ValueError(f"--batch '{text}': expected MIN:OPT:MAX, e.g. 1:8:32")
    return values[0], values[1], values[2]


def engine_paths(onnx_path: Path, out: Path | None, spec: EngineSpec) -> tuple[Path, Path]:
    """(ENGINE, ENGINE.json); the default name says the precision, e.g. ``m.fp16.engine``."""
    if out is None:
        tag = "int8" if spec.int8 else "fp16" if spec.fp16 else "fp32"
        out = onnx_path.with_name(f"{onnx_path.stem.removesuffix('.int8')}.{tag}.engine")
    return out, out.with_name(out.name + ".json")


def trtexec_line(onnx_path: Path, engine: Path, meta: dict[str, Any], spec: EngineSpec) -> str:
    """The ``trtexec`` command that builds the same engine on a device with TensorRT."""
    shape = f"{meta['seq_len']}x{meta['height']}x{meta['width']}x3"
    lo, opt, hi = spec.batch
    args = [
        "trtexec",
        f"--onnx={onnx_path}",
        f"--saveEngine={engine}",
        f"--minShapes={INPUT_NAME}:{lo}x{shape}",
        f"--optShapes={INPUT_NAME}:{opt}x{shape}",
        f"--maxShapes={INPUT_NAME}:{hi}x{shape}",
        f"--memPoolSize=workspace:{spec.workspace_mb}M",
    ]
    if spec.fp16:
        args.append("--fp16")
    if spec.int8:
        args.append("--int8")
    if spec.dla_core is not None:
        args += [f"--useDLACore={spec.dla_core}", "--allowGPUFallback"]
    if spec.timing_cache is not None:
        args.append(f"--timingCacheFile={spec.timing_cache}")
    return shlex.join(args)


def engine_meta(meta: dict[str, Any], spec: EngineSpec, trt_version: str) -> dict[str, Any]:
    """The artifact metadata for ``ENGINE.json``: the ONNX one, with the engine's precision and batch range."""
    precision = "int8" if spec.int8 or meta["precision"] == "int8" else "fp16" if spec.fp16 else "fp32"
    lo, opt, hi = spec.batch
    return {**meta, "precision": precision, "min_batch": lo, "opt_batch": opt, "max_batch": hi,
            "tensorrt": trt_version, "dla_core": spec.dla_core}


def build_engine(onnx_path: str | Path, spec: EngineSpec, out: str | Path | None = None) -> Path:
    """Build and write the engine and its JSON (temp + rename); raises, never returns a partial result."""
    from streid.export.int8 import read_onnx_meta

    onnx_path = Path(onnx_path)
    meta = read_onnx_meta(onnx_path)
    if meta.get("quant_target") == "cpu":
        raise ExportError(f"{onnx_path}: INT8 made for ONNX Runtime on CPU (uint8 activations); TensorRT needs "
                          "`streid export int8 --target tensorrt` (symmetric), or the FP32 file")
    spec = EngineSpec(spec.batch, spec.fp16, spec.int8 or meta["precision"] == "int8", spec.workspace_mb,
                      spec.dla_core, spec.timing_cache)  # a QDQ artifact needs the INT8 flag
    engine, sidecar = engine_paths(onnx_path, Path(out) if out is not None else None, spec)
    try:
        import tensorrt as trt
    except ImportError:
        raise TensorRTUnavailable(
            "TensorRT's Python package is not installed here (it comes with JetPack on Jetson, or from "
            "NVIDIA's index on x86 GPU boxes); run this on the device instead",
            trtexec_line(onnx_path, engine, meta, spec),
        ) from None
    blob = _build(trt, onnx_path, meta, spec)
    _write_atomic(engine, blob)
    _write_atomic(sidecar, json.dumps(engine_meta(meta, spec, trt.__version__), indent=2, sort_keys=True).encode())
    return engine


def _build(trt: Any, onnx_path: Path, meta: dict[str, Any], spec: EngineSpec) -> bytes:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    explicit = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    flags = 0 if int(trt.__version__.split(".")[0]) >= 10 else explicit  # TensorRT 10: always explicit batch
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"{onnx_path}: TensorRT cannot parse the ONNX graph: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, spec.workspace_mb << 20)
    if spec.fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if spec.int8:
        config.set_flag(trt.BuilderFlag.INT8)  # scales come from the QDQ nodes (explicit quantisation)
    if spec.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = spec.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    shape = (meta["seq_len"], meta["height"], meta["width"], 3)
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT_NAME, *[(b, *shape) for b in spec.batch])
    config.add_optimization_profile(profile)
    cache_bytes = spec.timing_cache.read_bytes() if spec.timing_cache and spec.timing_cache.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportError(f"{onnx_path}: TensorRT failed to build the engine (see the TensorRT log above)")
    if spec.timing_cache is not None:
        _write_atomic(spec.timing_cache, bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
