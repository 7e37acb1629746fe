"""Why a run kept nothing: per-camera counts from detector to tracklet, and one line naming what removed them.

A camera that detects people but ends with no tracklet (people too small for the crop gate, a tracker that never
confirms a track) would otherwise end quietly with "0 tracklets"; :meth:`Funnel.explain` names the gate or
threshold that removed everything and the config key to change.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from streid.pipeline.tracklets import GateParams, passing
from streid.records import Detections

GATE_KEYS = {name: f"pipeline.tracklets.{name}" for name in GateParams.__dataclass_fields__}
TRACKER_KEY = "pipeline.tracker.params.track_activation_threshold"
SCORE_KEY = "pipeline.tracker.min_track_score"


@dataclass
class Funnel:
    """Counts of one camera: boxes detected, tracked, passing the crop gate, and tracklets started."""

    frames: int = 0
    detected: int = 0
    tracked: int = 0
    good: int = 0
    tracklets: int = 0
    max_conf: float = 0.0
    max_height: float = 0.0
    rejected: Counter = field(default_factory=Counter)  # gate criterion -> tracked boxes it failed

    def see(self, dets: Detections, tracked: Detections, fails: dict[str, np.ndarray]) -> None:
        """One frame: its detections, the tracked ones, and which crop-gate criteria each tracked box failed (the
        tracklet buffer's :attr:`~streid.pipeline.tracklets.TrackletBuffer.last_fails`, computed once per frame)."""
        self.frames += 1
        self.detected += len(dets)
        if len(dets):
            self.max_conf = max(self.max_conf, float(dets.confidence.max()))
            self.max_height = max(self.max_height, float((dets.xyxy[:, 3] - dets.xyxy[:, 1]).max()))
        self.tracked += len(tracked)
        if len(tracked) and fails:
            self.good += int(passing(fails).sum())
            self.rejected.update({name: int(mask.sum()) for name, mask in fails.items() if mask.any()})

    def explain(self, camera: str, gate: GateParams, seq_len: int, hidden: int = 0,
                floor: float = 0.0) -> str | None:
        """One line when boxes were detected but no tracklet came of them; None otherwise.

        ``hidden``: tracked boxes the tracker withheld for their track's low mean score (``floor``)."""
        if self.tracklets or not self.detected:
            return None
        head = f"camera {camera}: {self.detected} boxes detected in {self.frames} frames but no tracklet"
        if not self.tracked and hidden:
            return (f"{head}: every track's mean score stayed under {floor:.2f} (detector confidence at most "
                    f"{self.max_conf:.2f}); lower {SCORE_KEY} (0 = off)")
        if not self.tracked:
            return (f"{head}: the tracker confirmed no track (detector confidence at most {self.max_conf:.2f}); "
                    f"lower {TRACKER_KEY} or pipeline.detector.conf")
        if not self.good:
            name, count = self.rejected.most_common(1)[0]
            value = getattr(gate, name)
            detail = {"min_height": f", boxes at most {self.max_height:.0f} px tall",
                      "min_conf": f", confidence at most {self.max_conf:.2f}"}.get(name, "")
            return (f"{head}: the crop gate {name}={value:g} rejected {count} of {self.tracked} tracked boxes"
                    f"{detail}; change {GATE_KEYS[name]} (or run at a higher resolution)")
        return (f"{head}: {self.good} crops passed the gate but no track kept {seq_len} of them; "
                f"lower pipeline.tracklets.seq_len (or the embedder's L) or pipeline.tracklets.min_height")
