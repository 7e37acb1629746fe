"""Person detectors: ultralytics YOLO batched across cameras, or MOTChallenge detection files.

Both take the frames of one step (one per camera) and return one :class:`Detections` per frame,
persons only (class 0), so tracking can be judged apart from detection by swapping the detector.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from streid.records import Detections, Frame

PERSON = 0


class Detector(Protocol):
    def detect(self, frames: list[Frame]) -> list[Detections]: ...


class YoloDetector:
    """ultralytics YOLO from a user's weights (.pt/.onnx/.engine, or a model .yaml for an untrained net).

    No weights = the built-in default (``deploy/models/person_detector.onnx``, see streid.defaults); a model
    name registered with ``streid models`` (e.g. ``yolo11n`` once pulled) = its file;
    ``imgsz`` 0 = the size the model was trained/exported at (its metadata), 640 when it does not say.
    One ``predict`` call per step on the list of frames of all cameras (one batch), persons only.
    """

    def __init__(self, weights: str | Path = "", imgsz: int = 0, conf: float = 0.25, iou: float = 0.7,
                 device: str = "cpu", half: bool = False) -> None:
        from streid.defaults import default_detector, resolve_detector
        from streid.offline import import_ultralytics

        text = resolve_detector(str(weights)) or str(default_detector())  # a `streid models` name -> its file
        if not text.endswith(".yaml") and not Path(text).is_file():
            raise FileNotFoundError(f"detector weights not found: {text}")
        ultralytics = import_ultralytics()
        task = "detect" if Path(text).suffix in (".onnx", ".engine") else None
        self.model = ultralytics.YOLO(text, task=task) if task else ultralytics.YOLO(text)
        self.weights = Path(text)
        self.imgsz = imgsz or native_imgsz(self.model, text)
        self.conf, self.iou, self.device, self.half = conf, iou, device, half

    def warmup(self) -> None:
        """One predict on a blank image: ultralytics builds its predictor (and an engine its context) here."""
        self.model.predict(np.zeros((self.imgsz, self.imgsz, 3), np.uint8), imgsz=self.imgsz, device=self.device,
                           half=self.half, verbose=False)

    def detect(self, frames: list[Frame]) -> list[Detections]:
        if not frames:
            return []
        results = self.model.predict(
            [f.image for f in frames], imgsz=self.imgsz, conf=self.conf, iou=self.iou, device=self.device,
            half=self.half, classes=[PERSON], verbose=False,
        )
        return [_from_result(r) for r in results]


def native_imgsz(model: Any, weights: str) -> int:
    """The input size a model was trained (.pt) or exported (.onnx/.engine) at, from its own metadata; else 640."""
    from ultralytics.nn.backends.base import BaseBackend

    if Path(weights).suffix == ".pt":
        value = ((getattr(model, "ckpt", None) or {}).get("train_args") or {}).get("imgsz")
    else:
        value = BaseBackend.read_metadata(weights).get("imgsz")
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            value = None
    if isinstance(value, (list, tuple)) and value:
        value = max(value)
    return int(value) if isinstance(value, (int, float)) and value >= 32 else 640


def _from_result(result: Any) -> Detections:
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return Detections.empty()
    cls = boxes.cls.cpu().numpy().astype(np.int64)
    keep = cls == PERSON  # predict(classes=[0]) already filters; engines built without NMS may not
    return Detections(boxes.xyxy.cpu().numpy()[keep], boxes.conf.cpu().numpy()[keep], cls[keep])


def read_mot_file(path: str | Path, min_conf: float = 0.0) -> dict[int, Detections]:
    """Rows ``frame,id,x,y,w,h,conf,...`` (frame 1-based) -> {0-based frame index: Detections}.

    gt.txt rows whose 8th column (class) is not 1 (pedestrian) or whose ``conf`` is 0 (ignored) are dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MOT detection file not found: {path}")
    rows: dict[int, list[list[float]]] = defaultdict(list)
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in line.replace(" ", "").split(",")]
        except ValueError:
            raise ValueError(f"{path}:{lineno}: not a MOT row (frame,id,x,y,w,h,conf,...): {line!r}") from None
        if len(values) < 7:
            raise ValueError(f"{path}:{lineno}: expected at least 7 columns, got {len(values)}")
        if (len(values) >= 8 and values[7] not in (-1, 1)) or values[6] < min_conf:
            continue
        rows[int(values[0]) - 1].append(values)
    out: dict[int, Detections] = {}
    for frame, items in rows.items():
        arr = np.asarray(items, np.float64)
        xyxy = np.stack([arr[:, 2], arr[:, 3], arr[:, 2] + arr[:, 4], arr[:, 3] + arr[:, 5]], axis=1)
        out[frame] = Detections(xyxy, np.clip(arr[:, 6], 0.0, 1.0), np.zeros(len(arr), np.int64))
    return out


class MOTDetFileDetector:
    """Public detections from MOTChallenge det.txt / gt.txt, one file per camera; frame i -> row i+1."""

    def __init__(self, files: dict[str, str | Path], min_conf: float = 0.0) -> None:
        self.tables = {camera: read_mot_file(path, min_conf) for camera, path in files.items()}

    def detect(self, frames: list[Frame]) -> list[Detections]:
        out = []
        for frame in frames:
            table = self.tables.get(frame.camera)
            if table is None:
                raise KeyError(f"no MOT detection file for camera '{frame.camera}'")
            out.append(table.get(frame.index, Detections.empty()))
        return out
