"""The dashboard's view of an identity store: identity summaries, one identity's card, crops, decisions.

Reads go through :class:`DashboardStore`, the part of the store interface the dashboard needs, so the same server
serves the embedded SQLite store and a site's PostgreSQL store (where cards also name each camera's device).
Every function here is synchronous and is called on the one thread that owns the store's connection.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Protocol

import numpy as np

from streid.pipeline.identity.store import StoredTracklet

CROPS_PER_CAMERA = 3  # tracklets shown per camera on an identity card


class DashboardStore(Protocol):
    """What the dashboard reads: tracklets, their crops, the decision events, metadata."""

    def tracklets(self, with_embeddings: bool = True) -> list[StoredTracklet]: ...

    def crops(self, tracklet_id: int) -> list[np.ndarray]: ...

    def events(self) -> list[dict]: ...

    def get_meta(self, key: str) -> str | None: ...


def _card_tracklets(members: list[StoredTracklet]) -> dict[str, list[StoredTracklet]]:
    """Per camera, its longest tracklets (the ones worth a crop on the card)."""
    by_cam: dict[str, list[StoredTracklet]] = defaultdict(list)
    for t in members:
        by_cam[t.camera].append(t)
    return {cam: sorted(ts, key=lambda t: t.t_start - t.t_end)[:CROPS_PER_CAMERA] for cam, ts in sorted(by_cam.items())}


def _devices(store: DashboardStore) -> dict[str, str]:
    """Camera -> the device it is on, as the site's identity service recorded it ({} for a one-device store)."""
    from streid.pipeline.identity.messages import DEVICES_KEY

    return json.loads(store.get_meta(DEVICES_KEY) or "{}")


def _summary(gid: int, members: list[StoredTracklet], devices: dict[str, str]) -> dict[str, Any]:
    spans: dict[str, list[float]] = {}
    for t in members:
        a, b = spans.get(t.camera, [t.t_start, t.t_end])
        spans[t.camera] = [min(a, t.t_start), max(b, t.t_end)]
    return {
        "global_id": gid, "tracklets": len(members), "cameras": spans,
        "devices": {cam: devices[cam] for cam in sorted(spans) if cam in devices},
        "first_seen": min(t.t_start for t in members), "last_seen": max(t.t_end for t in members),
        "crops": {cam: [f"api/tracklets/{t.id}/crop.jpg" for t in ts] for cam, ts in _card_tracklets(members).items()},
    }


def identities(store: DashboardStore) -> list[dict[str, Any]]:
    """Every global identity, most recently seen first."""
    groups: dict[int, list[StoredTracklet]] = defaultdict(list)
    for t in store.tracklets(with_embeddings=False):
        if t.global_id is not None:
            groups[t.global_id].append(t)
    devices = _devices(store)
    cards = [_summary(gid, members, devices) for gid, members in groups.items()]
    return sorted(cards, key=lambda c: (-c["last_seen"], c["global_id"]))


def identity(store: DashboardStore, gid: int) -> dict[str, Any] | None:
    """One identity's card: summary, every tracklet, and the decisions that gave its tracklets this id."""
    members = [t for t in store.tracklets(with_embeddings=False) if t.global_id == gid]
    if not members:
        return None
    keys = {(t.camera, t.track_id) for t in members}
    decisions = [e for e in store.events() if e["global_id"] == gid or (e["camera"], e["track_id"]) in keys]
    return {**_summary(gid, members, _devices(store)),
            "members": [{"id": t.id, "camera": t.camera, "track_id": t.track_id, "t_start": t.t_start,
                         "t_end": t.t_end, "crop": f"api/tracklets/{t.id}/crop.jpg"} for t in members],
            "decisions": decisions}


def crop(store: DashboardStore, tracklet_id: int, index: int | None = None) -> np.ndarray | None:
    """One stored crop of a tracklet (the middle one of its newest clip by default); None when it has none."""
    clips = store.crops(tracklet_id)
    if not clips:
        return None
    frames = [img for clip in clips for img in (clip if clip.ndim == 4 else clip[None])]
    if index is None:
        clip = clips[-1] if clips[-1].ndim == 4 else clips[-1][None]
        return clip[len(clip) // 2]
    return frames[index] if 0 <= index < len(frames) else None


def events_after(store: DashboardStore, last_id: int) -> list[dict[str, Any]]:
    """Decision events newer than ``last_id`` (the server-sent stream's cursor)."""
    return [e for e in store.events() if e["id"] > last_id]


def hits_json(hits: list[Any]) -> list[dict[str, Any]]:
    """Search hits (``streid.pipeline.identity.search.Hit``) as JSON, best first."""
    return [{"rank": i, "global_id": h.global_id, "distance": round(h.distance, 4), "tracklets": h.tracklets,
             "cameras": {c: list(span) for c, span in h.cameras.items()},
             "crop": f"api/tracklets/{h.best_tracklet}/crop.jpg"} for i, h in enumerate(hits, 1)]
