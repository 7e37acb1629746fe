"""Calibrations written into artifacts: the re-id matcher's thresholds and the detector's operating confidence.

Both rewrite an ONNX file's ``metadata_props`` atomically (a temporary sibling, then ``os.replace``): an
interrupted write leaves the old artifact whole. The re-id entry is ``streid.calibration`` (see
``streid.pipeline.identity.calibration.Calibration``); the detector entry is ``streid.detector_calibration``
next to ultralytics' own keys, which ultralytics ignores and the pipeline reads (``pipeline/activation.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from streid.export.metadata import read_onnx_meta

DETECTOR_KEY = "streid.detector_calibration"
DETECTOR_CALIBRATION_VERSION = 1


def _rewrite_props(onnx_path: Path, props: dict[str, str]) -> None:
    """Set ``props`` in the file's metadata_props (others kept), written whole or not at all."""
    import onnx

    from streid.export.onnx_export import temp_path

    if not onnx_path.is_file():
        raise FileNotFoundError(f"{onnx_path}: ONNX file not found")
    model = onnx.load(str(onnx_path))
    keep = [(p.key, p.value) for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    for key, value in [*keep, *props.items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    tmp = temp_path(onnx_path)
    try:
        onnx.save(model, str(tmp))
        os.replace(tmp, onnx_path)
    finally:
        tmp.unlink(missing_ok=True)


def write_calibration(onnx_path: str | Path, entry: dict[str, Any]) -> None:
    """Store a re-id calibration entry (``Calibration.entry()``) as ``streid.calibration`` in a STREID artifact."""
    from streid.export.metadata import to_props

    onnx_path = Path(onnx_path)
    read_onnx_meta(onnx_path)  # refuses a file that is not a STREID re-id artifact
    missing = [k for k in ("version", "gate", "offline_threshold", "n_pos", "n_neg", "source") if k not in entry]
    if missing:
        raise ValueError(f"{onnx_path}: calibration entry lacks {', '.join(missing)}")
    _rewrite_props(onnx_path, to_props({"calibration": entry}))


def write_detector_calibration(onnx_path: str | Path, conf: float, *, activation: float | None = None,
                               high_conf: float | None = None, source: str = "",
                               zoom: dict[str, Any] | None = None,
                               prefilter: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the operating confidence of an ultralytics-exported detector ONNX into its metadata.

    ``conf``: the detector's operating confidence (chosen on a validation site); the tracker starts tracks from
    detections at ``activation`` and associates first those at ``high_conf`` (both default to ``conf``), so a
    detector whose scores never reach ByteTrack's default 0.7 still starts tracks. ``zoom`` (``imgsz``,
    ``below``, ``overlap``, ``source``): the second pass the pipeline runs by default
    (``streid.pipeline.detector.Zoom``, chosen on validation sites). ``prefilter`` (``sigma``, ``min_noise``,
    ``source``): the low-pass the pipeline applies by default, before this detector, to the frames of cameras at
    least that noisy (``streid.pipeline.prefilter``).
    Returns the entry written.
    """
    values = {"conf": conf, "track_activation_threshold": conf if activation is None else activation,
              "high_conf_det_threshold": conf if high_conf is None else high_conf}
    for key, value in values.items():
        if not 0.0 < float(value) < 1.0:
            raise ValueError(f"detector calibration: {key} must be in (0, 1), got {value!r}")
    entry: dict[str, Any] = {"version": DETECTOR_CALIBRATION_VERSION,
                             **{k: round(float(v), 4) for k, v in values.items()}, "source": source}
    if zoom:
        from streid.pipeline.detector import Zoom

        checked = Zoom(int(zoom["imgsz"]), float(zoom.get("below", Zoom.below)),
                       float(zoom.get("overlap", Zoom.overlap)))  # raises on values the pipeline would refuse
        entry["zoom"] = {"imgsz": checked.imgsz, "below": checked.below, "overlap": checked.overlap,
                         "source": str(zoom.get("source", ""))}
    if prefilter:
        from streid.pipeline.prefilter import check_min_noise, check_prefilter

        entry["prefilter"] = {"sigma": check_prefilter(prefilter["sigma"]),
                              "min_noise": check_min_noise(prefilter.get("min_noise", 0.0)),
                              "source": str(prefilter.get("source", ""))}
    _rewrite_props(Path(onnx_path), {DETECTOR_KEY: json.dumps(entry, sort_keys=True)})
    return entry
