"""One multi-object tracker per camera (Roboflow ``trackers``); streams never share state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from streid.pipeline.appearance import AppearanceGuard
from streid.records import Detections


def tracker_factories() -> dict[str, Callable[..., Any]]:
    """Selectable trackers by name (imported on use)."""
    import trackers

    return {"bytetrack": trackers.ByteTrackTracker, "sort": trackers.SORTTracker, "ocsort": trackers.OCSORTTracker,
            "botsort": trackers.BoTSORTTracker, "cbiou": trackers.CBIoUTracker}


def state_estimators() -> dict[str, Any]:
    """Kalman state layouts of ``trackers`` by name (``params.state_estimator``)."""
    from trackers.utils import state_representations as sr

    return {"xyxy": sr.XYXYStateEstimator, "xcycwh": sr.XCYCWHStateEstimator, "xcycsr": sr.XCYCSRStateEstimator}


def iou_kinds() -> dict[str, Any]:
    """Box-overlap measures of ``trackers`` by name (``params.iou``); classes, built per tracker."""
    from trackers.utils import iou

    return {"iou": iou.IoU, "giou": iou.GIoU, "diou": iou.DIoU, "ciou": iou.CIoU, "biou": iou.BIoU}


def constructor_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """Config params -> constructor keywords: ``state_estimator`` / ``iou`` names become the trackers' objects."""
    out = dict(params)
    for key, table, target in (("state_estimator", state_estimators(), "state_estimator_class"),
                               ("iou", iou_kinds(), "iou")):
        if key not in out:
            continue
        name = out.pop(key)
        if name not in table:
            raise ValueError(f"tracker.params.{key} {name!r}: one of {', '.join(table)}")
        out[target] = table[name] if key == "state_estimator" else table[name]()
    return out


PRUNE_EVERY = 256  # frames between sweeps of ended tracks' score sums


class CameraTrackers:
    """``update(camera, detections)`` -> detections with ``tracker_id``; a new camera gets a fresh tracker.

    Track ids start at 1 (MOTChallenge numbering), so MOT files, events, the store and video labels show one number.
    ``min_track_score``: a track is reported only while the mean score of its detections so far is at least this.
    ByteTrack keeps a track alive on low-score detections once one confident box started it, so a background thing
    the detector half-believes (a dark edge at the frame border, scoring 0.15-0.35 for minutes) becomes a long
    track; a person's track averages well above the detector's calibrated threshold. Hidden tracks go on being
    tracked (their ids stay reserved) and show again if their mean rises. 0 = report every confirmed track.
    """

    def __init__(self, name: str = "bytetrack", frame_rate: float = 30.0, lost_track_buffer: int = 30,
                 params: dict[str, Any] | None = None, min_track_score: float = 0.0,
                 appearance: dict[str, float] | None = None) -> None:
        factories = tracker_factories()
        if name not in factories:
            raise ValueError(f"unknown tracker '{name}' (choices: {', '.join(factories)})")
        self.factory = factories[name]
        self.kwargs = {"frame_rate": frame_rate, "lost_track_buffer": lost_track_buffer, **(params or {})}
        try:  # a typo in tracker.params is a config error now, not a TypeError at the first frame
            self._new()
        except TypeError as exc:
            raise ValueError(f"tracker.params: {name} does not take these settings ({exc})") from None
        self.trackers: dict[str, Any] = {}
        self.last_id: dict[str, int] = {}  # ids stay unique per camera across resets (reconnects)
        self.offset: dict[str, int] = {}
        self.min_track_score = min_track_score
        self.scores: dict[str, dict[int, list[float]]] = {}  # camera -> track id -> [score sum, boxes, last step]
        self.steps: dict[str, int] = {}  # camera -> frames seen by the floor
        self.hidden: dict[str, int] = {}  # camera -> tracked boxes withheld by min_track_score
        self.appearance = appearance
        self.guards: dict[str, AppearanceGuard] = {}  # camera -> its appearance guard (appearance: its settings)

    def update(self, camera: str, detections: Detections, timestamp: float | None = None,
               image: np.ndarray | None = None) -> Detections:
        """Track one frame; ``timestamp`` (capture time, s) lets the motion model see dropped frames (live);
        ``image`` (BGR) feeds the appearance guard when it is on."""
        tracker = self.trackers.get(camera)
        if tracker is None:
            tracker = self.trackers[camera] = self._new()
        out = Detections.from_supervision(tracker.update(detections.to_supervision(), timestamp=timestamp))
        if out.tracker_id is None:
            out.tracker_id = np.full(len(out), -1, np.int64)
        out = out.select(out.tracker_id >= 0)  # -1 = not (yet) a confirmed track
        if self.appearance is not None:  # output ids in order of first appearance, swaps undone
            guard = self.guards.get(camera)
            if guard is None:
                guard = self.guards[camera] = AppearanceGuard(next_id=self.last_id.get(camera, 0) + 1,
                                                              **self.appearance)
            out.tracker_id = guard.assign(out.tracker_id, out.xyxy, image)
        else:
            out.tracker_id = out.tracker_id + 1 + self.offset.get(camera, 0)  # the trackers count from 0
        if len(out):
            self.last_id[camera] = max(self.last_id.get(camera, 0), int(out.tracker_id.max()))
        return self._score_floor(camera, out)

    def _score_floor(self, camera: str, out: Detections) -> Detections:
        """Withhold the boxes of tracks whose mean detection score is below ``min_track_score``."""
        if self.min_track_score <= 0:
            return out
        stats = self.scores.setdefault(camera, {})
        step = self.steps[camera] = self.steps.get(camera, 0) + 1
        if step % PRUNE_EVERY == 0:  # a track unseen for longer than any lost buffer has ended: memory stays bounded
            horizon = step - 4 * int(self.kwargs.get("lost_track_buffer", 30)) - PRUNE_EVERY
            for tid in [t for t, acc in stats.items() if acc[2] < horizon]:
                del stats[tid]
        keep = np.ones(len(out), bool)
        for k, (tid, conf) in enumerate(zip(out.tracker_id.tolist(), out.confidence.tolist(), strict=True)):
            acc = stats.setdefault(int(tid), [0.0, 0, step])
            acc[0] += float(conf)
            acc[1] += 1
            acc[2] = step
            keep[k] = acc[0] >= self.min_track_score * acc[1]
        if not keep.all():
            self.hidden[camera] = self.hidden.get(camera, 0) + int((~keep).sum())
            out = out.select(keep)
        return out

    def _new(self) -> Any:
        return self.factory(**constructor_kwargs(self.kwargs))  # an IoU object per tracker: no shared state

    def set_params(self, params: dict[str, float]) -> None:
        """New confidence thresholds for every camera's tracker, running or still to come."""
        self.kwargs.update(params)
        for tracker in self.trackers.values():
            for key, value in params.items():
                setattr(tracker, key, value)

    def reset(self, camera: str | None = None) -> None:
        """Forget one camera's tracks (after a reconnect) or every camera's."""
        for cam in list(self.trackers) if camera is None else [camera]:
            self.trackers.pop(cam, None)
            self.scores.pop(cam, None)
            self.guards.pop(cam, None)  # the next guard numbers on from last_id
            self.offset[cam] = self.last_id.get(cam, 0)
