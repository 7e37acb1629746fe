"""`streid export int8`: a QDQ model ONNX Runtime runs, metadata carried over, cosine to FP32 reported."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from streid.cli import app
from streid.export.clips import clips_from_dir
from streid.export.errors import ExportError
from streid.export.int8 import quantize_int8
from streid.pipeline.embedder import load_embedder
from tests.export.conftest import HEIGHT, SEQ_LEN, WIDTH


@pytest.mark.parametrize("name", ["nl3d", "stt_gt"])
def test_int8_qdq_runs_close_to_fp32(exported, tmp_path: Path, name: str) -> None:
    _, fp32 = exported(name)
    result = quantize_int8(fp32.path, tmp_path / "m.int8.onnx", calib_clips=8)
    graph = onnx.load(str(result.path))
    ops = Counter(node.op_type for node in graph.graph.node)
    assert ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > ops["QuantizeLinear"]  # weights + activations
    zero_points = [t for t in graph.graph.initializer if t.name.endswith("_zero_point")]
    assert zero_points and all(not onnx.numpy_helper.to_array(t).any() for t in zero_points)  # symmetric (TensorRT)
    embedder = load_embedder(result.path, device="cpu")
    assert embedder.meta["precision"] == "int8" and embedder.meta["model"] == name
    assert set(result.parity.min_cosine) == {1, 8}
    assert result.parity.worst > 0.95, result.parity.line()
    reference = load_embedder(fp32.path, device="cpu")
    from streid.export.clips import synthetic_clips

    clips = synthetic_clips(4, SEQ_LEN, HEIGHT, WIDTH, seed=7)[0]
    assert np.min(np.sum(embedder.embed(clips) * reference.embed(clips), axis=1)) > 0.95


def test_int8_cpu_target_uint8_activations_and_engine_refuses_it(exported, tmp_path: Path) -> None:
    from streid.export.tensorrt import EngineSpec, build_engine

    _, fp32 = exported("nl3d")
    result = quantize_int8(fp32.path, tmp_path / "m.cpu.int8.onnx", calib_clips=4, target="cpu")
    graph = onnx.load(str(result.path))
    activation_zero_points = [t for t in graph.graph.initializer
                              if t.name.endswith("_zero_point") and t.data_type == onnx.TensorProto.UINT8]
    assert activation_zero_points  # asymmetric uint8 activations: ONNX Runtime's fast CPU path
    first = next(n for n in graph.graph.node if n.op_type == "Conv")  # the input conv stays float
    assert not any("DequantizeLinear" in i for i in first.input[1:2])
    assert load_embedder(result.path).meta["quant_target"] == "cpu"
    assert result.parity.worst > 0.95, result.parity.line()
    with pytest.raises(ExportError, match="--target tensorrt"):
        build_engine(result.path, EngineSpec())


def test_int8_refuses_an_int8_input(exported, tmp_path: Path) -> None:
    _, fp32 = exported("nl3d")
    once = quantize_int8(fp32.path, tmp_path / "a.int8.onnx", calib_clips=4)
    with pytest.raises(ExportError, match="precision is int8"):
        quantize_int8(once.path, tmp_path / "b.int8.onnx")
    assert not (tmp_path / "b.int8.onnx").exists()


def write_tracklets(root: Path, count: int, frames: int) -> None:
    rng = np.random.default_rng(0)
    for t in range(count):
        folder = root / "bbox_test" / f"{t:04d}"
        folder.mkdir(parents=True)
        for f in range(frames):
            cv2.imwrite(str(folder / f"{t:04d}C1T0001F{f + 1:03d}.jpg"), rng.integers(0, 256, (80, 40, 3), np.uint8))


def test_calibration_from_a_folder_via_cli(exported, tmp_path: Path) -> None:
    _, fp32 = exported("nl3d")
    write_tracklets(tmp_path / "calib", count=3, frames=6)
    clips = clips_from_dir(tmp_path / "calib", SEQ_LEN, HEIGHT, WIDTH)
    assert clips.shape == (3, SEQ_LEN, HEIGHT, WIDTH, 3) and clips.dtype == np.uint8
    out = tmp_path / "m.int8.onnx"
    args = ["export", "int8", "--onnx", str(fp32.path), "--calib", str(tmp_path / "calib"), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "parity vs FP32" in result.output and out.is_file()


def test_empty_calibration_folder_fails_clearly(exported, tmp_path: Path) -> None:
    _, fp32 = exported("nl3d")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "m.int8.onnx"
    result = CliRunner().invoke(app, ["export", "int8", "--onnx", str(fp32.path), "--calib", str(tmp_path / "empty"),
                                      "--out", str(out)])
    assert result.exit_code == 1 and "no images" in result.output and not out.exists()


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reid/ folder of a tiny synthetic world at the artifacts' crop size."""
    from streid.config import load_config
    from streid.train.synth.build import synthesize

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs/synth/tiny.yaml",
                      [f"synth.reid.height={HEIGHT}", f"synth.reid.width={WIDTH}"])
    out = tmp_path_factory.mktemp("world")
    synthesize(cfg.synth, 3, out, parts=["reid"])
    return out / "reid"


