"""Second render pass of ``streid reid``: draw the FINAL global ids on a camera's video from its stored local tracks.

Online ids can change after the offline clustering, so the annotated videos are drawn only once every id is final,
from the local MOT rows the first pass wrote (frame, local track id, box), not by re-running the pipeline.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path

import numpy as np

from streid.records import Detections

UNASSIGNED = "?"  # a track too short (or too poor) to become a tracklet has no global id


def read_local_tracks(path: Path) -> dict[int, Detections]:
    """0-based frame -> tracked detections (``tracker_id`` = the local track id) from ``frame,id,x,y,w,h,conf``."""
    rows: dict[int, list[list[float]]] = defaultdict(list)
    for line in Path(path).read_text().splitlines():
        if line.strip():
            rows[int(line.split(",")[0]) - 1].append([float(v) for v in line.split(",")[1:7]])
    out = {}
    for frame, items in rows.items():
        a = np.asarray(items, np.float64)
        xyxy = np.stack([a[:, 1], a[:, 2], a[:, 1] + a[:, 3], a[:, 2] + a[:, 4]], axis=1)
        out[frame] = Detections(xyxy, a[:, 5], np.zeros(len(a), np.int64), a[:, 0].astype(np.int64))
    return out


def render_camera(video: Path, tracks: Path, ids: dict[int, int], dest: Path, fps: float, trail_length: int = 30,
                  size: tuple[int, int] | None = None, stop: threading.Event | None = None) -> bool:
    """Write ``dest`` with ``G<id>`` labels coloured by global id; False (and no file) when ``stop`` was set."""
    import cv2

    from streid.pipeline.annotate import AnnotatedVideo
    from streid.pipeline.sources import camera_frames

    table = read_local_tracks(tracks)
    out = AnnotatedVideo(dest, fps, trail_length)
    for index, image in enumerate(camera_frames(video, *(size or (0, 0)))):  # decoded as in phase 1
        if stop is not None and stop.is_set():
            out.abort()
            return False
        if size is not None and (image.shape[1], image.shape[0]) != size:  # boxes are in the pipeline's frame size
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        dets = table.get(index, Detections.empty())
        local = dets.tracker_id if dets.tracker_id is not None else np.zeros(0, np.int64)
        gids = [ids.get(int(t)) for t in local]
        labels = [f"G{g}" if g is not None else UNASSIGNED for g in gids]
        out.write(image, dets, labels, np.array([g if g is not None else 0 for g in gids], np.int64))
    out.close()
    return True
