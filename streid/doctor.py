"""`streid doctor`: what this machine can run, at a glance, and the one-line fix for what it cannot."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_FIX = "run: bash scripts/install.sh"

# Elements the pipeline may use: (name, required, what it is for). Jetson-only ones are optional.
GST_ELEMENTS: tuple[tuple[str, bool, str], ...] = (
    ("appsink", True, "frames out of GStreamer"),
    ("appsrc", True, "annotated frames into the encoder"),
    ("decodebin", True, "file / URI decoding"),
    ("uridecodebin", True, "file / URI sources"),
    ("videoconvert", True, "colour conversion to BGR"),
    ("videoscale", True, "resizing"),
    ("x264enc", False, "H.264 encoding (preferred)"),
    ("openh264enc", False, "H.264 encoding (fallback)"),
    ("mp4mux", True, "MP4 output"),
    ("rtspsrc", False, "RTSP cameras"),
    ("v4l2src", False, "USB cameras"),
    ("nvv4l2decoder", False, "Jetson hardware decode"),
    ("nvvidconv", False, "Jetson hardware conversion"),
    ("nvarguscamerasrc", False, "Jetson CSI cameras"),
)


@dataclass(frozen=True)
class Check:
    """One row of the doctor's table."""

    name: str
    ok: bool
    detail: str
    required: bool = True
    fix: str = ""

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        return "MISSING" if self.required else "absent (optional)"


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _module_check(
    name: str, module: str, dist: str, *, required: bool = True, fix: str = INSTALL_FIX
) -> Check:
    try:
        importlib.import_module(module)
    except Exception as exc:  # an import that breaks is as good as absent; say why
        return Check(name, False, f"{type(exc).__name__}: {exc}".splitlines()[0], required, fix)
    return Check(name, True, _version(dist) or "installed", required)


def check_python() -> Check:
    ok = sys.version_info >= (3, 10)
    return Check("Python", ok, platform.python_version(), True, "use Python 3.10 or newer")


def check_platform() -> Check:
    model_file = Path("/proc/device-tree/model")
    detail = f"{platform.system()} {platform.machine()}"
    if model_file.is_file():
        model = model_file.read_bytes().rstrip(b"\x00").decode(errors="replace").strip()
        if "jetson" in model.lower() or "nvidia" in model.lower():
            detail += f", Jetson: {model}"
    return Check("platform", True, detail)


def check_torch() -> list[Check]:
    base = _module_check("torch", "torch", "torch")
    if not base.ok:
        return [base]
    import torch

    if torch.cuda.is_available():
        device = f"CUDA {torch.version.cuda}: {torch.cuda.get_device_name(0)}"
    else:
        device = "CPU only (no CUDA device)"
    return [
        Check("torch", True, f"{torch.__version__}; {device}"),
        _module_check("torchvision", "torchvision", "torchvision"),
    ]


def check_ultralytics() -> Check:
    from streid.offline import import_ultralytics

    try:
        ultralytics = import_ultralytics()
    except Exception as exc:
        return Check("ultralytics", False, f"{type(exc).__name__}: {exc}".splitlines()[0], True, INSTALL_FIX)
    settings = (
        f"offline (YOLO_OFFLINE={os.environ.get('YOLO_OFFLINE')}, "
        f"YOLO_AUTOINSTALL={os.environ.get('YOLO_AUTOINSTALL')}, "
        f"YOLO_CONFIG_DIR={os.environ.get('YOLO_CONFIG_DIR')})"
    )
    return Check("ultralytics", True, f"{ultralytics.__version__}; {settings}")


def check_onnx() -> list[Check]:
    checks = [_module_check("onnx", "onnx", "onnx")]
    ort = _module_check("onnxruntime", "onnxruntime", "onnxruntime")
    if ort.ok:
        import onnxruntime

        providers = ", ".join(onnxruntime.get_available_providers())
        ort = Check("onnxruntime", True, f"{ort.detail}; providers: {providers}")
    checks.append(ort)
    return checks


def check_tensorrt() -> Check:
    try:
        import tensorrt
    except Exception:
        return Check(
            "TensorRT",
            False,
            "not installed (engines need it; ONNX Runtime runs without it)",
            required=False,
            fix="on Jetson use JetPack's TensorRT (venv with --system-site-packages); "
            "on x86 install NVIDIA's tensorrt wheel",
        )
    return Check("TensorRT", True, tensorrt.__version__, required=False)


def check_gstreamer() -> list[Check]:
    apt_fix = "run: bash scripts/install.sh (installs Debian's GStreamer 1.22 and PyGObject)"
    try:
        import gi

        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
    except Exception as exc:
        return [
            Check("PyGObject", False, f"{type(exc).__name__}: {exc}".splitlines()[0], True, apt_fix),
        ]
    checks = [Check("PyGObject", True, _version("pygobject") or gi.__version__)]
    ok, _ = Gst.init_check(None)
    if not ok:
        return [*checks, Check("GStreamer", False, "Gst.init failed", True, apt_fix)]
    checks.append(Check("GStreamer", True, Gst.version_string()))
    for element, required, purpose in GST_ELEMENTS:
        factory = Gst.ElementFactory.find(element)
        detail = purpose if factory is None else f"{purpose} ({factory.get_plugin_name()})"
        checks.append(Check(f"  {element}", factory is not None, detail, required, apt_fix))
    return checks


def check_encoders(checks: list[Check]) -> Check | None:
    """At least one H.264 encoder is needed for annotated video; either will do."""
    names = {c.name.strip(): c.ok for c in checks}
    if "x264enc" in names and not (names.get("x264enc") or names.get("openh264enc")):
        return Check("H.264 encoder", False, "neither x264enc nor openh264enc", True,
                     "apt-get install gstreamer1.0-plugins-ugly (x264enc) or gstreamer1.0-plugins-bad")
    return None


def collect() -> list[Check]:
    """Every check, in table order."""
    checks: list[Check] = [check_python(), check_platform()]
    checks += check_torch()
    checks.append(check_ultralytics())
    checks += check_onnx()
    checks.append(check_tensorrt())
    gst = check_gstreamer()
    checks += gst
    encoder = check_encoders(gst)
    if encoder is not None:
        checks.append(encoder)
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.required and not c.ok]
