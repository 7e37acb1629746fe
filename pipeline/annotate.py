"""Annotated frames per camera: boxes, track ids and trails drawn by supervision; an MP4 of them by Mp4Writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from streid.media import Mp4Writer
from streid.records import Detections


class FrameAnnotator:
    """Draws tracked boxes, labels and trails on a copy of each frame of one camera (trails are per-camera state)."""

    def __init__(self, trail_length: int = 30) -> None:
        import supervision as sv

        by_track = sv.ColorLookup.TRACK  # one colour per track id, not per class (all are persons)
        self.boxes = sv.BoxAnnotator(thickness=2, color_lookup=by_track)
        self.labels = sv.LabelAnnotator(text_scale=0.4, text_padding=3, color_lookup=by_track)
        self.trace = sv.TraceAnnotator(
            trace_length=trail_length, position=sv.Position.BOTTOM_CENTER, color_lookup=by_track
        ) if trail_length else None

    def draw(self, image: np.ndarray, dets: Detections, labels: list[str] | None = None,
             colours: np.ndarray | None = None) -> np.ndarray:
        """The annotated copy of ``image``; labels default to ``#track``; ``colours`` (N,) ints pick palette
        entries, e.g. global ids, while trails stay keyed by the local track so they survive a track getting its
        global id."""
        canvas = image.copy()
        if len(dets):
            sv_dets: Any = dets.to_supervision()
            lookup = None if colours is None else np.asarray(colours, np.int64)
            canvas = self.boxes.annotate(canvas, sv_dets, custom_color_lookup=lookup)
            if self.trace is not None:
                canvas = self.trace.annotate(canvas, sv_dets, custom_color_lookup=lookup)
            if labels is None:
                labels = [f"#{t}" for t in (dets.tracker_id if dets.tracker_id is not None else [])]
            canvas = self.labels.annotate(canvas, sv_dets, labels=labels or None, custom_color_lookup=lookup)
        return canvas


class AnnotatedVideo:
    """Annotated frames appended to ``PATH`` (``.part`` until closed): drawn here (``write``) or already drawn
    (``append``, when the same drawing also feeds the live outputs)."""

    def __init__(self, path: str | Path | Callable[[], Path], fps: float, trail_length: int = 30,
                 fragment_ms: int = 0, segment_frames: int = 0) -> None:
        """``path`` may be a callable giving each new file's path: with ``segment_frames``, a new file (a new
        ``path()``) starts every that many frames; ``fragment_ms`` writes crash-tolerant fragmented MP4s."""
        self._next_path = path if callable(path) else (lambda: Path(path))
        self.path, self.fps = Path(path) if not callable(path) else Path(), fps
        self.fragment_ms, self.segment_frames = fragment_ms, segment_frames
        self.finished: list[Path] = []  # earlier segments, closed
        self.trail_length = trail_length
        self.annotator: FrameAnnotator | None = None
        self.writer: Mp4Writer | None = None

    def write(self, image: np.ndarray, dets: Detections, labels: list[str] | None = None,
              colours: np.ndarray | None = None) -> None:
        """Draw ``dets`` on ``image`` (see :meth:`FrameAnnotator.draw`) and append it."""
        if self.annotator is None:
            self.annotator = FrameAnnotator(self.trail_length)
        self.append(self.annotator.draw(image, dets, labels, colours))

    def append(self, canvas: np.ndarray) -> None:
        """Append one already annotated BGR frame (a new segment file every ``segment_frames``)."""
        if self.writer is not None and self.segment_frames and self.writer.frames >= self.segment_frames:
            self.finished.append(self.writer.close())  # rotate: the next frame starts a new file
            self.writer = None
        if self.writer is None:
            h, w = canvas.shape[:2]
            self.path = self._next_path()
            self.writer = Mp4Writer(self.path, w, h, self.fps or 30.0, fragment_ms=self.fragment_ms)
        self.writer.write(canvas)

    def close(self) -> Path | None:
        """Finalise the MP4 (EOS, then rename from .part); None when no frame was written."""
        return self.writer.close() if self.writer is not None else None

    def abort(self) -> None:
        """Stop without finalising (an interrupted job); the partial file is removed."""
        if self.writer is not None:
            self.writer.abort()
