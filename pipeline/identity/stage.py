"""The identity stage of the pipeline: store each embedded tracklet, give it a global id online, explain the choice.

``streid run`` (live or offline, and ``deploy/run_camera.py``) calls :meth:`IdentityStage.update` with every batch
of embedded tracklets the runner publishes; ``streid reid`` replays its per-camera tracklet events through
:meth:`IdentityStage.assign`, so both assign ids with the same code. The tracklets of one call are matched
jointly (one Hungarian assignment). The stage remembers each local track's global id so the annotated video can
draw it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from streid.pipeline.identity.calibration import Thresholds
from streid.pipeline.identity.centering import CAMERA_MEAN_KEY, CameraCentering
from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.matcher import OnlineMatcher
from streid.pipeline.identity.records import Decision, TrackletObs, from_tracklet, normalise, track_span
from streid.pipeline.identity.site_calibration import SiteCalibrator
from streid.pipeline.identity.store import Store
from streid.pipeline.identity.trackmean import TrackMeans
from streid.records import Tracklet, TrackletState

PURGE_EVERY_S = 600.0  # how often a long run applies the retention TTLs, at most


def purge_period(ttls: Iterable[float | None]) -> float:
    """A quarter of the shortest TTL (so nothing outlives its TTL by more than a quarter), 1 s to 10 min."""
    finite = [t for t in ttls if t]
    return min(PURGE_EVERY_S, max(1.0, min(finite) / 4)) if finite else PURGE_EVERY_S
CROP_STATES = (TrackletState.START, TrackletState.END)  # crops are stored twice per tracklet, not at every update


def event_fields(d: Decision) -> dict[str, Any]:
    """What an event records of a decision: the id, how it was chosen, its distance and the runner-up's."""
    return {"global_id": d.global_id, "match": d.kind, "distance": _round(d.distance),
            "runner_up_id": d.runner_up_id, "runner_up_distance": _round(d.runner_up_distance),
            "store_track_id": d.track_id}


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


def obs_from_event(event: dict[str, Any], t_offset: float = 0.0) -> TrackletObs:
    """A tracklet event (``events.jsonl``, inline embedding) as the matcher saw it: as :func:`from_tracklet`."""
    if event.get("embedding") is None:
        raise ValueError(f"event of {event['camera']}:{event['track_id']} has no embedding")
    t0, t1 = track_span(event["pts"], event.get("first_pts"), event.get("last_pts"))
    return TrackletObs(event["camera"], int(event["track_id"]), t0 + t_offset, t1 + t_offset,
                       normalise(np.asarray(event["embedding"], np.float32)), event.get("dx"))


