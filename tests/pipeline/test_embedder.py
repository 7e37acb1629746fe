"""Embedder backends: chosen from the artifact kind, model from metadata, uint8 BGR clips in, unit vectors out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from streid.export.metadata import MetadataError
from streid.pipeline.embedder import Embedder, load_embedder, ort_providers
from tests.export.conftest import HEIGHT, SEQ_LEN, SMALL, WIDTH, model_available, write_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_available("nl3d")
    return write_checkpoint(tmp_path_factory.mktemp("emb") / "small.pt", SMALL["nl3d"])


def test_torch_backend_from_checkpoint(checkpoint: Path) -> None:
    embedder = load_embedder(checkpoint, device="cpu")
    assert isinstance(embedder, Embedder) and embedder.backend == "torch"
    assert {k: embedder.meta[k] for k in ("model", "seq_len", "height", "width", "precision")} == {
        "model": "nl3d", "seq_len": SEQ_LEN, "height": HEIGHT, "width": WIDTH, "precision": "fp32"}
    embedder.max_batch = 3  # 7 clips go through in chunks of 3 and come back in order
    clips = np.random.default_rng(1).integers(0, 256, (7, SEQ_LEN, HEIGHT, WIDTH, 3), dtype=np.uint8)
    chunked = embedder.embed(clips)
    embedder.max_batch = 32
    whole = embedder.embed(clips)
    assert chunked.shape == (7, embedder.meta["embedding_dim"]) and chunked.dtype == np.float32
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)
    assert embedder.embed(clips[:0]).shape == (0, embedder.meta["embedding_dim"])


def test_wrong_clip_shape_or_dtype_is_refused(checkpoint: Path) -> None:
    embedder = load_embedder(checkpoint, device="cpu")
    with pytest.raises(ValueError, match=r"uint8 BGR clips \(N, 4, 64, 32, 3\)"):
        embedder.embed(np.zeros((1, SEQ_LEN, HEIGHT, WIDTH, 3), np.float32))
    with pytest.raises(ValueError, match="got uint8"):
        embedder.embed(np.zeros((1, SEQ_LEN + 1, HEIGHT, WIDTH, 3), np.uint8))


def test_unknown_kind_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="re-id artifact not found"):
        load_embedder(tmp_path / "absent.onnx")
    (tmp_path / "model.tflite").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"unknown artifact kind '\.tflite'"):
        load_embedder(tmp_path / "model.tflite")


def test_engine_without_metadata_sidecar(tmp_path: Path) -> None:
    (tmp_path / "m.engine").write_bytes(b"\0" * 16)
    with pytest.raises(MetadataError, match=r"no m\.engine\.json"):
        load_embedder(tmp_path / "m.engine")
    (tmp_path / "m.engine.json").write_text(json.dumps({"model": "nl3d"}))
    with pytest.raises(MetadataError, match="incomplete STREID metadata"):
        load_embedder(tmp_path / "m.engine")


@pytest.mark.parametrize(
    ("device", "available", "expected"),
    [
        ("auto", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("auto", ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
         ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]),
        ("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    ],
)
def test_ort_providers(device: str, available: list[str], expected: list[str]) -> None:
    assert ort_providers(device, available) == expected


def test_cuda_asked_without_cuda_fails() -> None:
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        ort_providers("cuda", ["CPUExecutionProvider"])
    with pytest.raises(ValueError, match="choices"):
        ort_providers("tpu", ["CPUExecutionProvider"])
