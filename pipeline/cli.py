"""The body of ``streid run`` and ``deploy/run_camera.py``: load a config, run the pipeline, print a summary.

With an embedder and ``identity.enabled`` (the default), tracklets get global ids online (store in the output dir).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streid.config import ConfigError, load_config
from streid.lock import output_lock

if TYPE_CHECKING:
    from streid.pipeline.config import PipelineSection


def run_from_config(config: str | Path, overrides: Iterable[str] = (), *, progress: bool = True,
                    log_level: str = "INFO", stop: threading.Event | None = None) -> int:
    """Run the ``pipeline:`` section of a config; returns the process exit code (0, or 130 on a signal).

    ``stop`` ends the run from another thread (signals do so in the main thread)."""
    from streid.pipeline.metrics import format_summary
    from streid.pipeline.runner import Runner

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(config, list(overrides))
    cfg.require("pipeline")
    if not cfg.pipeline.cameras:  # before anything is created
        raise ConfigError(config, "pipeline.cameras", "empty: nothing to run (add a camera)")
    from streid.defaults import resolve_detector, resolve_embedder

    try:  # 'default' or a `streid models` name -> the artifact's path, so the store records the real artifact
        embedder_path = resolve_embedder(cfg.pipeline.embedder.path)
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(config, "pipeline.embedder.path", str(exc)) from None
    try:
        detector_weights = resolve_detector(cfg.pipeline.detector.weights)
    except ValueError as exc:
        raise ConfigError(config, "pipeline.detector.weights", str(exc)) from None
    cfg.sections["pipeline"] = cfg.pipeline.model_copy(update={
        "embedder": cfg.pipeline.embedder.model_copy(update={"path": embedder_path}),
        "detector": cfg.pipeline.detector.model_copy(update={"weights": detector_weights}),
    })
    warn_synthetic_models(cfg.pipeline)
    old_umask = os.umask(0o077) if cfg.pipeline.output.private else None  # the runner creates the first files
    try:  # detector, embedder and cameras first: a config error must not leave a store (or anything) behind
        runner = Runner(cfg.pipeline, progress=progress, stop=stop)
    except FileNotFoundError as exc:  # detector weights, MOT det files, embedder artifact named by the config
        raise ConfigError(config, "pipeline", str(exc)) from None
    finally:
        if old_umask is not None:
            os.umask(old_umask)
    with output_lock(cfg.pipeline.output.dir, cfg.pipeline.output.private):  # a second run here is refused
        identity = None
        if cfg.identity.enabled and cfg.pipeline.embedder.path:  # global ids need embeddings
            from streid.pipeline.identity.stage import stage_from_config

            try:
                identity = stage_from_config(cfg.identity, cfg.pipeline.output.dir, cfg.pipeline.embedder.path,
                                             live=cfg.pipeline.mode == "live")
            except ValueError as exc:  # a store filled by another embedder, or not a store
                raise ConfigError(config, "pipeline.output.dir", str(exc)) from None
        runner.identity = identity
        live = None
        try:
            live = _live_outputs(config, cfg.pipeline)
            runner.view = live.view if live is not None else None
            result = runner.run()
        finally:
            if live is not None:
                live.close()
            if identity is not None:
                identity.close()
    print(format_summary(result.summary))
    print(json.dumps({"events": str(result.events_path) if result.events_path else None,
                      "videos": {k: str(v) for k, v in result.videos.items()},
                      "metrics": str(result.metrics_path), "interrupted": result.interrupted,
                      "failed": result.failed}))
    if result.interrupted:
        return 130
    return failure_code(result.failed, [c.name for c in cfg.pipeline.cameras], cfg.pipeline.mode == "live")


def failure_code(failed: dict[str, str], cameras: list[str], live: bool) -> int:
    """Exit 2 when every camera failed, or offline when any did (its results are incomplete); the reasons go to
    stderr. A service manager's ``Restart=on-failure`` then restarts a live run whose cameras all gave up."""
    for name, reason in failed.items():
        print(f"error: camera {name}: {reason}", file=sys.stderr)
    if failed and (not live or len(failed) == len(cameras)):
        what = "every camera" if len(failed) == len(cameras) else f"{len(failed)} of {len(cameras)} cameras"
        print(f"error: {what} failed (see camera_error in the events)", file=sys.stderr)
        return 2
    return 0


def warn_synthetic_models(pipe: PipelineSection) -> None:
    """One warning at start when a synthetic-only detector or embedder meets a camera that is not synthetic."""
    from streid.defaults import DETECTOR_FILE, models_dir
    from streid.provenance import synthetic_warning

    models = {"reid": pipe.embedder.path}
    if pipe.detector.kind == "yolo":  # no weights = the built-in one (the detector stage says if it is missing)
        models["detector"] = pipe.detector.weights or str(models_dir() / DETECTOR_FILE)
    warning = synthetic_warning(models, [(c.name, c.kind, c.uri) for c in pipe.cameras])
    if warning:
        logging.getLogger("streid.provenance").warning(warning)


def _live_outputs(config: str | Path, pipe: Any) -> Any:
    """RTSP restream and dashboard (``output.rtsp`` / ``output.web``); a port in use is a config error."""
    from streid.pipeline.live.outputs import open_live_outputs

    try:
        return open_live_outputs(pipe, pipe.embedder.path or None)
    except OSError as exc:
        key = "rtsp" if "RTSP" in str(exc) else "web"
        raise ConfigError(config, f"pipeline.output.{key}.port", str(exc)) from None
