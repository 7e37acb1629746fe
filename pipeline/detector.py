"""Person detectors: ultralytics YOLO batched across cameras, or MOTChallenge detection files.

Both take the frames of one step (one per camera) and return one :class:`Detections` per frame,
persons only (class 0), so tracking can be judged apart from detection by swapping the detector.
"""

from __future__ import annotations

import ast
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from streid.pipeline.prefilter import NoiseGate, resolve_prefilter, smooth
from streid.records import Detections, Frame

log = logging.getLogger(__name__)
PERSON = 0


class Detector(Protocol):
    def detect(self, frames: list[Frame]) -> list[Detections]: ...


@dataclass(frozen=True)
class Zoom:
    """A second pass at a larger input size for people too small for the first, each pass kept to its valid range.

    A detector trained at one input size sees people only within the range of sizes its training had: run larger,
    it finds far (small) people it missed, but people near the camera become larger than any it saw and it
    fragments them. So each pass keeps only the boxes it is good at (SNIP's valid ranges, Singh & Davis 2018):
    the zoom pass those shorter than ``below`` × the frame height, the first pass those taller than
    ``below × overlap`` × it; the band in between goes through NMS.
    """

    imgsz: int
    below: float = 0.35
    overlap: float = 0.7
    source: str = "config"

    def __post_init__(self) -> None:
        if self.imgsz < 32 or not 0.0 < self.below <= 1.0 or not 0.0 < self.overlap <= 1.0:
            raise ValueError(f"detector zoom: imgsz >= 32, below and overlap in (0, 1], got {self}")


def resolve_zoom(calibration: dict[str, Any] | None, imgsz: int | None, below: float | None,
                 overlap: float | None) -> Zoom | None:
    """The zoom pass in force: the config's values over the detector artifact's (``zoom`` in its calibration).

    ``imgsz`` None = the artifact's choice (none when it has none), 0 = off.
    """
    own = (calibration or {}).get("zoom") or {}
    size = own.get("imgsz") if imgsz is None else imgsz
    if not size:
        return None
    return Zoom(int(size), float(below if below is not None else own.get("below", Zoom.below)),
                float(overlap if overlap is not None else own.get("overlap", Zoom.overlap)),
                "config" if imgsz is not None else "detector calibration")


def merge_passes(first: Detections, zoomed: Detections, frame_height: int, zoom: Zoom, iou: float) -> Detections:
    """Each pass's boxes within its valid range (see :class:`Zoom`), overlaps resolved by NMS at ``iou``."""
    import torch
    from torchvision.ops import nms

    def within(d: Detections, lo: float, hi: float) -> Detections:
        h = d.xyxy[:, 3] - d.xyxy[:, 1]
        keep = (h >= lo * frame_height) & (h < hi * frame_height)
        return Detections(d.xyxy[keep], d.confidence[keep], d.class_id[keep])

    a = within(first, zoom.below * zoom.overlap, np.inf)
    b = within(zoomed, 0.0, zoom.below)
    xyxy = np.concatenate([a.xyxy, b.xyxy]).astype(np.float32)
    conf = np.concatenate([a.confidence, b.confidence]).astype(np.float32)
    cls = np.concatenate([a.class_id, b.class_id])
    if len(conf) == 0:
        return Detections.empty()
    keep = np.sort(nms(torch.from_numpy(xyxy), torch.from_numpy(conf), iou).numpy())
    return Detections(xyxy[keep], conf[keep], cls[keep])


