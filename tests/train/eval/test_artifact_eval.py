"""Scoring a deployable embedder (uint8 BGR clips in) on a synthetic test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streid.config import load_config
from streid.train.data import read_dataset
from streid.train.eval.artifact import embed_records, evaluate_embedder
from streid.train.synth.build import synthesize

REPO = Path(__file__).resolve().parents[3]


class MeanColour:
    """A real (if weak) appearance model: the clip's mean BGR colour per frame half."""

    def __init__(self) -> None:
        self.meta = {"seq_len": 4, "height": 32, "width": 16, "embedding_dim": 6}
        self.seen: list[tuple[int, ...]] = []

    def embed(self, clips: np.ndarray) -> np.ndarray:
        self.seen.append(clips.shape)
        assert clips.dtype == np.uint8
        top, bottom = clips[:, :, :16].mean(axis=(1, 2, 3)), clips[:, :, 16:].mean(axis=(1, 2, 3))
        f = np.concatenate([top, bottom], axis=1).astype(np.float32)
        return f / np.linalg.norm(f, axis=1, keepdims=True)


def test_evaluate_embedder_on_synthetic_split(tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "synth" / "tiny.yaml", ["synth.reid.height=64", "synth.reid.width=32"])
    synthesize(cfg.synth, 2, tmp_path, parts=["reid"])
    ds = read_dataset("synthetic", tmp_path / "reid")
    emb = MeanColour()
    feats = embed_records(emb, ds.query)
    assert feats.shape == (len(ds.query), 6) and emb.seen[0][1:] == (4, 32, 16, 3)
    r = evaluate_embedder(emb, ds)
    assert r["num_query"] == len(ds.query) and r["num_skipped"] == 0
    assert r["R1"] <= r["R5"] <= r["R20"]
    # measured on this world (seed 2): mAP 0.550, R1 0.333; the floor leaves 0.1 for rendering changes
    assert r["mAP"] >= 0.45, r


class Detail(MeanColour):
    """Mean colour plus how much row-to-row detail the clip holds, which a far camera's clip lacks."""

    def embed(self, clips: np.ndarray) -> np.ndarray:
        self.seen.append(clips.shape)
        detail = np.abs(np.diff(clips.astype(np.float32), axis=2)).mean(axis=(1, 2, 3, 4))
        return np.stack([clips.mean(axis=(1, 2, 3, 4)), detail], axis=1).astype(np.float32)


def test_far_queries_are_shrunk_and_the_gallery_is_not(tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "synth" / "tiny.yaml", ["synth.reid.height=64", "synth.reid.width=32"])
    synthesize(cfg.synth, 2, tmp_path, parts=["reid"])
    ds = read_dataset("synthetic", tmp_path / "reid")
    emb = Detail()
    near, far = embed_records(emb, ds.query), embed_records(emb, ds.query, person_height=8)
    assert np.all(far[:, 1] < 0.8 * near[:, 1])  # 8 px tall: the row-to-row detail is gone
    assert np.allclose(far[:, 0], near[:, 0], atol=3)  # the colours are not
    plain, shrunk = evaluate_embedder(MeanColour(), ds), evaluate_embedder(MeanColour(), ds, query_height=8)
    assert shrunk["num_query"] == plain["num_query"] and shrunk["mAP"] != plain["mAP"]
