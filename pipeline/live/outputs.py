"""Build a run's live outputs from ``pipeline.output.rtsp`` / ``pipeline.output.web`` and close them again."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from streid.pipeline.config import PipelineSection
from streid.pipeline.live.view import LiveView

log = logging.getLogger(__name__)


class LiveOutputs:
    """The view the runner feeds, plus the dashboard server when one is configured."""

    def __init__(self, view: LiveView, server: Any = None) -> None:
        self.view, self.server = view, server

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self.view.close()


def sqlite_store_factory(directory: str | Path) -> Any:
    """Opens ``DIR/identities.sqlite`` read-side once it exists (a live run creates it; never created here)."""
    from streid.pipeline.identity.store import STORE_FILE, SqliteStore

    def open_store() -> SqliteStore | None:
        return SqliteStore(directory) if (Path(directory) / STORE_FILE).is_file() else None

    return open_store


def embedder_factory(path: str | Path | None) -> Any:
    """Loads the run's embedder on the first search by image (None: search by image is refused)."""
    if not path:
        return None

    def load() -> Any:
        from streid.pipeline.embedder import load_embedder

        return load_embedder(path)

    return load


def open_live_outputs(cfg: PipelineSection, embedder_path: str | Path | None = None) -> LiveOutputs | None:
    """RTSP restream and/or dashboard as configured (None when both are off); the caller closes them."""
    out = cfg.output
    if not out.rtsp.port and not out.web.port:
        return None
    rtsp = None
    if out.rtsp.port:
        from streid.pipeline.live.rtsp import RtspRestream

        rtsp = RtspRestream(out.rtsp.host, out.rtsp.port, out.rtsp.path, out.rtsp.bitrate_kbps)
    view = LiveView(rtsp)
    server = None
    if out.web.port:
        from streid.pipeline.web.app import Backend, DashboardServer

        info = {"store": str(Path(out.dir).resolve()),
                "rtsp": [rtsp.url(c.name) for c in cfg.cameras] if rtsp is not None else []}
        backend = Backend(sqlite_store_factory(out.dir), embedder_factory(embedder_path))
        try:
            server = DashboardServer(backend, out.web.host, out.web.port, view=view, token=out.web.token,
                                     max_upload_kb=out.web.max_upload_kb, report_dir=Path(out.dir),
                                     info=info).start()
        except BaseException:
            view.close()
            raise
        log.info("dashboard: %s%s", server.url, "?token=..." if out.web.token else "")
    return LiveOutputs(view, server)
