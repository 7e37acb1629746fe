"""The body of ``streid run`` and ``deploy/run_camera.py``: load a config, run the pipeline, print a summary.

With an embedder and ``identity.enabled`` (the default), tracklets get global ids online (store in the output dir).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from streid.config import ConfigError, load_config


def run_from_config(config: str | Path, overrides: Iterable[str] = (), *, progress: bool = True,
                    log_level: str = "INFO") -> int:
    """Run the ``pipeline:`` section of a config; returns the process exit code (0, or 130 on a signal)."""
    from streid.pipeline.metrics import format_summary
    from streid.pipeline.runner import Runner

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(config, list(overrides))
    cfg.require("pipeline")
    from streid.defaults import resolve_embedder

    try:  # 'default' -> the built-in model's path, so the store records the real artifact
        embedder_path = resolve_embedder(cfg.pipeline.embedder.path)
    except FileNotFoundError as exc:
        raise ConfigError(config, "pipeline.embedder.path", str(exc)) from None
    cfg.sections["pipeline"] = cfg.pipeline.model_copy(
        update={"embedder": cfg.pipeline.embedder.model_copy(update={"path": embedder_path})}
    )
    try:  # detector, embedder and cameras first: a config error must not leave a store (or anything) behind
        runner = Runner(cfg.pipeline, progress=progress)
    except FileNotFoundError as exc:  # detector weights, MOT det files, embedder artifact named by the config
        raise ConfigError(config, "pipeline", str(exc)) from None
    identity = None
    if cfg.identity.enabled and cfg.pipeline.embedder.path:  # global ids need embeddings
        from streid.pipeline.identity.stage import stage_from_config

        try:
            identity = stage_from_config(cfg.identity, cfg.pipeline.output.dir, cfg.pipeline.embedder.path,
                                         live=cfg.pipeline.mode == "live")
        except ValueError as exc:  # a store filled by another embedder, or not a store
            raise ConfigError(config, "pipeline.output.dir", str(exc)) from None
    runner.identity = identity
    try:
        result = runner.run()
    finally:
        if identity is not None:
            identity.close()
    print(format_summary(result.summary))
    print(json.dumps({"events": str(result.events_path) if result.events_path else None,
                      "videos": {k: str(v) for k, v in result.videos.items()},
                      "metrics": str(result.metrics_path), "interrupted": result.interrupted}))
    return 130 if result.interrupted else 0
