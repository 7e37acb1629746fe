"""`streid explain`: attention picture of one tracklet from a tiny stt_gt checkpoint and a few frames."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from streid.cli import app
from streid.train.checkpoint import save_checkpoint
from streid.train.explain import explain_tracklet
from streid.train.models.config import STTGTConfig
from streid.train.models.stt_gt import build_stt_gt

SMALL = {"name": "stt_gt", "depth": 18, "width": 0.125, "dim": 24, "heads": 3, "parts": 2, "input_size": [64, 32]}


def _checkpoint(path: Path, **model: object) -> Path:
    torch.manual_seed(0)
    cfg = STTGTConfig(**{**SMALL, **model})
    state = build_stt_gt(cfg, num_classes=5).state_dict()
    config = {"model": cfg.model_dump(mode="json"), "data": {"seq_len": 4, "height": 64, "width": 32}}
    return save_checkpoint(path, {"config": config, "model": state, "num_classes": 5, "epoch": 1, "metrics": {}})


def _tracklet(folder: Path, frames: int = 6) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(frames):  # odd sizes: frames are resized to the checkpoint's input size
        cv2.imwrite(str(folder / f"f{i:03d}.jpg"), rng.integers(0, 255, (70, 30, 3), dtype=np.uint8))
    return folder


def test_explain_writes_png_with_both_attentions(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "m.pt")
    track = _tracklet(tmp_path / "0001C1T0001")
    result = explain_tracklet(ckpt, track, tmp_path / "a.png")
    assert [Path(p).name for p in result["frames"]] == ["f000.jpg", "f002.jpg", "f003.jpg", "f005.jpg"]  # evenly
    assert result["temporal"].shape == (4,) and result["temporal"].sum() == pytest.approx(1.0, abs=1e-5)
    assert result["spatial"].shape == (4, 4, 2)
    np.testing.assert_allclose(result["spatial"].sum(axis=(1, 2)), 1.0, atol=1e-5)
    image = cv2.imread(str(tmp_path / "a.png"))
    assert image is not None and image.shape[0] > 100

    runner = CliRunner()
    res = runner.invoke(app, ["explain", "--checkpoint", str(ckpt), "--tracklet", str(track)])
    assert res.exit_code == 0, res.output
    assert "temporal attention per frame" in res.output and (tmp_path / "attention_0001C1T0001.png").is_file()


def test_explain_refuses_what_it_cannot_draw(tmp_path: Path) -> None:
    runner = CliRunner()
    cnn = _checkpoint(tmp_path / "cnn.pt", transformers=False)
    track = _tracklet(tmp_path / "t")
    res = runner.invoke(app, ["explain", "--checkpoint", str(cnn), "--tracklet", str(track)])
    assert res.exit_code == 1 and "no attention" in res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["explain", "--checkpoint", str(_checkpoint(tmp_path / "m.pt")), "--tracklet", str(empty)])
    assert res.exit_code == 1 and "holds no images" in res.output


def test_mars_identity_folder_gives_its_first_tracklet(tmp_path) -> None:
    from streid.train.explain import tracklet_frames

    for name in ("0007C1T0001F001.jpg", "0007C1T0001F002.jpg", "0007C2T0003F001.jpg"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in tracklet_frames(tmp_path)] == ["0007C1T0001F001.jpg", "0007C1T0001F002.jpg"]


@pytest.mark.parametrize(("names", "wanted"), [
    ([f"entrance_north_lobby_cam_07_{i:06d}.jpg" for i in range(8)],
     [f"entrance_north_lobby_cam_07_{i:06d}" for i in range(8)]),
    ([f"0001C12T0003F{i:03d}.jpg" for i in range(4)], [f"camera C12 frame F{i:03d}" for i in range(4)]),
    ([f"{'x' * 60}{i}.png" for i in range(6)], [f"{'x' * 60}{i}" for i in range(6)]),
])
def test_frame_labels_are_whole_and_do_not_overlap(names: list[str], wanted: list[str]) -> None:
    """Each frame is named in full under it (camera and frame for MARS names), inside the figure, apart from its
    neighbours' names."""
    import matplotlib.pyplot as plt

    from streid.train.explain import attention_figure, tracklet_title

    length, rng = len(names), np.random.default_rng(0)
    temporal = rng.random(length)
    fig = attention_figure(rng.integers(0, 255, (length, 64, 32, 3), dtype=np.uint8), rng.random((length, 4, 2)),
                           temporal / temporal.sum(), names, tracklet_title(Path("trk"), names))
    try:
        fig.canvas.draw()
        renderer, box = fig.canvas.get_renderer(), fig.bbox
        labels = [ax.xaxis.label for ax in fig.axes[:length]]
        assert [" ".join(t.get_text().split("\n")) if "C12" in t.get_text() else t.get_text().replace("\n", "")
                for t in labels] == wanted
        extents = [t.get_window_extent(renderer) for t in labels]
        assert all(box.x0 <= e.x0 and e.x1 <= box.x1 and box.y0 <= e.y0 and e.y1 <= box.y1 for e in extents)
        assert all(a.x1 < b.x0 for a, b in itertools.pairwise(extents)), [(e.x0, e.x1) for e in extents]
        whole = fig.get_tightbbox(renderer)
        inches = fig.bbox_inches
        assert inches.x0 <= whole.x0 and whole.x1 <= inches.x1 and inches.y0 <= whole.y0 and whole.y1 <= inches.y1
    finally:
        plt.close(fig)


def test_title_names_the_mars_tracklet() -> None:
    from streid.train.explain import tracklet_title

    assert tracklet_title(Path("/d/0001"), ["0001C1T0002F001.jpg"]) == "person 0001, camera C1, tracklet T0002"
    assert tracklet_title(Path("/d/walk_7"), ["f000.jpg"]) == "walk_7"
