"""Body of ``streid serve``: the dashboard over a finished job's store (identities, search, report)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer


def serve_command(store_dir: Path, host: str, port: int, token: str, embedder: Path | None,
                  max_upload_kb: int) -> int:
    """Serve until Ctrl-C; exit code 2 on bad input (no store there, port in use)."""
    from streid.pipeline.identity.store import STORE_FILE
    from streid.pipeline.live.outputs import embedder_factory, sqlite_store_factory
    from streid.pipeline.web.app import Backend, DashboardServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not (store_dir / STORE_FILE).is_file():
        typer.echo(f"error: {store_dir}: no {STORE_FILE} here", err=True)
        return 2
    if embedder is not None and not embedder.is_file():
        typer.echo(f"error: --embedder {embedder}: not found", err=True)
        return 2
    backend = Backend(sqlite_store_factory(store_dir), embedder_factory(embedder or _recorded_embedder(store_dir)))
    try:
        server = DashboardServer(backend, host, port, token=token, max_upload_kb=max_upload_kb,
                                 report_dir=store_dir, info={"store": str(store_dir.resolve()), "rtsp": []}).start()
    except OSError as exc:
        typer.echo(f"error: --port {port}: {exc}", err=True)
        return 2
    typer.echo(f"dashboard: {server.url}{'?token=...' if token else ''} (Ctrl-C stops)")
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _recorded_embedder(store_dir: Path) -> Path | None:
    """The embedder the store was filled with (``meta.embedder``), when it is still there."""
    from streid.pipeline.identity.store import SqliteStore

    store = SqliteStore(store_dir)
    try:
        recorded = store.get_meta("embedder")
    finally:
        store.close()
    return Path(recorded) if recorded and Path(recorded).is_file() else None
