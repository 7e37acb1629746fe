"""Per-camera tracks in MOTChallenge format (``frame,id,x,y,w,h,conf,-1,-1,-1``, frame 1-based, id = track id).

Written so that tracking can be scored against ground truth (HOTA, IDF1, MOTA with ``trackers.eval``).
Rows go to ``PATH.part``; :meth:`MotWriter.close` renames it, so a killed run leaves no half file.
"""

from __future__ import annotations

import os
from pathlib import Path

from streid.records import Detections


class MotWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.part.open("w", encoding="utf-8")

    def write(self, frame_index: int, dets: Detections) -> None:
        if dets.tracker_id is None:
            raise ValueError("MOT rows need tracked detections (tracker_id)")
        for (x1, y1, x2, y2), conf, tid in zip(dets.xyxy, dets.confidence, dets.tracker_id, strict=True):
            self._fh.write(f"{frame_index + 1},{int(tid)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                           f"{conf:.4f},-1,-1,-1\n")

    def close(self) -> Path:
        if not self._fh.closed:
            self._fh.close()
            os.replace(self.part, self.path)
        return self.path
