#!/usr/bin/env python3
"""Run the STREID camera pipeline on a device: ``run_camera.py --config configs/deploy/NAME.yaml [--set K=V]``.

A thin wrapper over ``streid run`` for systemd and containers: no progress bar, logs to stderr, exit
code 2 on bad input (config, files, every camera failed), 1 on a bug, 130 after SIGINT/SIGTERM (tracklets
flushed, files closed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _streid_python() -> None:
    """Run as ``deploy/run_camera.py`` the shebang picks the system python; the checkout's ``.venv`` (made by
    ``scripts/install.sh``, or ``$STREID_VENV``) has streid: re-run under it, or say how to install."""
    try:
        import streid  # noqa: F401
        return
    except ModuleNotFoundError:
        pass
    venv = Path(os.environ.get("STREID_VENV") or Path(__file__).resolve().parents[1] / ".venv")
    python = venv / "bin" / "python"
    if python.is_file() and Path(sys.prefix).resolve() != venv.resolve() and not os.environ.get("STREID_REEXEC"):
        os.environ["STREID_REEXEC"] = "1"
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.exit(f"run_camera.py: streid is not installed for {sys.executable} and {python} does not exist; "
             "run `bash scripts/install.sh` in the checkout first")


_streid_python()

from streid.config import ConfigError  # noqa: E402
from streid.errors import classify  # noqa: E402
from streid.pipeline.cli import run_from_config  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="YAML config with a pipeline: section")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY.PATH=VALUE (repeatable)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--progress", action="store_true", help="show a frame counter")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    args = parser.parse_args(argv)
    try:
        return run_from_config(args.config, args.overrides, progress=args.progress, log_level=args.log_level)
    except Exception as exc:  # as `streid run`: one line, exit 2 for input to fix, 1 for a bug
        if args.debug:
            raise
        code, message = classify(exc)
        print(f"{'config error' if isinstance(exc, ConfigError) else 'error'}: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
