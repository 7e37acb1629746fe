"""The training/deployment contract: one checkpoint, two roads to an embedding, the same answer.

Training and ``streid eval`` read a crop with ``load_frame`` (OpenCV decode, BGR -> RGB) and ``to_tensor``;
deployment hands the exported graph the crop as OpenCV decodes it (uint8 BGR) and lets the graph convert.
If either side changes its colour order, resizing or normalisation alone, the two embeddings of the same
real crops part, and this test says so (the export's own parity check cannot: it feeds both sides itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.export.conftest import HEIGHT, SEQ_LEN, WIDTH

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def crops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real crops on disk: a tiny synthetic world's reid/ folder (MARS layout, JPEG frames)."""
    from streid.config import load_config
    from streid.train.synth.build import synthesize

    cfg = load_config(REPO / "configs/synth/tiny.yaml", [f"synth.reid.height={HEIGHT}", f"synth.reid.width={WIDTH}"])
    out = tmp_path_factory.mktemp("contract")
    synthesize(cfg.synth, 5, out, parts=["reid"])
    return out / "reid"


@pytest.fixture(scope="module")
def colour_opponent(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A small nl3d whose first convolution weighs blue as minus red, exported: a swap of the colour order on one
    side turns its responses around. Measured with training frames left BGR: min cosine 0.990 (a plain untrained
    model barely notices: 0.998); with both sides right: 1.000000."""
    import torch

    from streid.export.onnx_export import export_onnx
    from streid.train.checkpoint import save_checkpoint
    from tests.export.conftest import SMALL, write_checkpoint

    root = tmp_path_factory.mktemp("colour")
    data = torch.load(write_checkpoint(root / "plain.pt", SMALL["nl3d"]), weights_only=False)
    stem = next(w for w in data["model"].values() if w.ndim >= 4 and w.shape[1] == 3)  # (out, RGB, ...)
    stem[:, 2] = -stem[:, 0]
    ckpt = save_checkpoint(root / "model.pt", data)
    return ckpt, export_onnx(ckpt, root / "model.onnx")


# stt_gt goes through the same wrapper and data path as nl3d; its export makes it slow
@pytest.mark.parametrize("name", ["nl3d", pytest.param("stt_gt", marks=pytest.mark.slow)])
def test_checkpoint_eval_and_exported_artifact_agree_on_real_crops(request: pytest.FixtureRequest, crops: Path,
                                                                   name: str) -> None:
    from streid.export.checkpoint import load_checkpoint
    from streid.pipeline.embedder import load_embedder
    from streid.train.data.config import DataConfig
    from streid.train.data.datasets import build_dataloaders
    from streid.train.eval.artifact import embed_records
    from streid.train.eval.features import extract_features

    if name == "nl3d":
        ckpt, artifact = request.getfixturevalue("colour_opponent")
    else:
        ckpt, artifact = request.getfixturevalue("exported")(name)
    model, _, _ = load_checkpoint(ckpt)
    data = DataConfig(format="synthetic", root=str(crops), seq_len=SEQ_LEN, height=HEIGHT, width=WIDTH,
                      test_sampling="evenly", p=4, k=2, workers=0)
    loaders = build_dataloaders(data)
    trained_side, _, _ = extract_features(model, loaders.query)  # what `streid eval` computes
    deployed_side = embed_records(load_embedder(artifact.path, device="cpu"), loaders.query.dataset.records)
    assert len(trained_side) == len(deployed_side) >= 6  # 9 query tracklets in this world
    cosine = np.sum(trained_side * deployed_side, axis=1)
    assert cosine.min() >= 0.999, f"min cosine {cosine.min():.6f} over {len(cosine)} tracklets"
