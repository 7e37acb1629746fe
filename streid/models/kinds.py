"""What a model file is, from its contents (never its name): ultralytics checkpoint, torchreid OSNet state dict,
STREID checkpoint, STREID ONNX artifact, or an ultralytics ONNX detector.

PyTorch files are zip archives with a pickle inside; the pickle's imports are read without running it
(``pickletools``), so an unknown file never executes code while it is being looked at.
"""

from __future__ import annotations

import pickletools
import zipfile
from dataclasses import dataclass
from pathlib import Path

from streid.models.registry import ModelError

KINDS = {
    "ultralytics": "detector", "onnx-detector": "detector",
    "torchreid": "reid", "streid-checkpoint": "reid", "streid-onnx": "reid",
}
STREID_FORMAT = b"streid-checkpoint"


@dataclass(frozen=True)
class Kind:
    """``kind`` (a key of KINDS), its task, and the architecture when the file says (torchreid, streid)."""

    kind: str
    task: str
    arch: str = ""


def _pickle_globals(path: Path) -> tuple[set[str], bytes]:
    """Modules a torch zip checkpoint's pickle imports, and the pickle bytes."""
    with zipfile.ZipFile(path) as archive:
        name = next((n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if name is None:
            return set(), b""
        data = archive.read(name)
    modules: set[str] = set()
    strings: list[str] = []
    for op, arg, _pos in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
            modules.add(arg.split(" ")[0])
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE") and isinstance(arg, str):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            modules.add(strings[-2])
    return modules, data


def _onnx_kind(path: Path) -> Kind:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"{path}: not a readable ONNX file ({exc})") from None
    props = {p.key: p.value for p in model.metadata_props}
    if "streid.model" in props:
        return Kind("streid-onnx", "reid", props["streid.model"])
    if props.get("task") == "detect" or "names" in props:
        return Kind("onnx-detector", "detector", props.get("description", ""))
    raise ModelError(f"{path}: an ONNX file with neither STREID metadata nor an ultralytics detector's")


def _torchreid(path: Path) -> Kind:
    from streid.train.models.torchreid_weights import TorchreidWeightsError, detect_arch, read_state

    try:
        return Kind("torchreid", "reid", detect_arch(read_state(path), str(path)))
    except TorchreidWeightsError as exc:
        raise ModelError(str(exc)) from None


def detect_kind(path: str | Path) -> Kind:
    """The kind of model file ``path`` is; ModelError naming the file when it is none STREID can use."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: file not found")
    if path.suffix.lower() == ".onnx":
        return _onnx_kind(path)
    if zipfile.is_zipfile(path):
        try:
            modules, data = _pickle_globals(path)
        except (zipfile.BadZipFile, ValueError, EOFError) as exc:
            raise ModelError(f"{path}: damaged PyTorch archive ({exc})") from None
        if any(m == "ultralytics" or m.startswith("ultralytics.") for m in modules):
            return Kind("ultralytics", "detector")
        if STREID_FORMAT in data:
            return Kind("streid-checkpoint", "reid")
        return _torchreid(path)
    with path.open("rb") as f:
        head = f.read(64)
    if head.startswith(b"\x80"):  # a pickle: PyTorch's format before 1.6, which torchreid's model zoo files use
        return _torchreid(path)
    head = head.lstrip().lower()
    what = "a web page (HTML)" if head.startswith((b"<!doctype", b"<html")) else "not a model file STREID reads"
    raise ModelError(f"{path}: {what}; expected an ultralytics .pt, a torchreid OSNet state dict, "
                     "a STREID checkpoint or a STREID/ultralytics ONNX")
