"""Image-sequence cameras: a folder of numbered frames (MOTChallenge ``img1/``) or a ``img1/%06d.jpg`` pattern.

MOTChallenge and most data sets ship video this way. The folder is read by ``multifilesrc`` (a printf pattern,
a start and stop index), so the numbering must be contiguous with one width and one extension; the frame rate
comes from the sequence's ``seqinfo.ini`` when it has one (MOTChallenge), else the camera's ``capture_fps``.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path

IMAGE_CAPS = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
_NUMBERED = re.compile(r"(\d+)(\.[A-Za-z]+)")
_PATTERN = re.compile(r"%(0\d+)?d")


class SequenceError(ValueError):
    """An image folder or pattern that cannot be read as one camera; the message says why."""


@dataclass(frozen=True)
class ImageSequence:
    location: str  # multifilesrc printf pattern (any other '%' escaped)
    start: int
    stop: int
    caps: str  # image/jpeg or image/png
    fps: float
    frames: int


def is_image_sequence(uri: str) -> bool:
    """A folder, or a path whose file name holds one printf ``%d`` / ``%06d`` counter."""
    path = Path(uri).expanduser()
    return path.is_dir() or bool(_PATTERN.search(path.name))


def open_sequence(uri: str, default_fps: float) -> ImageSequence:
    """Resolve a folder or pattern into what multifilesrc needs; SequenceError when it is not one clean sequence."""
    path = Path(uri).expanduser().resolve()
    if path.is_dir():
        folder, numbered = path, [(_NUMBERED.fullmatch(p.name), p) for p in path.iterdir() if p.is_file()]
        hits = [(m.group(1), m.group(2).lower()) for m, _ in numbered if m and m.group(2).lower() in IMAGE_CAPS]
        if not hits:
            raise SequenceError(f"{path}: folder holds no numbered images (*.jpg / *.png, e.g. 000001.jpg)")
        widths, exts = {len(d) for d, _ in hits}, {e for _, e in hits}
        if len(exts) > 1 or len(widths) > 1:
            raise SequenceError(f"{path}: mixed image names ({sorted(exts)} / widths {sorted(widths)}); "
                                "give a pattern such as DIR/%06d.jpg")
        ext, width = exts.pop(), widths.pop()
        real_ext = next(m.group(2) for m, _ in numbered if m and m.group(2).lower() == ext)
        indices = sorted(int(d) for d, _ in hits)
        name_pattern = f"%0{width}d{real_ext}"
    else:
        folder = path.parent
        if not folder.is_dir():
            raise SequenceError(f"{folder}: image folder not found")
        if len(_PATTERN.findall(path.name)) != 1 or "%" in _PATTERN.sub("", path.name):
            raise SequenceError(f"{path.name}: a pattern holds exactly one %d or %0Nd counter")
        ext = path.suffix.lower()
        rx = re.compile(re.escape(path.name).replace(re.escape(_PATTERN.search(path.name).group(0)), r"(\d+)"))
        indices = sorted(int(m.group(1)) for p in folder.iterdir() if (m := rx.fullmatch(p.name)))
        if not indices:
            raise SequenceError(f"{path}: no file matches the pattern")
        name_pattern = path.name
    if ext not in IMAGE_CAPS:
        raise SequenceError(f"{path}: image sequences are .jpg/.jpeg/.png, not '{ext}'")
    start, stop = indices[0], indices[-1]
    if stop - start + 1 != len(indices):
        raise SequenceError(f"{path}: frames {start}..{stop} have gaps ({stop - start + 1 - len(indices)} missing)")
    location = str(folder).replace("%", "%%") + "/" + name_pattern
    return ImageSequence(location, start, stop, IMAGE_CAPS[ext], _seqinfo_fps(folder) or default_fps, len(indices))


def _seqinfo_fps(folder: Path) -> float | None:
    """``frameRate`` of a MOTChallenge ``seqinfo.ini`` beside ``img1/`` (or in the folder itself)."""
    for ini in (folder.parent / "seqinfo.ini", folder / "seqinfo.ini"):
        if ini.is_file():
            parser = configparser.ConfigParser()
            try:
                parser.read(ini)
                rate = float(parser["Sequence"]["frameRate"])
            except (configparser.Error, KeyError, ValueError):
                return None
            return rate if rate > 0 else None
    return None
