"""Search: the right identity ranks first for a tracklet query; the CLI prints it; bad queries fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from streid.cli import app
from streid.pipeline.identity.matcher import OnlineMatcher
from streid.pipeline.identity.records import TrackletObs, normalise
from streid.pipeline.identity.search import image_query, rank, tracklet_query
from streid.pipeline.identity.store import SqliteStore


def fill(tmp_path: Path) -> tuple[SqliteStore, np.ndarray]:
    """Five identities, each seen in three cameras at different times, matched online into the store."""
    rng = np.random.default_rng(3)
    centres = normalise(rng.standard_normal((5, 32)))
    store, m = SqliteStore(tmp_path), OnlineMatcher(32, gate=0.3)
    for p in range(5):
        for k in range(3):
            t0 = 100.0 * p + 30.0 * k
            t = TrackletObs(f"cam{k}", 10 * p + k, t0, t0 + 5.0, normalise(centres[p] + 0.05 * rng.standard_normal(32)))
            store.put_tracklets([t])
            store.put_decisions(m.update([t]))
    return store, centres


def test_rank_puts_the_right_identity_first(tmp_path: Path) -> None:
    store, centres = fill(tmp_path)
    gid_of = {t.track_id: t.global_id for t in store.tracklets()}
    for p in range(5):
        hits = rank(store, normalise(centres[p] + 0.05), top=3)
        assert hits[0].global_id == gid_of[10 * p]
        assert hits[0].distance < hits[1].distance
        assert sorted(hits[0].cameras) == ["cam0", "cam1", "cam2"] and hits[0].tracklets == 3


def test_tracklet_query_and_cli(tmp_path: Path) -> None:
    store, _ = fill(tmp_path)
    emb, rid = tracklet_query(store, "cam1:21")
    hits = rank(store, emb, exclude=rid)
    gid = next(t.global_id for t in store.tracklets() if t.id == rid)
    assert hits[0].global_id == gid
    store.close()
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["search", "--store", str(tmp_path), "--query", "cam1:21", "--top", "2"])
    assert result.exit_code == 0, result.output
    assert "cam0" in result.output and str(gid) in result.output
    bad = CliRunner().invoke(app, ["search", "--store", str(tmp_path), "--query", "cam7:1"])
    assert bad.exit_code == 2 and "no tracklet" in bad.output
    rows = SqliteStore(tmp_path).tracklets(with_embeddings=False)
    first = rows[0]
    assert f"{first.id} ({first.camera}:{first.track_id})" in bad.output  # the ids a query can use
    again = CliRunner().invoke(app, ["search", "--store", str(tmp_path), "--query", str(first.id)])
    assert again.exit_code == 0, again.output
    assert re.search(r"closest tracklet .*: \d+ \(cam\d:\d+\)", again.output)
    image = CliRunner().invoke(app, ["search", "--store", str(tmp_path), "--query", "missing.jpg"])
    assert image.exit_code == 2 and "file not found: missing.jpg" in image.output and "no tracklet" not in image.output
    missing = CliRunner().invoke(app, ["search", "--store", str(tmp_path / "nope"), "--query", "1"])
    assert missing.exit_code == 2


class ColourEmbedder:
    """A deterministic stand-in for the re-id model (not under test here): per-channel means of the clip."""

    def __init__(self) -> None:
        self.meta = {"seq_len": 2, "height": 16, "width": 8}

    def embed(self, clips: np.ndarray) -> np.ndarray:
        assert clips.shape[1:] == (2, 16, 8, 3) and clips.dtype == np.uint8
        x = clips.astype(np.float32).mean(axis=(1, 2, 3)) - 127.5
        return normalise(x)


def test_image_query_finds_the_person_in_that_colour(tmp_path: Path) -> None:
    import cv2

    store, m = SqliteStore(tmp_path), OnlineMatcher(3, gate=0.2)
    colours = {"red": (0, 0, 255), "green": (0, 255, 0), "blue": (255, 0, 0)}
    emb = ColourEmbedder()
    for k, bgr in enumerate(colours.values()):
        clip = np.broadcast_to(np.array(bgr, np.uint8), (1, 2, 16, 8, 3))
        t = TrackletObs("cam0", k, 10.0 * k, 10.0 * k + 5, emb.embed(clip)[0])
        store.put_tracklets([t])
        store.put_decisions(m.update([t]))
    img = tmp_path / "q.png"
    cv2.imwrite(str(img), np.full((64, 32, 3), colours["green"], np.uint8))
    q = image_query(store, [img], embedder=emb)
    assert rank(store, q)[0].global_id == m.global_id(("cam0", 1))
    with pytest.raises(ValueError, match="records no embedder"):
        image_query(store, [img])
    with pytest.raises(ValueError, match="not a readable image"):
        image_query(store, [tmp_path / "q.png", tmp_path / "missing.png"], embedder=emb)
