"""The tracker's confidence thresholds follow the detector, so a detector that scores low still starts tracks.

ByteTrack starts a track only from a detection scoring ``track_activation_threshold`` (default 0.7) and associates
first those above ``high_conf_det_threshold`` (0.6): a detector whose scores never reach them gives no track at
all. Per key, the value in force is, in this order:

1. ``pipeline.tracker.params.KEY`` from the config;
2. the detector artifact's ``streid.detector_calibration`` entry (``export/calibration.py``
   ``write_detector_calibration``: the operating confidence chosen on a validation site);
3. estimated from the scores seen at run start: the median score of the first ``WARMUP_DETECTIONS`` detections,
   clipped to [detector conf, the tracker's own default]. Until then the running median is used, so the first
   frames already start tracks. A good detector keeps the default; a weak one gets a threshold its people reach.

The floor on a track's mean score (``pipeline.tracker.min_track_score``, see
:class:`~streid.pipeline.tracker.CameraTrackers`; off by default) can follow the same detector: ``detector``
takes the calibration's ``conf``, and is off for a detector without one (a run-start median would hide half of a
good detector's tracks).
"""

from __future__ import annotations

import inspect
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DETECTOR_KEY = "streid.detector_calibration"  # as export/calibration.py writes it
KEYS = ("track_activation_threshold", "high_conf_det_threshold")
WARMUP_DETECTIONS = 200


def detector_calibration(weights: str | Path) -> dict[str, Any] | None:
    """The detector artifact's calibration entry (ONNX/engine metadata), None when it has none."""
    path = Path(weights)
    if path.suffix.lower() not in (".onnx", ".engine") or not path.is_file():
        return None
    from streid.offline import import_ultralytics

    import_ultralytics()  # offline settings before any ultralytics module loads
    from ultralytics.nn.backends.base import BaseBackend

    raw = BaseBackend.read_metadata(path).get(DETECTOR_KEY)
    if raw is None:
        return None
    try:
        entry = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except (json.JSONDecodeError, TypeError, ValueError):
        raise ValueError(f"{path}: {DETECTOR_KEY} is not valid JSON: {raw!r}") from None
    return entry


def track_score_floor(configured: float | str, calibration: dict[str, Any] | None) -> tuple[float, str]:
    """``min_track_score`` in force and where it came from: a config number, or for ``"detector"`` the detector
    calibration's conf (off for a detector without one)."""
    if configured != "detector":
        return float(configured), "config" if configured else "off"
    if calibration is not None and "conf" in calibration:
        try:
            value = float(calibration["conf"])
        except (TypeError, ValueError):
            raise ValueError(f"detector calibration conf is not a number: {calibration['conf']!r}") from None
        if 0.0 <= value <= 1.0:
            return value, "detector calibration"
        raise ValueError(f"detector calibration conf {value} is outside [0, 1]")
    return 0.0, "off: the detector has no calibration"


def tracker_defaults(factory: Any) -> dict[str, float]:
    """The tracker's own defaults of the confidence keys it takes (ByteTrack both, SORT/OC-SORT one)."""
    params = inspect.signature(factory).parameters
    return {k: float(params[k].default) for k in KEYS if k in params}


class ActivationThresholds:
    """Resolves the confidence keys (config > artifact > scores at run start) and updates running trackers."""

    def __init__(self, factory: Any, config_params: dict[str, Any], calibration: dict[str, Any] | None,
                 det_conf: float) -> None:
        self.defaults = tracker_defaults(factory)
        self.values: dict[str, float] = {}
        self.sources: dict[str, str] = {}
        self.auto: list[str] = []
        for key, default in self.defaults.items():
            if key in config_params:
                self.values[key], self.sources[key] = float(config_params[key]), "config"
            elif calibration is not None and key in calibration:
                self.values[key], self.sources[key] = float(calibration[key]), "detector calibration"
            else:
                self.values[key], self.sources[key] = default, "scores at run start"
                self.auto.append(key)
        self.det_conf = det_conf
        self.calibration = calibration
        self.scores: list[float] = []

    @property
    def warming(self) -> bool:
        return bool(self.auto) and len(self.scores) < WARMUP_DETECTIONS

    def observe(self, confidence: np.ndarray | None) -> bool:
        """Scores of one frame's detections during warm-up; True when the thresholds changed."""
        if not self.warming or confidence is None or len(confidence) == 0:
            return False
        self.scores.extend(float(c) for c in confidence[: WARMUP_DETECTIONS - len(self.scores)])
        median = float(np.median(self.scores))
        changed = False
        for key in self.auto:
            value = round(float(np.clip(median, self.det_conf, self.defaults[key])), 4)
            changed |= value != self.values[key]
            self.values[key] = value
        if not self.warming:
            log.info("tracker thresholds from the first %d detections (median score %.3f): %s", len(self.scores),
                     median, self.line())
        return changed

    def line(self) -> str:
        return ", ".join(f"{k} {v:.3f} ({self.sources[k]})" for k, v in self.values.items())

    def reason_for_no_tracks(self, camera: str, detections: int, best: float, hidden: int = 0,
                             floor: float = 0.0) -> str:
        """One line for a camera whose detector fired but whose tracker started nothing (or hid all it had)."""
        if hidden:
            return (f"camera {camera}: {detections} detections (best score {best:.3f}); the tracker's {hidden} "
                    f"tracked boxes all belong to tracks whose mean score is under pipeline.tracker.min_track_score "
                    f"{floor:.3f}; lower it (0 = off)")
        key = "track_activation_threshold" if "track_activation_threshold" in self.values else next(iter(self.values),
                                                                                                    "")
        if not key:
            return f"camera {camera}: {detections} detections (best score {best:.3f}) but no track"
        return (f"camera {camera}: {detections} detections (best score {best:.3f}) but the tracker started no "
                f"track: pipeline.tracker.params.{key} is {self.values[key]:.3f} ({self.sources[key]}); set it "
                f"below the detector's scores")
