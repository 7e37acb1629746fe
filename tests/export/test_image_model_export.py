"""``streid export onnx --image-model``: torchreid OSNet weights -> clip artifact, parity-checked, with our metadata."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from streid.cli import app
from tests.torchreid_files import write_torchreid_osnet

SMALL = ["--seq-len", "2", "--height", "64", "--width", "32"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("image_model")
    weights = write_torchreid_osnet(root / "osnet_x0_25_market.pth")
    out = root / "osnet.onnx"
    result = CliRunner().invoke(app, ["export", "onnx", "--image-model", "osnet_x0_25", "--weights", str(weights),
                                      "--out", str(out), "--trained-on", "real", *SMALL])
    return weights, out, result.output


def test_artifact_matches_pytorch_at_batch_1_and_8(exported: tuple[Path, Path, str]) -> None:
    weights, out, output = exported
    assert out.is_file(), output
    parity = {int(b): float(c) for b, c in re.findall(r"batch (\d+): ([0-9.]+)", output)}
    assert parity.keys() == {1, 8} and min(parity.values()) >= 0.9999  # the export's own check, as printed

    from streid.export.clips import synthetic_clips
    from streid.export.parity import cosines, torch_embeddings
    from streid.pipeline.embedder import load_embedder
    from streid.train.models.torchreid_weights import osnet_from_file

    clips = synthetic_clips(8, 2, 64, 32, seed=3)[0]  # other clips than the export checked on
    model, _ = osnet_from_file(weights)
    emb = load_embedder(out, device="cpu")
    for batch in (1, 8):
        got = np.concatenate([emb.embed(clips[s:s + batch]) for s in range(0, 8, batch)])
        assert cosines(got, torch_embeddings(model, clips)).min() >= 0.9999


def test_artifact_carries_our_metadata(exported: tuple[Path, Path, str]) -> None:
    from streid.export.int8 import read_onnx_meta
    from streid.models.download import sha256_file

    weights, out, _ = exported
    meta = read_onnx_meta(out)
    assert (meta["model"], meta["seq_len"], meta["height"], meta["width"]) == ("osnet_x0_25", 2, 64, 32)
    assert meta["embedding_dim"] == 512 and meta["precision"] == "fp32" and meta["trained_on"] == "real"
    assert meta["config"]["name"] == "osnet" and meta["config"]["arch"] == "osnet_x0_25"
    assert sha256_file(weights) in meta["origin"]


def test_clip_embedding_is_the_mean_of_frame_features(exported: tuple[Path, Path, str]) -> None:
    from streid.pipeline.embedder import load_embedder
    from streid.train.data.clips import to_tensor
    from streid.train.models.torchreid_weights import osnet_from_file

    weights, out, _ = exported
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (2, 64, 32, 3), dtype=np.uint8)
    model, _ = osnet_from_file(weights)
    with torch.no_grad():
        per_frame = model.features(to_tensor(np.ascontiguousarray(frames[..., ::-1])))
    expected = torch.nn.functional.normalize(per_frame.mean(0, keepdim=True), dim=1).numpy()
    got = load_embedder(out, device="cpu").embed(frames[None])
    assert float((got * expected).sum()) >= 0.9999


def test_bad_requests_fail_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    weights = write_torchreid_osnet(tmp_path / "w.pth")
    wrong = runner.invoke(app, ["export", "onnx", "--image-model", "osnet_x1_0", "--weights", str(weights), *SMALL])
    assert wrong.exit_code == 1 and "holds osnet_x0_25 weights, not osnet_x1_0" in wrong.output
    unknown = runner.invoke(app, ["export", "onnx", "--image-model", "resnet50", "--weights", str(weights)])
    assert unknown.exit_code == 1 and "choices: osnet_x1_0" in unknown.output
    both = runner.invoke(app, ["export", "onnx", "--checkpoint", str(weights), "--image-model", "osnet_x0_25"])
    assert both.exit_code == 2
    no_weights = runner.invoke(app, ["export", "onnx", "--image-model", "osnet_x0_25"])
    assert no_weights.exit_code == 2
    assert not list(tmp_path.glob("*.onnx"))