def test_retrieval_check_scores_each_artifact_itself(exported, tiny_world: Path) -> None:
    """Each mAP comes from its own file: two different models swapped give the two scores swapped."""
    from streid.export.int8 import retrieval_check

    _, a = exported("nl3d")
    _, b = exported("stt_gt")
    ab, ba = retrieval_check(a.path, b.path, tiny_world), retrieval_check(b.path, a.path, tiny_world)
    assert ab["fp32_mAP"] != ab["int8_mAP"]  # two untrained models rank the tiny world differently
    assert (ab["fp32_mAP"], ab["int8_mAP"]) == (ba["int8_mAP"], ba["fp32_mAP"])


def test_int8_retrieval_check_scores_both_and_refuses_a_drop(exported, tiny_world: Path, tmp_path: Path) -> None:
    """--eval-data scores FP32 and INT8 on a real synthetic test split; over --max-map-drop nothing is written."""
    from streid.export.int8 import _OrtClips, read_onnx_meta
    from streid.train.data import read_dataset
    from streid.train.eval.artifact import evaluate_embedder

    _, fp32 = exported("nl3d")
    kept = quantize_int8(fp32.path, tmp_path / "kept.int8.onnx", calib_clips=8, eval_data=tiny_world,
                         max_map_drop=100.0)
    dataset, meta = read_dataset("synthetic", tiny_world), read_onnx_meta(fp32.path)
    for key, path in (("fp32_mAP", fp32.path), ("int8_mAP", kept.path)):  # the scores of those two files
        assert kept.retrieval[key] == pytest.approx(evaluate_embedder(_OrtClips(path, meta), dataset)["mAP"]), key
    drop = 100 * (kept.retrieval["fp32_mAP"] - kept.retrieval["int8_mAP"])

    out = tmp_path / "m.int8.onnx"
    base = ["export", "int8", "--onnx", str(fp32.path), "--clips", "8", "--out", str(out),
            "--eval-data", str(tiny_world)]
    result = CliRunner().invoke(app, [*base, "--max-map-drop", f"{drop + 0.01:.4f}"])  # just within the limit
    assert result.exit_code == 0, result.output
    assert f"FP32 {100 * kept.retrieval['fp32_mAP']:.2f}, INT8 {100 * kept.retrieval['int8_mAP']:.2f}" in result.output
    assert out.is_file()
    out.unlink()
    result = CliRunner().invoke(app, [*base, "--max-map-drop", f"{drop - 0.01:.4f}"])  # just over it: refused
    assert result.exit_code == 1 and f"INT8 loses {drop:.2f} mAP points" in result.output and not out.exists()
    assert not list(tmp_path.glob(".m.int8*"))  # no temporary left behind
