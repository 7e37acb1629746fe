"""Events as JSON lines, one object per line, flushed per line (a killed run leaves whole lines).

Schema (every event has ``type``, ``camera`` and ``time``, the wall-clock UNIX time it was written):

- ``start`` / ``update`` / ``end`` (a tracklet of a local track)::

    {"type": "start", "camera": "cam0", "time": 1700000000.1, "track_id": 3,
     "frame": 41,              # camera frame index (0-based) at which the event was decided
     "first_frame": 12, "last_frame": 41,   # the track's lifetime so far
     "first_pts": 0.4, "last_pts": 1.367,   # and its times (s)
     "dx": 0.31,               # its net sideways walk so far, share of the frame width (+ = right)
     "frames": [12, 16, ...],  # L frame indices of the crops
     "pts": [0.4, 0.533, ...], # their presentation times (s)
     "boxes": [[x1, y1, x2, y2], ...],      # L boxes in pixels
     "embedding": [0.01, ...] | null,       # L2-normalised, null without an embedder
     "embedding_dim": 512 | 0}

  Every ``start`` is followed by exactly one ``end`` of the same (camera, track_id), at track loss,
  stream end or shutdown. ``embedding`` is omitted (``null``) when ``output.embeddings`` is ``none``.
- ``camera_error``: ``{"type", "camera", "time", "reason": str, "retry_in_s": float | null}``
  (null = not retried: offline mode or retries exhausted).
- ``camera_recovered``: ``{"type", "camera", "time"}``: the first frame after an error.
- ``camera_end``: ``{"type", "camera", "time", "frames": int}``: the camera delivered its last frame.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from streid.pipeline.sources import SourceEvent
from streid.records import Tracklet


def tracklet_event(t: Tracklet, frame: int, with_embedding: bool = True) -> dict[str, Any]:
    emb = t.embedding if with_embedding else None
    return {
        "type": t.state.value, "camera": t.camera, "time": time.time(), "track_id": t.track_id, "frame": frame,
        "first_frame": t.first_frame, "last_frame": t.last_frame,
        "first_pts": None if t.first_pts is None else round(float(t.first_pts), 6),
        "last_pts": None if t.last_pts is None else round(float(t.last_pts), 6),
        "dx": None if t.dx is None else round(float(t.dx), 4),
        "frames": t.frames.tolist(), "pts": [round(float(p), 6) for p in t.pts],
        "boxes": [[round(float(v), 2) for v in box] for box in t.boxes],
        "embedding": None if emb is None else [round(float(v), 6) for v in emb],
        "embedding_dim": 0 if emb is None else len(emb),
    }


def source_event(e: SourceEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"type": e.type, "camera": e.camera, "time": e.time}
    if e.type == "camera_error":
        out.update(reason=e.reason, retry_in_s=e.retry_in_s)
    return out


class EventWriter:
    """Append events to a JSON-lines file (thread-safe; camera threads report errors through it)."""

    def __init__(self, path: str | Path | None, rotate_bytes: int = 0) -> None:
        """``rotate_bytes`` > 0: once the file is that large it is renamed ``NAME-YYYYmmdd-HHMMSS.jsonl`` (whole
        lines only) and a new one is started, so a long live run never grows one file without bound."""
        self.path = Path(path) if path else None
        self.rotate_bytes = rotate_bytes
        self.rotated: list[Path] = []
        self._lock = threading.Lock()
        self._fh = None
        self.counts: dict[str, int] = {}
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")

    def write(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.counts[event["type"]] = self.counts.get(event["type"], 0) + 1
            if self._fh is not None:
                self._fh.write(json.dumps(event, separators=(",", ":")) + "\n")
                self._fh.flush()
                if self.rotate_bytes and self._fh.tell() >= self.rotate_bytes:
                    self._rotate()

    def _rotate(self) -> None:
        assert self.path is not None and self._fh is not None
        self._fh.close()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target, n = self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}"), 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.stem}-{stamp}-{n}{self.path.suffix}")
        self.path.rename(target)
        self.rotated.append(target)
        self._fh = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """Every event of a JSON-lines file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
