"""Re-id metrics of a deployed artifact (anything with ``embed(uint8 BGR clips)`` and ``meta``).

The pipeline's embedders (ONNX Runtime, TensorRT, torch) take uint8 BGR clips the way tracklet crops come,
so this scores exactly what runs in deployment, not the training graph. Kept duck-typed so that ``train``
does not import ``pipeline``.
"""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np

from streid.train.data.clips import sample_evenly, shrink
from streid.train.data.records import TrackletRecord, VideoDataset
from streid.train.eval.metrics import evaluate_rank
from streid.train.eval.protocol import protocol_indices


class ClipEmbedder(Protocol):
    meta: dict[str, Any]

    def embed(self, clips: np.ndarray) -> np.ndarray: ...


def _clip(rec: TrackletRecord, seq_len: int, height: int, width: int, person_height: int | None = None) -> np.ndarray:
    frames = []
    for i in sample_evenly(len(rec.frames), seq_len):
        img = cv2.imread(rec.frames[i], cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"{rec.frames[i]}: cannot read image")
        frames.append(cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR))
    clip = np.stack(frames)
    return clip if person_height is None else shrink(clip, person_height)


def embed_records(embedder: ClipEmbedder, records: list[TrackletRecord], batch: int = 32,
                  person_height: int | None = None) -> np.ndarray:
    """One embedding per tracklet (evenly spaced L frames), in ``records`` order; with ``person_height``, each clip
    as a camera seeing the person that many pixels tall gives it (``shrink``)."""
    m = embedder.meta
    out = []
    for s in range(0, len(records), batch):
        clips = np.stack([_clip(r, m["seq_len"], m["height"], m["width"], person_height)
                          for r in records[s : s + batch]])
        out.append(embedder.embed(clips))
    return np.concatenate(out) if out else np.zeros((0, m["embedding_dim"]), np.float32)


def evaluate_embedder(embedder: ClipEmbedder, dataset: VideoDataset, protocol: str = "torchreid",
                      query_height: int | None = None) -> dict[str, Any]:
    """mAP, R1/5/10/20, mINP and counts of an artifact on a data set's query/gallery split.

    ``query_height``: the queries as a far camera sees them (the person that many pixels tall), the gallery as
    rendered: how well a far camera's tracklet finds the same person seen up close.
    """
    query, gallery = protocol_indices(dataset, protocol)
    gf = embed_records(embedder, gallery)
    return score_features(query, gallery, embed_records(embedder, query, person_height=query_height), gf, protocol)


def score_features(query: list[TrackletRecord], gallery: list[TrackletRecord], qf: np.ndarray, gf: np.ndarray,
                   protocol: str = "torchreid") -> dict[str, Any]:
    """``evaluate_embedder``'s figures from features already computed (one gallery, several query variants)."""
    r = evaluate_rank(
        1.0 - qf @ gf.T,
        np.array([q.pid for q in query]), np.array([g.pid for g in gallery]),
        np.array([q.camid for q in query]), np.array([g.camid for g in gallery]),
        max_rank=20,
    )
    cmc = r["cmc"]
    return {
        "protocol": protocol,
        "mAP": r["mAP"],
        **{f"R{k}": float(cmc[min(k, len(cmc)) - 1]) for k in (1, 5, 10, 20)},
        "mINP": r["mINP"],
        "num_query": len(query),
        "num_gallery": len(gallery),
        "num_valid_queries": r["num_valid_queries"],
        "num_skipped": r["num_skipped"],
    }