class YoloDetector:
    """ultralytics YOLO from a user's weights (.pt/.onnx/.engine, or a model .yaml for an untrained net).

    No weights = the built-in default (``deploy/models/person_detector.onnx``, see streid.defaults); a model
    name registered with ``streid models`` (e.g. ``yolo11n`` once pulled) = its file;
    ``imgsz`` 0 = the size the model was trained/exported at (its metadata), 640 when it does not say.
    One ``predict`` call per step on the list of frames of all cameras (one batch), persons only; a second one
    at the zoom size when a :class:`Zoom` is in force (``zoom_*``: see :func:`resolve_zoom`).
    """

    def __init__(self, weights: str | Path = "", imgsz: int = 0, conf: float = 0.25, iou: float = 0.7,
                 device: str = "cpu", half: bool = False, zoom_imgsz: int | None = None,
                 zoom_below: float | None = None, zoom_overlap: float | None = None,
                 prefilter: float | None = None, prefilter_min_noise: float | None = None) -> None:
        from streid.defaults import default_detector, resolve_detector
        from streid.offline import import_ultralytics
        from streid.pickle_guard import check_pickle

        text = resolve_detector(str(weights)) or str(default_detector())  # a `streid models` name -> its file
        if not text.endswith(".yaml") and not Path(text).is_file():
            raise FileNotFoundError(f"detector weights not found: {text}")
        if Path(text).suffix == ".pt":  # ultralytics unpickles it in full: refuse globals that run code first
            check_pickle(text)
        ultralytics = import_ultralytics()
        task = "detect" if Path(text).suffix in (".onnx", ".engine") else None
        self.weights = Path(text)
        with self._loading():
            self.model = ultralytics.YOLO(text, task=task) if task else ultralytics.YOLO(text)
            self.imgsz = imgsz or native_imgsz(self.model, text)
        self.conf, self.iou, self.device, self.half = conf, iou, device, half
        from streid.pipeline.activation import detector_calibration, track_score_floor

        self.calibration = detector_calibration(text)  # read once: the runner's tracker thresholds use it too
        try:  # a hand-edited conf fails here, naming the file, not in the runner
            track_score_floor("detector", self.calibration)
        except ValueError as exc:
            from streid.errors import InputError

            raise InputError(f"{self.weights}: {exc} (its streid.detector_calibration metadata)") from None
        with self._metadata("zoom"):
            self.zoom = resolve_zoom(self.calibration, zoom_imgsz, zoom_below, zoom_overlap)
        if self.zoom is not None and self.zoom.imgsz <= self.imgsz:  # a "zoom" no larger than the first pass
            from streid.errors import InputError

            if self.zoom.source == "config":
                raise InputError(f"pipeline.detector.zoom_imgsz {self.zoom.imgsz} must be larger than the first "
                                 f"pass's imgsz {self.imgsz} (or 0 for one pass)")
            log.info("detector: its zoom pass at imgsz %d is no larger than imgsz %d: one pass", self.zoom.imgsz,
                     self.imgsz)
            self.zoom = None
        with self._metadata("prefilter"):
            self.prefilter = resolve_prefilter(self.calibration, prefilter, prefilter_min_noise)
        self.noise_gate = NoiseGate(self.prefilter) if self.prefilter is not None else None
        if self.zoom is not None:  # the same session runs both sizes: two ONNX Runtime sessions' spinning thread
            _check_resizable(self.weights)  # pools fight over the cores (36 vs 21 ms per frame on 2 cores)

    def warmup(self) -> None:
        """One predict on a blank image: ultralytics builds its predictor (and an engine its context) here."""
        with self._loading():  # an ONNX file is opened only now
            for size in self._sizes():
                self.model.predict(np.zeros((size, size, 3), np.uint8), imgsz=size, device=self.device,
                                   half=self.half, verbose=False)

    def _sizes(self) -> list[int]:
        return [self.imgsz, *([self.zoom.imgsz] if self.zoom is not None else [])]

    @contextmanager
    def _metadata(self, what: str) -> Iterator[None]:
        """A hand-edited calibration entry (``what``): one line naming the file, not a traceback."""
        from streid.errors import InputError

        try:
            yield
        except (TypeError, ValueError) as exc:
            raise InputError(f"{self.weights}: unusable {what} in its streid.detector_calibration metadata "
                             f"({exc})") from None

    @contextmanager
    def _loading(self) -> Iterator[None]:
        """ultralytics raises TypeError/RuntimeError/... for a file that is not a model: one line naming it."""
        from streid.errors import InputError

        try:
            yield
        except MemoryError:
            raise
        except Exception as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"{self.weights}: not a usable detector model ({reason})") from None

    def _predict(self, images: list[np.ndarray], size: int, sigmas: list[float]) -> list[Detections]:
        """One pass at ``size``, each frame low-passed first by its sigma (0 = as it is; boxes in frame pixels)."""
        inputs, scales = map(list, zip(*(smooth(im, size, s) for im, s in zip(images, sigmas, strict=True)),
                                       strict=True))
        out = [_from_result(r) for r in self.model.predict(
            inputs, imgsz=size, conf=self.conf, iou=self.iou, device=self.device, half=self.half,
            classes=[PERSON], verbose=False)]
        for d, (kx, ky) in zip(out, scales, strict=True):
            if (kx, ky) != (1.0, 1.0):
                d.xyxy = (d.xyxy * np.array([kx, ky, kx, ky], np.float32)).astype(np.float32)
        return out

    def detect(self, frames: list[Frame]) -> list[Detections]:
        if not frames:
            return []
        images = [f.image for f in frames]
        gate = self.noise_gate
        sigmas = [gate.sigma(f.camera, f.image, self.imgsz) if gate else 0.0 for f in frames]
        passes = [self._predict(images, size, sigmas) for size in self._sizes()]
        if self.zoom is None:
            return passes[0]
        return [merge_passes(a, b, im.shape[0], self.zoom, self.iou)
                for a, b, im in zip(passes[0], passes[1], images, strict=True)]


def _check_resizable(weights: Path) -> None:
    """A zoom pass needs a model that takes another input size: a .pt, or an ONNX exported with dynamic axes."""
    from streid.errors import InputError

    if weights.suffix == ".onnx":
        import onnx

        dims = onnx.load(str(weights), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
        if all(d.dim_param for d in list(dims)[2:]):
            return
    elif weights.suffix != ".engine":
        return
    raise InputError(f"{weights}: pipeline.detector.zoom_imgsz needs a model that takes another input size "
                     "(a .pt, or an ONNX exported with --dynamic); set zoom_imgsz: 0 for one pass")


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
