"""`streid export engine`: the trtexec line, the TensorRT-absent path (exit 3), and a real build on a GPU box."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streid.cli import app
from streid.export.tensorrt import EngineSpec, build_engine, engine_paths, parse_batch, trtexec_line

HAS_TRT = importlib.util.find_spec("tensorrt") is not None
META = {"seq_len": 4, "height": 64, "width": 32, "precision": "fp32"}


def test_trtexec_line_carries_every_setting() -> None:
    spec = EngineSpec((1, 8, 32), fp16=True, int8=True, workspace_mb=2048, dla_core=0, timing_cache=Path("t.cache"))
    line = trtexec_line(Path("m.onnx"), Path("m.engine"), META, spec)
    for part in ("trtexec", "--onnx=m.onnx", "--saveEngine=m.engine", "--minShapes=clips:1x4x64x32x3",
                 "--optShapes=clips:8x4x64x32x3", "--maxShapes=clips:32x4x64x32x3", "--fp16", "--int8",
                 "--memPoolSize=workspace:2048M", "--useDLACore=0", "--allowGPUFallback", "--timingCacheFile=t.cache"):
        assert part in line.split(), part
    plain = trtexec_line(Path("m.onnx"), Path("m.engine"), META, EngineSpec())
    assert "--fp16" not in plain and "--int8" not in plain and "DLA" not in plain


@pytest.mark.parametrize(("text", "expected"), [("1:8:32", (1, 8, 32)), ("4", (4, 4, 4))])
def test_parse_batch(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_batch(text) == expected


@pytest.mark.parametrize("text", ["1:8", "a:b:c", "8:1:32"])
def test_bad_batch_profiles(text: str) -> None:
    with pytest.raises(ValueError, match="batch"):
        EngineSpec(parse_batch(text))


def test_engine_names_say_the_precision() -> None:
    assert engine_paths(Path("m.int8.onnx"), None, EngineSpec(int8=True))[0] == Path("m.int8.engine")
    engine, sidecar = engine_paths(Path("m.onnx"), None, EngineSpec(fp16=True))
    assert (engine, sidecar) == (Path("m.fp16.engine"), Path("m.fp16.engine.json"))


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed: the real build test covers it")
def test_engine_without_tensorrt_exits_3_with_trtexec_line(exported, tmp_path: Path) -> None:
    _, fp32 = exported("nl3d")
    result = CliRunner().invoke(app, ["export", "engine", "--onnx", str(fp32.path), "--fp16", "--batch", "1:8:32",
                                      "--out", str(tmp_path / "m.engine")])
    assert result.exit_code == 3
    assert "TensorRT not available" in result.output
    expected = f"trtexec --onnx={fp32.path} --saveEngine={tmp_path / 'm.engine'} --minShapes=clips:1x4x64x32x3"
    assert expected in result.output
    assert not (tmp_path / "m.engine").exists()


def test_engine_needs_streid_metadata(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "engine", "--onnx", str(tmp_path / "absent.onnx")])
    assert result.exit_code == 1 and "not found" in result.output


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TRT, reason="TensorRT is not installed")
def test_real_engine_build_and_run(exported, tmp_path: Path) -> None:
    import numpy as np

    from streid.pipeline.embedder import load_embedder

    _, fp32 = exported("nl3d")
    engine = build_engine(fp32.path, EngineSpec((1, 4, 8), fp16=True, timing_cache=tmp_path / "t.cache"),
                          tmp_path / "m.engine")
    meta = json.loads((tmp_path / "m.engine.json").read_text())
    assert meta["model"] == "nl3d" and meta["max_batch"] == 8 and (tmp_path / "t.cache").is_file()
    trt_embedder, ort_embedder = load_embedder(engine), load_embedder(fp32.path, device="cpu")
    clips = np.random.default_rng(0).integers(0, 256, (9, 4, 64, 32, 3), dtype=np.uint8)  # > max batch: chunked
    assert np.min(np.sum(trt_embedder.embed(clips) * ort_embedder.embed(clips), axis=1)) > 0.999
