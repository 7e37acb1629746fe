"""The embed batcher: batches pending tracklets, honours the wait bound, passes through with no embedder."""

from __future__ import annotations

import time

import numpy as np

from streid.pipeline.embedding import EmbedBatcher
from streid.records import Tracklet, TrackletState


class MeanColourEmbedder:
    """A real (if tiny) embedder for the batcher: the clip's mean BGR colour, L2-normalised."""

    def __init__(self) -> None:
        self.meta = {"seq_len": 2, "height": 8, "width": 4}
        self.batches: list[int] = []

    def embed(self, clips: np.ndarray) -> np.ndarray:
        assert clips.dtype == np.uint8 and clips.ndim == 5
        self.batches.append(len(clips))
        v = clips.reshape(len(clips), -1, 3).mean(axis=1).astype(np.float32) + 1e-3
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def tracklet(i: int, colour: tuple[int, int, int]) -> Tracklet:
    crops = np.zeros((2, 8, 4, 3), np.uint8) + np.array(colour, np.uint8)
    return Tracklet("cam", i, TrackletState.START, np.array([0, 1]), np.array([0.0, 0.04]), crops,
                    np.zeros((2, 4), np.float32))


def test_batches_up_to_max_batch_and_waits_at_most_max_wait() -> None:
    emb = MeanColourEmbedder()
    batcher = EmbedBatcher(emb, max_batch=3, max_wait_s=0.05)
    batcher.add([tracklet(1, (255, 0, 0))])
    assert batcher.poll() == []  # neither full nor old enough
    time.sleep(0.06)
    ready = batcher.poll()
    assert [t.track_id for t in ready] == [1] and emb.batches == [1]
    assert np.allclose(ready[0].embedding, [1, 0, 0], atol=1e-3)
    batcher.add([tracklet(i, (0, 0, 200)) for i in range(2, 9)])  # 7 pending: full batches of 3 go out now
    ready = batcher.poll()
    assert [t.track_id for t in ready] == list(range(2, 9)) and emb.batches == [1, 3, 3, 1]
    assert all(np.isclose(np.linalg.norm(t.embedding), 1.0) for t in ready)


def test_without_embedder_tracklets_pass_through_at_once() -> None:
    batcher = EmbedBatcher(None, max_batch=8, max_wait_s=10.0)
    batcher.add([tracklet(1, (1, 2, 3))])
    ready = batcher.poll()
    assert len(ready) == 1 and ready[0].embedding is None
