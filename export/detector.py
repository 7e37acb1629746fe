"""Person detector (ultralytics YOLO ``.pt``) -> ONNX or TensorRT engine through ultralytics' own exporter.

Offline: ultralytics is imported through :func:`streid.offline.import_ultralytics`, INT8 calibrates on a local
data set (never ultralytics' default ``coco8.yaml``, which it would download). The export runs in a temporary
folder next to the output and is moved into place only after the ONNX graph has matched PyTorch, so a failure
never leaves a half-written artifact under the output name.

Classes: the graph keeps every class of the model (the head is not cut). STREID's synthetic detector has one
class, ``person``; a COCO model keeps its 80 classes, whose class 0 is ``person``. The pipeline keeps class 0
only, so a model whose class 0 is not a person is refused here rather than silently tracking the wrong thing.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streid.export.errors import ExportError, ParityError, TensorRTUnavailable

FORMATS = ("onnx", "engine")
PERSON_NAMES = ("person", "pedestrian")
INPUT = "images"  # ultralytics' ONNX input name: float32 (B, 3, H, W), RGB in [0, 1]
# |ONNX - PyTorch| bars on the raw head output (boxes in input pixels, scores in [0, 1]); INT8 is reported only.
TOLERANCE = {"fp32": (0.05, 1e-3), "fp16": (2.0, 0.02)}


@dataclass(frozen=True)
class DetectorParity:
    """Worst |artifact - PyTorch| on the raw head output over the batch sizes checked."""

    box_px: float
    score: float
    batches: tuple[int, ...]
    checked: bool  # False for INT8: reported, no bar

    def line(self) -> str:
        bar = "" if self.checked else " (INT8: reported, no bar)"
        sizes = ", ".join(str(b) for b in self.batches)
        return f"max |ONNX - PyTorch|: boxes {self.box_px:.4g} px, scores {self.score:.3g} (batch {sizes}){bar}"


@dataclass(frozen=True)
class DetectorExport:
    """What was written: the artifact, its settings and, for ONNX, the parity with PyTorch."""

    path: Path
    fmt: str
    imgsz: int
    precision: str
    dynamic: bool
    names: dict[int, str]
    parity: DetectorParity | None

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def default_output(weights: Path, fmt: str, precision: str) -> Path:
    """``best.onnx``, ``best.fp16.onnx``, ``best.int8.engine`` ... next to the weights."""
    tag = "" if precision == "fp32" and fmt == "onnx" else f".{precision}"
    return weights.with_name(f"{weights.stem}{tag}.{fmt}")


def trtexec_line(onnx: Path, engine: Path, imgsz: int, batch: int, precision: str) -> str:
    """The ``trtexec`` command that builds an engine from the dynamic-batch detector ONNX on the device."""
    shape = f"3x{imgsz}x{imgsz}"
    args = ["trtexec", f"--onnx={onnx}", f"--saveEngine={engine}", f"--minShapes={INPUT}:1x{shape}",
            f"--optShapes={INPUT}:{max(1, batch // 2)}x{shape}", f"--maxShapes={INPUT}:{batch}x{shape}"]
    if precision == "fp16":
        args.append("--fp16")
    return shlex.join(args)


def export_detector(
    weights: str | Path,
    out: str | Path | None = None,
    *,
    fmt: str = "onnx",
    imgsz: int | None = None,
    half: bool = False,
    int8: bool = False,
    dynamic: bool = True,
    batch: int = 8,
    data: str | Path | None = None,
    opset: int | None = None,
    device: str | None = None,
    check: bool = True,
    image: np.ndarray | None = None,
) -> DetectorExport:
    """Export YOLO ``weights`` (.pt) to ``fmt`` at ``imgsz`` (default: the size it was trained at).

    ``dynamic`` gives a batch (and image size) axis, so the pipeline batches cameras; ``batch`` is the
    largest engine batch and the INT8 calibration batch. INT8 calibrates on ``data`` (a YOLO data.yaml;
    default: the data set the weights were trained on, if it is still there). ``check`` compares the
    ONNX output with PyTorch on ``image`` (BGR; default: an image of that data set, or a drawn one).
    Raises ExportError (ParityError, TensorRTUnavailable) and leaves nothing under ``out`` on failure.
    """
    weights = Path(weights)
    if fmt not in FORMATS:
        raise ValueError(f"detector format '{fmt}': expected one of {', '.join(FORMATS)}")
    if half and int8:
        raise ValueError("choose one of half (FP16) and int8")
    if batch < 1:
        raise ValueError(f"batch {batch} must be >= 1")
    precision = "int8" if int8 else "fp16" if half else "fp32"
    if not weights.is_file():
        raise ExportError(f"{weights}: detector weights not found")
    if weights.suffix != ".pt":
        raise ExportError(f"{weights}: expected ultralytics YOLO weights (.pt); ONNX/engine files are already exported")
    target = Path(out) if out is not None else default_output(weights, fmt, precision)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        source = work / weights.name  # ultralytics writes the export next to the weights it loaded: keep it here
        shutil.copyfile(weights, source)
        model = load_yolo(source, shown=weights)
        train_args = (getattr(model, "ckpt", None) or {}).get("train_args") or {}
        imgsz = int(imgsz or _first_int(train_args.get("imgsz")) or 640)
        if fmt == "engine":
            _require_tensorrt(weights, target, imgsz, batch, precision)
        calib = _calibration_data(data, train_args, weights) if int8 else None
        kwargs: dict[str, Any] = {"format": fmt, "imgsz": imgsz, "dynamic": dynamic, "simplify": True,
                                  "quantize": {"int8": 8, "fp16": 16}.get(precision), "opset": opset,
                                  "batch": batch if fmt == "engine" or (int8 and dynamic) else 1,  # static: 1
                                  "device": device or ("0" if fmt == "engine" else "cpu")}
        if calib is not None:
            kwargs["data"] = str(calib)
        try:
            produced = Path(model.export(**kwargs))
        except Exception as exc:  # ultralytics raises many kinds; each becomes one clear, loud error
            raise ExportError(f"{weights}: ultralytics {fmt} export failed: {type(exc).__name__}: {exc}") from exc
        if not produced.is_file():
            raise ExportError(f"{weights}: ultralytics reported {produced}, which does not exist")
        parity = None
        if check and fmt == "onnx":
            sample = image if image is not None else sample_image(train_args.get("data"), imgsz)
            parity = onnx_parity(model, produced, sample, imgsz, batches=(1, 2) if dynamic else (1,),
                                 precision=precision)
        os.replace(produced, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return DetectorExport(target, fmt, imgsz, precision, dynamic, dict(model.names), parity)


def load_yolo(path: Path, shown: Path | None = None) -> Any:
    """An ultralytics YOLO detection model whose class 0 is a person; ExportError for anything else."""
    from streid.offline import import_ultralytics

    shown = shown or path
    ultralytics = import_ultralytics()
    try:
        model = ultralytics.YOLO(str(path))
    except Exception as exc:  # pickle, zip, torch and ultralytics errors all mean "not usable weights"
        text = str(exc).replace(str(path), str(shown)).replace("ERROR ❌️", "").strip()
        first = re.split(r" \(|\. |\n", text, maxsplit=1)[0][:300]  # ultralytics appends paragraphs of advice
        raise ExportError(f"{shown}: not a readable ultralytics checkpoint ({type(exc).__name__}: {first})") from None
    if model.task != "detect":
        raise ExportError(f"{shown}: a '{model.task}' model; the person detector must be a 'detect' model")
    first = str(model.names.get(0, "")).lower()
    if first not in PERSON_NAMES:
        raise ExportError(f"{shown}: class 0 is '{first}', but the pipeline keeps class 0 as the person class")
    return model


def _require_tensorrt(weights: Path, engine: Path, size: int, batch: int, precision: str) -> None:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        onnx = default_output(weights, "onnx", "fp32")
        how = (f"export the ONNX here (`streid export detector --weights {weights} --imgsz {size}`) and build the "
               "engine on the device with the line below, or run this same command there")
        if precision == "int8":
            how += " (INT8 needs calibration: run this command on the device, trtexec alone has no calibrator)"
        raise TensorRTUnavailable(f"TensorRT's Python package is not installed here; {how}",
                                  trtexec_line(onnx, engine, size, batch, precision)) from None
    import torch

    if not torch.cuda.is_available():
        raise ExportError("TensorRT is here but no CUDA GPU is visible: an engine is built on the GPU that runs it")


def _first_int(value: Any) -> int | None:
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _calibration_data(data: str | Path | None, train_args: dict[str, Any], weights: Path) -> Path:
    """A local YOLO data.yaml for INT8 calibration; never a name ultralytics would download."""
    candidate = data or train_args.get("data")
    if candidate and Path(candidate).is_file():
        return Path(candidate)
    raise ExportError(
        f"{weights}: INT8 needs calibration images: pass data=DATA.yaml (a local YOLO data set, e.g. the synthetic "
        f"one from `streid synth --only detection`); {candidate or 'no data set'} is not a file here"
    )


def split_dirs(data_yaml: str | Path) -> dict[str, list[Path]]:
    """The image folders of each split of a YOLO data.yaml (one folder or a list, as ultralytics allows), absolute."""
    import yaml

    data_yaml = Path(data_yaml)
    spec = yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}
    root = Path(spec.get("path") or data_yaml.parent)
    if not root.is_absolute():
        root = data_yaml.parent / root
    out: dict[str, list[Path]] = {}
    for split in ("train", "val"):
        value = spec.get(split, f"images/{split}")
        out[split] = [(root / str(v)).resolve() for v in (value if isinstance(value, list) else [value])]
    return out


def data_images(data_yaml: str | Path | None) -> list[Path]:
    """Image files of a YOLO data.yaml's val split (then train), sorted; empty when unavailable."""
    if not data_yaml or not Path(data_yaml).is_file():
        return []
    dirs = split_dirs(data_yaml)
    for split in ("val", "train"):
        files = sorted(p for d in dirs[split] if d.is_dir() for p in d.iterdir()
                       if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if files:
            return files
    return []


def sample_image(data_yaml: str | Path | None, imgsz: int) -> np.ndarray:
    """A BGR test image: the first val image of the training data, else a drawn scene with person-like blobs."""
    import cv2

    files = data_images(data_yaml)
    if files:
        image = cv2.imread(str(files[0]))
        if image is not None:
            return image
    rng = np.random.default_rng(0)
    h, w = imgsz, imgsz * 16 // 9
    image = np.tile(np.linspace(60, 200, w, dtype=np.uint8)[None, :, None], (h, 1, 3))
    for _ in range(4):  # upright rectangles with a head: enough to wake up a person detector's scores
        x, y = int(rng.integers(0, w - w // 8)), int(rng.integers(0, h // 2))
        bw, bh = w // 16, h // 3
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(image, (x, y + bh // 5), (x + bw, y + bh), colour, -1)
        cv2.circle(image, (x + bw // 2, y + bh // 10), bw // 3, (150, 170, 200), -1)
    return image


def to_input(images: list[np.ndarray], imgsz: int) -> np.ndarray:
    """BGR images -> the float32 (B, 3, S, S) RGB [0, 1] tensor both runtimes take (plain resize)."""
    import cv2

    batch = [cv2.resize(im, (imgsz, imgsz), interpolation=cv2.INTER_LINEAR)[..., ::-1] for im in images]
    return np.ascontiguousarray(np.stack(batch).transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def onnx_parity(model: Any, onnx_path: Path, image: np.ndarray, imgsz: int, batches: tuple[int, ...],
                precision: str) -> DetectorParity:
    """ONNX Runtime vs the PyTorch model on the raw head output; ParityError beyond the FP32/FP16 bar."""
    import onnxruntime as ort
    import torch

    net = model.model.float().eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    box_err = score_err = 0.0
    views = [image, image[:, ::-1], image[::-1]]
    for b in batches:
        x = to_input([views[i % len(views)] for i in range(b)], imgsz)
        with torch.no_grad():
            ref = net(torch.from_numpy(x))
        ref = (ref[0] if isinstance(ref, (tuple, list)) else ref).numpy()
        got = session.run(None, {session.get_inputs()[0].name: x})[0].astype(np.float32)
        if got.shape != ref.shape:
            raise ParityError(f"{onnx_path.name}: ONNX output {got.shape} differs from PyTorch {ref.shape}")
        if ref.ndim == 3 and ref.shape[-1] == 6:  # NMS-free (end-to-end) head: rows of x1 y1 x2 y2 score class
            box_err = max(box_err, float(np.abs(got[..., :4] - ref[..., :4]).max()))
            score_err = max(score_err, float(np.abs(got[..., 4] - ref[..., 4]).max()))
        else:  # raw head (B, 4 + classes, anchors): cx cy w h in pixels, then class scores
            box_err = max(box_err, float(np.abs(got[:, :4] - ref[:, :4]).max()))
            score_err = max(score_err, float(np.abs(got[:, 4:] - ref[:, 4:]).max()))
    parity = DetectorParity(box_err, score_err, batches, checked=precision in TOLERANCE)
    if parity.checked:
        box_tol, score_tol = TOLERANCE[precision]
        if box_err > box_tol or score_err > score_tol:
            raise ParityError(f"{onnx_path.name}: {parity.line()} exceeds the {precision} bar "
                              f"({box_tol} px, {score_tol} score)")
    return parity


def onnx_metadata(path: str | Path) -> dict[str, Any]:
    """ultralytics' metadata of an exported detector ONNX (imgsz, names, stride, ...), values parsed."""
    import onnxruntime as ort

    raw = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    out: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def benchmark_detector(path: str | Path, imgsz: int, images: list[np.ndarray], runs: int = 20) -> dict[str, float]:
    """Mean ms per frame (preprocess, inference, postprocess) of ultralytics predict at batch 1 on the CPU."""
    from streid.offline import import_ultralytics

    model = import_ultralytics().YOLO(str(path), task="detect")
    model.predict(images[0], imgsz=imgsz, device="cpu", verbose=False)  # warm-up: session and predictor
    totals = {"preprocess": 0.0, "inference": 0.0, "postprocess": 0.0}
    start = time.perf_counter()
    for i in range(runs):
        result = model.predict(images[i % len(images)], imgsz=imgsz, device="cpu", verbose=False)[0]
        for key in totals:
            totals[key] += result.speed[key]
    wall = (time.perf_counter() - start) * 1000 / runs
    return {**{k: v / runs for k, v in totals.items()}, "total": wall}
