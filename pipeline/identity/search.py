"""Search a store: which identities look like these images, or like this stored tracklet?

An identity's score is its closest tracklet's cosine distance to the query (mean over query embeddings when
several images are given). Image queries need the embedder the store was filled with (``meta.embedder``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streid.pipeline.identity.centering import CAMERA_MEAN_KEY
from streid.pipeline.identity.neighbours import VectorIndex
from streid.pipeline.identity.records import normalise
from streid.pipeline.identity.store import Store, StoredTracklet

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass
class Hit:
    """One ranked identity: its distance, and where and when it was seen."""

    global_id: int
    distance: float
    cameras: dict[str, tuple[float, float]]  # camera -> (first seen, last seen) seconds
    tracklets: int
    best_tracklet: int


def rank(store: Store, query: np.ndarray, top: int = 10, exclude: int | None = None) -> list[Hit]:
    """Identities ranked by distance to ``query`` (Q, D) embeddings; tracklet ``exclude`` is left out.

    The mean distance over queries is ``1 - mean(q) . g``, so one index search with the mean query ranks the
    gallery; the search widens until ``top`` identities are found (the offline clustering's FAISS index).
    """
    rows = [t for t in store.tracklets() if t.global_id is not None and t.id != exclude]
    with_emb = [t for t in rows if t.embedding is not None]
    if not with_emb:
        return []
    q = normalise(np.atleast_2d(query))
    gal = normalise(np.stack([t.embedding for t in with_emb]))
    if gal.shape[1] != q.shape[1]:
        raise ValueError(f"query has dimension {q.shape[1]}, store embeddings have {gal.shape[1]}")
    index = VectorIndex(gal)
    mean_q = q.astype(np.float64).mean(axis=0)
    k = max(4 * top, 64)
    while True:
        idx, sims = index.nearest(mean_q, k)
        best: dict[int, tuple[float, int]] = {}
        for i, sim in zip(idx.tolist(), sims.tolist(), strict=True):
            t, d = with_emb[i], 1.0 - sim
            if t.global_id not in best or d < best[t.global_id][0]:
                best[t.global_id] = (d, t.id)
        if len(best) >= top or k >= len(with_emb):
            break
        k *= 4
    by_gid: dict[int, list[StoredTracklet]] = {}
    for t in rows:
        by_gid.setdefault(int(t.global_id), []).append(t)
    return [Hit(gid, d, _spans(by_gid[gid]), len(by_gid[gid]), tid)
            for gid, (d, tid) in sorted(best.items(), key=lambda kv: (kv[1][0], kv[0]))[:top]]


def _spans(members: list[StoredTracklet]) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for t in members:
        a, b = out.get(t.camera, (t.t_start, t.t_end))
        out[t.camera] = (min(a, t.t_start), max(b, t.t_end))
    return out


def tracklet_query(store: Store, spec: str) -> tuple[np.ndarray, int]:
    """Embedding and row id of a stored tracklet given as a row id (``17``) or ``camera:track_id``."""
    rows = store.tracklets()
    if ":" in spec:
        cam, _, tid = spec.rpartition(":")
        match = [t for t in rows if t.camera == cam and str(t.track_id) == tid]
    else:
        match = [t for t in rows if str(t.id) == spec]
    if not match:
        raise ValueError(f"{store.path}: no tracklet {spec!r}; give a row id or camera:track_id: "
                         f"{known_tracklets(rows)}")
    if match[0].embedding is None:
        raise ValueError(f"{store.path}: tracklet {spec!r} has no embedding (expired by retention)")
    return match[0].embedding[None], match[0].id


MAX_QUERY_PIXELS = 50_000_000  # a query is a person crop or a frame; a 20000x20000 PNG took 2.4 GB to decode


def check_image_size(image: Path) -> None:
    """Refuse an image whose header promises more than MAX_QUERY_PIXELS, before anything is decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(image) as im:
                width, height = im.size
    except Image.DecompressionBombError:
        raise ValueError(f"{image}: too large for a query image (at most {MAX_QUERY_PIXELS // 1_000_000} "
                         "megapixels; crop or scale it)") from None
    except (UnidentifiedImageError, OSError):
        return  # cv2 says "not a readable image"
    if width * height > MAX_QUERY_PIXELS:
        raise ValueError(f"{image}: {width}x{height} pixels is too large for a query image "
                         f"(at most {MAX_QUERY_PIXELS // 1_000_000} megapixels; crop or scale it)")


def known_tracklets(rows: list[StoredTracklet], limit: int = 8) -> str:
    """The ids a tracklet query can use (row ids are sparse), as ``row (camera:track_id)``, a few of them."""
    if not rows:
        return "the store holds no tracklet"
    shown = ", ".join(f"{t.id} ({t.camera}:{t.track_id})" for t in rows[:limit])
    return shown + (f", ... ({len(rows)} in all)" if len(rows) > limit else "")


def looks_like_file(query: str) -> bool:
    """A query meant as an image path (suffix or folder in it), not a tracklet id."""
    return Path(query).suffix.lower() in IMAGE_SUFFIXES or "/" in query or "\\" in query


def image_query(store: Store, images: list[Path], embedder_path: Path | None = None,
                embedder: Any = None) -> np.ndarray:
    """Embed each image as a still clip (the image repeated L times) with the store's embedder.

    ``embedder`` (an object with ``embed`` and ``meta``) skips loading, for callers that hold one already.
    """
    import cv2

    if embedder is None:
        recorded = store.get_meta("embedder")
        path = embedder_path or (Path(recorded) if recorded else None)
        if path is None:
            raise ValueError(f"{store.path}: the store records no embedder; pass --embedder")
        if not path.exists():
            raise ValueError(f"embedder {path} not found (recorded in {store.path}); pass --embedder")
        try:
            from streid.pipeline.embedder import load_embedder
        except ModuleNotFoundError as exc:
            raise ValueError(f"image queries need the embedder backends, which are missing: {exc}") from None
        embedder = load_embedder(path)
    arrays = []
    for image in images:
        check_image_size(image)
        img = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{image}: not a readable image")
        arrays.append(img)
    return to_matching_space(store, embed_stills(arrays, embedder))


def to_matching_space(store: Store, emb: np.ndarray) -> np.ndarray:
    """A raw query embedding in the space the store's tracklets live in: with camera centering on, the stored
    vectors had their camera's mean removed, so an uploaded picture (camera unknown) has the site's average camera
    mean removed (``camera_mean`` in the store's meta, see identity/centering.py)."""
    from streid.pipeline.identity.records import normalise

    recorded = store.get_meta(CAMERA_MEAN_KEY)
    if not recorded:
        return emb
    mean = np.asarray(json.loads(recorded), np.float32)
    return emb if mean.shape[-1] != emb.shape[-1] else normalise(normalise(emb) - mean)


def embed_stills(images: list[np.ndarray], embedder: Any) -> np.ndarray:
    """(Q, D) embeddings of BGR images, each as a still clip (the image repeated L times at the model's size)."""

    from streid.pipeline.tracklets import crop

    seq, h, w = int(embedder.meta["seq_len"]), int(embedder.meta["height"]), int(embedder.meta["width"])
    # the picture is a person's box: cut it as the pipeline cuts tracklet crops (aspect kept, 10 % margin)
    clips = [np.repeat(crop(img, np.array([0, 0, img.shape[1], img.shape[0]], np.float32), h, w, "aspect")[None],
                       seq, axis=0) for img in images]
    return np.asarray(embedder.embed(np.stack(clips)), np.float32)