class IdentityStage:
    """Store + online matcher behind one ``update`` per published batch; ``matcher_factory=None`` only records.

    ``matcher_factory(dim)`` builds the matcher once the first embedding shows its size (a resumed live run
    passes one that restores the gallery from the store). ``track_offsets`` renumbers local track ids per
    camera in the store, since a restarted process's tracker counts from 0 again.

    Site time: with ``clock="video"`` (recorded files) a camera's time is its pts plus ``t_offsets[camera]``.
    With ``clock="wall"`` (live) pts are anchored to the UNIX time of the camera's first frame and re-anchored
    when they jump back (a reconnect restarts them), so times stay comparable across cameras, reconnects and
    restarts of the process against the same store.
    """

    def __init__(self, store: Store, matcher_factory: Callable[[int], OnlineMatcher] | None, *,
                 t_offsets: dict[str, float] | None = None, track_offsets: dict[str, int] | None = None,
                 clock: Literal["video", "wall"] = "video", thresholds: Thresholds | None = None,
                 calibrator: SiteCalibrator | None = None, centering: CameraCentering | None = None,
                 track_means: TrackMeans | None = None) -> None:
        self.store = store
        self.track_means = track_means  # the store (and so the offline clustering) keeps each track's mean clip
        self.centering = centering  # camera-bias removal: matching (and the store) work in the centred space
        self.factory = matcher_factory
        self.calibrator = calibrator  # refines the gate / offline threshold from this site's pairs
        self._thresholds = thresholds
        self._reported = 0  # calibration refits already handed out as events
        self.matcher: OnlineMatcher | None = None
        self.t_offsets = dict(t_offsets or {})
        self.track_offsets = track_offsets or {}
        self.clock = clock
        self._last_pts: dict[str, float] = {}
        self.ids: dict[tuple[str, int], int] = {}  # stored key -> global id
        self.purge_every_s = purge_period([getattr(store, "embedding_ttl_s", None),
                                           getattr(store, "crop_ttl_s", None)])
        self._next_purge = time.monotonic() + self.purge_every_s

    def update(self, tracklets: list[Tracklet]) -> list[dict[str, Any]]:
        """Store and match one batch; the identity fields for each tracklet's event ({} without an embedding)."""
        items = [(i, t) for i, t in enumerate(tracklets) if t.embedding is not None]
        fields: list[dict[str, Any]] = [{} for _ in tracklets]
        if not items:
            return fields
        obs = []
        for _, t in items:
            o = from_tracklet(t, self._offset(t.camera, t.last_pts))
            o.track_id += self.track_offsets.get(t.camera, 0)
            obs.append(o)
        crops = [t.crops if t.state in CROP_STATES else None for _, t in items]
        for (i, _), d in zip(items, self.assign(obs, crops), strict=True):
            if d is not None:
                fields[i] = event_fields(d)
        return fields

    def assign(self, obs: list[TrackletObs], crops: list[np.ndarray | None] | None = None) -> list[Decision | None]:
        """Write the tracklets (and crops) to the store, then match them jointly (None each when only recording)."""
        if not obs:
            return []
        raw, centering = obs, self.centering if self.factory is not None else None
        if centering is not None:
            obs = centering.centre(obs)
            mean = centering.average_mean() if centering.updated else None  # updates move no mean
            if mean is not None:  # image search (no camera) subtracts this: see search.to_matching_space
                self.store.set_meta(CAMERA_MEAN_KEY, json.dumps([round(float(v), 6) for v in mean]))
        self.store.put_tracklets(obs if self.track_means is None else self.track_means.stored(raw, centering), crops)
        if self.factory is None:
            return [None] * len(obs)
        if self.matcher is None:
            self.matcher = self.factory(int(obs[0].embedding.size))
        if self.calibrator is not None and self.calibrator.add(obs):
            self.matcher.gate = self.calibrator.current.gate
        decisions = self.matcher.update(obs)
        self.store.put_decisions(decisions)
        for d in decisions:
            self.ids[(d.camera, d.track_id)] = d.global_id
        self._maybe_purge()
        return list(decisions)

    def _maybe_purge(self) -> None:
        if time.monotonic() > self._next_purge:
            self.store.purge()
            self._next_purge = time.monotonic() + self.purge_every_s

    def seen(self, camera: str, track_ids: Iterable[int], pts: float) -> None:
        """Local tracks in view in this frame: their identities stay "here" until they are lost."""
        if self.clock == "wall" and (camera not in self.t_offsets or pts < self._last_pts.get(camera, pts)):
            self.t_offsets[camera] = time.time() - pts  # first frame, or the stream restarted: re-anchor
        self._last_pts[camera] = pts
        off, t = self.track_offsets.get(camera, 0), pts + self.t_offsets.get(camera, 0.0)
        if self.calibrator is not None and self.factory is not None:
            self.calibrator.seen((camera, int(tid) + off) for tid in track_ids)
        self._maybe_purge()  # also while nobody new is seen: TTLs run on the clock, not on traffic
        if self.matcher is None:
            return
        for tid in track_ids:
            self.matcher.extend((camera, int(tid) + off), t)

    def _offset(self, camera: str, pts: float | None) -> float:
        if self.clock == "wall" and camera not in self.t_offsets:  # a tracklet before any frame was seen
            self.t_offsets[camera] = time.time() - (pts or 0.0)
        return self.t_offsets.get(camera, 0.0)

    @property
    def thresholds(self) -> Thresholds | None:
        """Gate and offline threshold in force now (after the site's refits), with where each came from."""
        return self.calibrator.current if self.calibrator is not None else self._thresholds

    def calibration_events(self) -> list[dict[str, Any]]:
        """Refits since the last call, as ``calibration`` events (type, time, thresholds, pair counts)."""
        if self.calibrator is None:
            return []
        new = self.calibrator.history[self._reported:]
        self._reported = len(self.calibrator.history)
        return [{"type": "calibration", "time": time.time(), **r} for r in new]

    def global_id(self, camera: str, track_id: int) -> int | None:
        """The global id of a camera's local track (as the tracker numbers it), once it has one."""
        return self.ids.get((camera, int(track_id) + self.track_offsets.get(camera, 0)))

    def reset(self) -> None:
        """Forget the in-memory gallery and ids (the store keeps its records)."""
        self.matcher, self.ids = None, {}

    def close(self) -> None:
        self.store.purge()
        self.store.close()


def stage_from_config(cfg: IdentityConfig, out_dir: str | Path, embedder: str | Path | None,
                      live: bool = False) -> IdentityStage:
    """The ``streid run`` stage: store in ``out_dir``, gallery and track numbering resumed from it; wall clock live."""
    from streid.pipeline.identity.build import (
        calibrator_from_config,
        resume_matcher,
        store_from_config,
        thresholds_from_config,
    )

    if cfg.mode == "remote":
        from streid.pipeline.identity.remote import EdgeLink, RemoteIdentityStage

        r = cfg.remote
        link = EdgeLink(r.broker, r.site, r.edge, r.outbox or Path(out_dir) / "outbox.sqlite", r.max_outbox)
        return RemoteIdentityStage(link, clock="wall" if live else "video", send_crops=cfg.retention.store_crops)
    thresholds = thresholds_from_config(cfg, embedder)
    store = store_from_config(cfg, out_dir, embedder, live=live)
    offsets = dict(store.max_track_ids())  # ids count from 1: the next run's first track is max + 1
    return IdentityStage(store, lambda dim: resume_matcher(cfg, store, dim, thresholds), track_offsets=offsets,
                         clock="wall" if live else "video", thresholds=thresholds,
                         calibrator=calibrator_from_config(cfg, thresholds),
                         centering=CameraCentering() if cfg.camera_centering else None,
                         track_means=TrackMeans() if cfg.track_mean else None)
