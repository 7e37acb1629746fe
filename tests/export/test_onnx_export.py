"""`streid export onnx`: both models, parity, metadata, dynamic batch, and failures that leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from typer.testing import CliRunner

from streid.cli import app
from streid.export.checkpoint import CheckpointError, load_checkpoint
from streid.export.errors import ExportError, ParityError
from streid.export.metadata import MetadataError
from streid.export.onnx_export import export_onnx
from streid.pipeline.embedder import load_embedder
from tests.export.conftest import HEIGHT, SEQ_LEN, SMALL, WIDTH, model_available, write_checkpoint


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".onnx" or ".tmp" in p.name)


@pytest.mark.parametrize("name", ["nl3d", "stt_gt"])
def test_export_parity_metadata_and_dynamic_batch(exported, name: str) -> None:
    ckpt, result = exported(name)
    assert result.parity.min_cosine.keys() == {1, 8}
    assert result.parity.worst >= 0.9999
    graph = onnx.load(str(result.path))
    props = {p.key: p.value for p in graph.metadata_props}
    assert props["streid.model"] == name
    assert props["streid.seq_len"] == str(SEQ_LEN) and props["streid.pixel_format"] == "BGR uint8 NLHWC"
    assert graph.opset_import[0].version >= 17
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert leftovers(result.path.parent) == ["model.onnx"]  # no temp file left beside it

    embedder = load_embedder(result.path, device="cpu")
    assert embedder.meta["model"] == name and embedder.meta["precision"] == "fp32"
    assert (embedder.meta["seq_len"], embedder.meta["height"], embedder.meta["width"]) == (SEQ_LEN, HEIGHT, WIDTH)
    assert embedder.meta["config"]["name"] == name
    assert embedder.meta["trained_on"] == "unknown"  # the test checkpoint names no data format
    reference = load_embedder(ckpt)  # torch backend, same preprocessing path as training
    rng = np.random.default_rng(0)
    for batch in (1, 8):
        clips = rng.integers(0, 256, (batch, SEQ_LEN, HEIGHT, WIDTH, 3), dtype=np.uint8)
        got = embedder.embed(clips)
        assert got.shape == (batch, embedder.meta["embedding_dim"]) and got.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert np.min(np.sum(got * reference.embed(clips), axis=1)) >= 0.9999


def test_trained_on_follows_the_training_data() -> None:
    from streid.export.onnx_export import trained_on

    assert trained_on({"data": {"format": "synthetic"}}) == "synthetic"
    assert trained_on({"data": {"format": "mars"}}) == "real"
    assert trained_on({"model": {}}) == "unknown"


def test_bgr_order_matters_in_the_graph(exported) -> None:
    """Preprocessing is inside the graph: swapping channels changes the embedding (the input is read as BGR)."""
    _, result = exported("nl3d")
    embedder = load_embedder(result.path, device="cpu")
    from streid.export.clips import synthetic_clips

    clips = synthetic_clips(2, SEQ_LEN, HEIGHT, WIDTH)[0]
    a, b = embedder.embed(clips), embedder.embed(np.ascontiguousarray(clips[..., ::-1]))
    assert np.min(np.sum(a * b, axis=1)) < 0.9999


def test_cli_export_reports_parity(tmp_path: Path) -> None:
    model_available("nl3d")
    ckpt = write_checkpoint(tmp_path / "c.pt", SMALL["nl3d"])
    result = CliRunner().invoke(app, ["export", "onnx", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "min cosine" in result.output and (tmp_path / "m.onnx").is_file()


def test_flip_averaged_export_is_mirror_invariant_and_says_so(exported, tmp_path: Path) -> None:
    """``--flip``: the graph averages each clip with its mirror, so a clip and its mirror embed alike (exactly, up
    to float rounding) where the plain artifact tells them apart; the metadata and the CLI line say so."""
    ckpt, plain = exported("nl3d")
    result = CliRunner().invoke(app, ["export", "onnx", "--checkpoint", str(ckpt), "--out", str(tmp_path / "f.onnx"),
                                      "--flip"])
    assert result.exit_code == 0, result.output
    assert "flip-averaged" in result.output and "min cosine" in result.output
    flipped, unflipped = load_embedder(tmp_path / "f.onnx", device="cpu"), load_embedder(plain.path, device="cpu")
    assert flipped.meta["flip_average"] is True and unflipped.meta["flip_average"] is False
    from streid.export.clips import synthetic_clips

    clips = synthetic_clips(4, SEQ_LEN, HEIGHT, WIDTH)[0]
    mirrored = np.ascontiguousarray(clips[:, :, :, ::-1])
    same = np.sum(flipped.embed(clips) * flipped.embed(mirrored), axis=1)
    assert same.min() > 0.99999
    assert np.sum(unflipped.embed(clips) * unflipped.embed(mirrored), axis=1).min() < 0.9999
    a, b = unflipped.embed(clips), unflipped.embed(mirrored)
    expected = (a + b) / np.linalg.norm(a + b, axis=1, keepdims=True)  # the mean of the two plain embeddings
    assert np.sum(expected * flipped.embed(clips), axis=1).min() > 0.9999


def test_truncated_checkpoint_fails_clearly(tmp_path: Path) -> None:
    model_available("nl3d")
    ckpt = write_checkpoint(tmp_path / "c.pt", SMALL["nl3d"])
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"c\.pt: not a readable torch checkpoint"):
        export_onnx(ckpt, tmp_path / "m.onnx")
    result = CliRunner().invoke(app, ["export", "onnx", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 1 and "truncated or corrupt" in result.output
    assert leftovers(tmp_path) == []


def test_mismatched_checkpoint_fails_clearly(tmp_path: Path) -> None:
    model_available("nl3d")
    wider = {**SMALL["nl3d"], "width": 0.5}
    ckpt = write_checkpoint(tmp_path / "c.pt", SMALL["nl3d"], state_from=wider)
    with pytest.raises(CheckpointError, match=r"weights do not match the model its config builds: \d+ weight\(s\)"):
        export_onnx(ckpt, tmp_path / "m.onnx")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"model": {}, "num_classes": 2}, "not a STREID checkpoint"),
        ({"format": "streid-checkpoint", "version": 1, "config": {"model": {"name": "nope"}}, "model": {},
          "num_classes": 2}, "config model"),
    ],
)
def test_foreign_checkpoints_fail_clearly(tmp_path: Path, payload: dict, message: str) -> None:
    torch.save(payload, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "c.pt")


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        export_onnx(tmp_path / "absent.pt")


def test_failed_parity_fails_loudly_and_leaves_nothing(tmp_path: Path) -> None:
    model_available("nl3d")
    ckpt = write_checkpoint(tmp_path / "c.pt", SMALL["nl3d"])
    with pytest.raises(ParityError, match="disagrees with PyTorch"):
        export_onnx(ckpt, tmp_path / "m.onnx", tolerance=1.5)
    assert leftovers(tmp_path) == []


def test_old_opset_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="opset >= 17"):
        export_onnx(tmp_path / "c.pt", opset=13)


def test_onnx_without_metadata_is_rejected(exported, tmp_path: Path) -> None:
    _, result = exported("nl3d")
    graph = onnx.load(str(result.path))
    del graph.metadata_props[:]
    bare = tmp_path / "osnet_x1_0_market.onnx"  # a name that "says" a model: it must not matter
    onnx.save(graph, str(bare))
    with pytest.raises(MetadataError, match="no STREID metadata"):
        load_embedder(bare)
