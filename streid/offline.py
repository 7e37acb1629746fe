"""Keep ultralytics offline: no network, no run-time pip installs, no font download.

ultralytics reads these settings when it is first imported, so every import of it in STREID goes
through :func:`import_ultralytics`. Nothing here runs at import time of ``streid``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

OFFLINE_ENV = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False", "YOLO_VERBOSE": "False"}
FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")


def streid_home() -> Path:
    """Per-user cache folder for STREID (``$STREID_HOME``, default ``~/.cache/streid``)."""
    return Path(os.environ.get("STREID_HOME", Path.home() / ".cache" / "streid"))


def _local_font() -> Path | None:
    """A TrueType font that is already on this machine (matplotlib ships DejaVuSans)."""
    candidates = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]
    try:
        import matplotlib

        candidates.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    except ImportError:
        pass
    return next((c for c in candidates if c.is_file()), None)


def ultralytics_config_dir() -> Path:
    """A YOLO_CONFIG_DIR holding the fonts ultralytics would otherwise download."""
    cfg = Path(os.environ.get("YOLO_CONFIG_DIR") or streid_home() / "ultralytics")
    fonts = cfg / "Ultralytics"
    fonts.mkdir(parents=True, exist_ok=True)
    source = _local_font()
    for name in FONT_NAMES:
        target = fonts / name
        if not target.exists() and source is not None:
            shutil.copyfile(source, target)
    return cfg


def offline_settings() -> dict[str, str]:
    """The environment ultralytics must see (YOLO_CONFIG_DIR included)."""
    return {**OFFLINE_ENV, "YOLO_CONFIG_DIR": str(ultralytics_config_dir())}


def cpu_threads() -> int:
    """The cores this process may run on (the affinity mask, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def import_ultralytics() -> ModuleType:
    """Import ultralytics with the offline settings in force and its settings file set to offline.

    Raises RuntimeError if ultralytics was imported earlier without these settings, since it
    caches them on first import.
    """
    if "ultralytics" in sys.modules and os.environ.get("YOLO_OFFLINE") != "1":
        raise RuntimeError(
            "ultralytics was imported before STREID set its offline settings; "
            "import it through streid.offline.import_ultralytics()"
        )
    os.environ.update(OFFLINE_ENV)
    os.environ["YOLO_CONFIG_DIR"] = str(ultralytics_config_dir())
    # ultralytics sets OMP_NUM_THREADS=1 when it is unset, which would leave torch (if not yet started) and every
    # child process on one core; a value the user set is kept
    os.environ.setdefault("OMP_NUM_THREADS", str(cpu_threads()))
    import ultralytics
    from ultralytics.utils import SETTINGS

    # Settings persisted in YOLO_CONFIG_DIR: no telemetry, no logger integrations that phone home.
    quiet = {k: False for k in ("sync", "clearml", "comet", "dvc", "mlflow", "raytune", "wandb",
                                "vscode_msg", "openvino_msg") if k in SETTINGS}
    if any(SETTINGS.get(k) for k in quiet):
        SETTINGS.update(quiet)
    return ultralytics
