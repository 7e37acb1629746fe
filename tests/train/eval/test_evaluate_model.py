"""End to end on a tiny MARS tree: loaders, a real colour model, protocols, re-ranking, report JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from streid.train.data.config import DataConfig
from streid.train.data.datasets import build_dataloaders
from streid.train.eval.features import evaluate_model, extract_features
from streid.train.eval.protocol import protocol_indices
from streid.train.eval.report import report
from streid.train.eval.rerank import re_ranking

TRACKS = {
    "train": [(1, 1, 4), (1, 2, 4), (2, 1, 4), (2, 2, 4)],
    "test": [(3, 1, 5), (4, 1, 5), (5, 1, 3), (3, 2, 9), (4, 2, 9), (5, 2, 6), (-1, 3, 2)],
}


class StripeColour(torch.nn.Module):
    """Mean colour of 4 horizontal stripes, L2-normalised: a real (if weak) appearance model."""

    embedding_dim = 12

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        b, length, c, h, w = clips.shape
        x = clips.reshape(b, length, c, 4, h // 4, w).mean(dim=(1, 4, 5)).reshape(b, -1)
        return torch.nn.functional.normalize(x, dim=1)


def make(tmp_path: Path, mars_writer, **kw) -> tuple[DataConfig, object]:
    root = mars_writer(tmp_path / "mars", TRACKS, query=[1, 2, 3])
    cfg = DataConfig(root=str(root), height=16, width=8, seq_len=4, p=2, k=2, workers=0, **kw)
    return cfg, build_dataloaders(cfg, seed=0)


def test_train_batch_shape_and_pk(tmp_path: Path, mars_writer) -> None:
    _cfg, loaders = make(tmp_path, mars_writer)
    clips, pids, _camids = next(iter(loaders.train))
    assert clips.shape == (4, 4, 3, 16, 8) and clips.dtype == torch.float32
    assert sorted(pids.tolist()) == [0, 0, 1, 1] and loaders.num_train_pids == 2


def test_colour_model_is_perfect_under_both_protocols(tmp_path: Path, mars_writer) -> None:
    cfg, loaders = make(tmp_path, mars_writer)
    r = evaluate_model(StripeColour(), loaders.query, loaders.gallery, protocol="torchreid")
    assert r["protocol"] == "torchreid" and r["R1"] == 1.0 and r["mAP"] == 1.0
    assert (r["num_query"], r["num_gallery"], r["num_skipped"]) == (3, 4, 0)
    cfg.protocol = "ap3d"
    ap3d = build_dataloaders(cfg, seed=0)
    r2 = evaluate_model(StripeColour(), ap3d.query, ap3d.gallery, protocol="ap3d", rerank=True)
    assert r2["num_gallery"] == 7 and r2["R1"] == 1.0 and r2["protocol"] == "ap3d" and r2["rerank"]
    q, g = protocol_indices(loaders.dataset, "ap3d")
    assert g[-3:] == q
    report(r2, tmp_path / "out" / "result.json")
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["protocol"] == "ap3d" and saved["R1"] == 1.0


def test_dense_mode_averages_per_tracklet(tmp_path: Path, mars_writer) -> None:
    _cfg, loaders = make(tmp_path, mars_writer, test_sampling="dense")
    assert len(loaders.gallery.dataset) == 3 + 3 + 2 + 1  # 9,9,6,2 frames in clips of 4
    feats, pids, _camids = extract_features(StripeColour(), loaders.gallery)
    assert feats.shape == (4, 12) and pids.tolist() == [3, 4, 5, -1]
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, rtol=1e-5)


def test_rerank_shape_and_keeps_clear_matches() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16))
    gf = np.repeat(centres, 4, axis=0) + 0.05 * rng.normal(size=(20, 16))
    qf = centres + 0.05 * rng.normal(size=(5, 16))
    qf, gf = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in (qf, gf))
    d = re_ranking(qf, gf, k1=6, k2=3)
    assert d.shape == (5, 20)
    assert (np.argmin(d, axis=1) // 4).tolist() == list(range(5))


def test_ranked_png(tmp_path: Path, mars_writer) -> None:
    """Each picture captioned (query; rank, distance, identity, camera), no empty band when the gallery is short."""
    from streid.train.eval.visualize import GAP, GREEN, LINE_H, captions, save_ranked

    _cfg, loaders = make(tmp_path, mars_writer)
    q, g = loaders.dataset.query, loaders.dataset.gallery
    qf, _, _ = extract_features(StripeColour(), loaders.query)
    gf, _, _ = extract_features(StripeColour(), loaders.gallery)
    dist = 1 - qf @ gf.T
    out = save_ranked(tmp_path / "ranked.png", dist, q, g)  # top_k 8, but only 3 candidates per query
    import cv2

    img = cv2.imread(str(out))
    col, row = 64 + 8, 128 + 8 + 2 * LINE_H + 4  # columns: tile + border (captions fit in it); rows: tile + 2 lines
    assert img is not None and img.shape[:2] == (3 * row, 4 * col + GAP)
    assert (img[:, -2:] < 200).any() and (img[-row:-row + 2] < 200).any()  # pictures reach the right edge
    # first retrieval of the first query is correct: its border is green
    assert tuple(int(v) for v in img[1, col + GAP + 1]) == GREEN
    # every picture has its two caption lines under it, inside its own column
    for r in range(3):
        for c in range(4):
            x0 = c * col + (GAP if c else 0)
            strip = img[r * row + 136:(r + 1) * row, x0:x0 + col]
            for line in range(2):
                assert (strip[line * LINE_H:(line + 1) * LINE_H + 2] < 100).any(), (r, c, line)
            assert (strip[:, [0, -1]] > 200).all(), (r, c)  # no caption runs into its neighbour
    # the captions name what the picture shows: rank, distance, identity, camera
    shown = [(g[j], float(dist[0, j])) for j in np.argsort(dist[0], kind="stable")
             if g[j].pid != -1 and (g[j].pid, g[j].camid) != (q[0].pid, q[0].camid)]
    assert captions(q[0], shown) == [("query", "id 3 C1")] + [
        (f"#{k} d {d:.2f}".replace("-0.00", "0.00"), f"id {t.pid} C{t.camid}") for k, (t, d) in enumerate(shown, 1)]
    assert captions(q[0], shown)[1][1] == "id 3 C2"  # the colour model finds the same person in camera 2 first
