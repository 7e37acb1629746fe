"""Body of ``streid serve`` (the dashboard over a finished job's SQLite store or a site's PostgreSQL store) and the
dashboard that ``streid identity serve --web`` runs next to the site's identity service."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from streid.pipeline.identity.store import Store
    from streid.pipeline.web.app import DashboardServer

log = logging.getLogger(__name__)


def serve_command(store_dir: Path | None, host: str, port: int, token: str, embedder: Path | None,
                  max_upload_kb: int, db: str | None = None, site: str = "default") -> int:
    """Serve until Ctrl-C; exit code 2 on bad input (no store there, no such site, port in use)."""
    from streid.pipeline.identity.store import STORE_FILE
    from streid.pipeline.live.outputs import sqlite_store_factory

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if store_dir is None:
        db = db or os.environ.get("STREID_DB_URL")
    if (store_dir is None) == (db is None):
        typer.echo("error: give --store DIR or --db URL (or STREID_DB_URL), not both", err=True)
        return 2
    if store_dir is not None and not (store_dir / STORE_FILE).is_file():
        typer.echo(f"error: {store_dir}: no {STORE_FILE} here", err=True)
        return 2
    if embedder is not None and not embedder.is_file():
        typer.echo(f"error: --embedder {embedder}: not found", err=True)
        return 2
    try:
        recorded = _recorded_embedder(store_dir, db, site)  # also: the database answers and holds the site
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    if db is not None:
        from streid.pipeline.identity.pg_store import public_name

        factory, info = postgres_store_factory(db, site), {"mode": "site", "store": public_name(db, site)}
    else:
        assert store_dir is not None
        factory, info = sqlite_store_factory(store_dir), {"store": str(store_dir.resolve())}
    try:
        server = start_dashboard(factory, host, port, token, embedder or recorded, max_upload_kb,
                                 report_dir=store_dir, info={**info, "rtsp": []})
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


def start_dashboard(store_factory: Callable[[], Store | None], host: str, port: int, token: str,
                    embedder: Path | None, max_upload_kb: int = 4096, report_dir: Path | None = None,
                    info: dict | None = None) -> DashboardServer:
    """A listening dashboard over the store the factory opens (OSError when the address is taken)."""
    from streid.pipeline.live.outputs import embedder_factory
    from streid.pipeline.web.app import Backend, DashboardServer

    backend = Backend(store_factory, embedder_factory(embedder))
    return DashboardServer(backend, host, port, token=token, max_upload_kb=max_upload_kb, report_dir=report_dir,
                           info=info).start()


def postgres_store_factory(url: str, site: str) -> Callable[[], Store | None]:
    """Opens the site's store read-only on the dashboard's thread, again on the next request until it works: None
    (nothing to show yet) until a service has created the site, :class:`StoreUnavailable` (503) while the
    database cannot be reached."""
    said = [""]

    def open_store() -> Store | None:
        from streid.pipeline.identity.pg_store import NoSuchSite, PostgresStore
        from streid.pipeline.web.app import StoreUnavailable

        try:
            return PostgresStore(url, site, read_only=True)
        except ValueError as exc:  # its message names the database without the password
            if str(exc) != said[0]:  # once, not on every request of the page
                log.warning("dashboard: %s", exc)
                said[0] = str(exc)
            if isinstance(exc, NoSuchSite):
                return None
            raise StoreUnavailable() from None

    return open_store


def _recorded_embedder(store_dir: Path | None, db: str | None, site: str) -> Path | None:
    """The embedder the store was filled with (``meta.embedder``), when it is still there."""
    from streid.pipeline.identity.cli import open_store

    store = open_store(store_dir, db, site)
    try:
        recorded = store.get_meta("embedder")
    finally:
        store.close()
    return Path(recorded) if recorded and Path(recorded).is_file() else None


def parse_web(spec: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` (``--web``); the host defaults to loopback. ValueError naming what is wrong."""
    host, sep, port = spec.rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (sep and not host):
        raise ValueError(f"--web {spec!r}: use PORT or HOST:PORT (e.g. 127.0.0.1:8080)")
    return host, int(port)
