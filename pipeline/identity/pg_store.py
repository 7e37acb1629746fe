"""Site-wide identity store: PostgreSQL behind the same :class:`Store` interface and tables as the SQLite store.

One database serves several sites: each site's tables live in their own schema (``streid_<site>``), so the
tables, their columns and the retention rules are exactly those of :class:`SqliteStore`. Each interface call is
one transaction; :meth:`PostgresStore.transaction` groups several (the identity service writes a tracklet, its
decision and its message id atomically). Credentials never travel in logs: pass the password through libpq's
environment (``PGPASSWORD``, ``PGPASSFILE``) or ``STREID_DB_PASSWORD_FILE``; :func:`redact` strips any from a URL
before it is printed.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from streid.pipeline.identity.records import Decision, TrackletObs
from streid.pipeline.identity.store import SCHEMA_VERSION, Store, StoredTracklet

SITE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracklets (
    id BIGSERIAL PRIMARY KEY, camera TEXT NOT NULL, track_id BIGINT NOT NULL,
    t_start DOUBLE PRECISION NOT NULL, t_end DOUBLE PRECISION NOT NULL, global_id BIGINT,
    written DOUBLE PRECISION NOT NULL, dim INTEGER, embedding BYTEA, dx DOUBLE PRECISION, UNIQUE (camera, track_id));
ALTER TABLE tracklets ADD COLUMN IF NOT EXISTS dx DOUBLE PRECISION;
CREATE TABLE IF NOT EXISTS crops (
    tracklet BIGINT NOT NULL REFERENCES tracklets(id), written DOUBLE PRECISION NOT NULL,
    shape TEXT NOT NULL, pixels BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id BIGSERIAL PRIMARY KEY, written DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, camera TEXT NOT NULL,
    track_id BIGINT NOT NULL, global_id BIGINT NOT NULL, distance DOUBLE PRECISION, runner_up_id BIGINT,
    runner_up_distance DOUBLE PRECISION, t_start DOUBLE PRECISION, t_end DOUBLE PRECISION);
CREATE INDEX IF NOT EXISTS tracklets_gid ON tracklets(global_id);
CREATE INDEX IF NOT EXISTS crops_tracklet ON crops(tracklet);
"""


class NoSuchSite(ValueError):
    """A read-only open of a site no service has created (yet)."""


def redact(url: str) -> str:
    """The URL without its password, in the user part or a ``password=`` parameter (for messages and logs)."""
    parts = urlsplit(url)
    query = "&".join(p if not p.lower().startswith("password=") else "password=***" for p in parts.query.split("&"))
    parts = parts._replace(query=query)
    if parts.password is None:
        return urlunsplit(parts)
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def public_name(url: str, site: str) -> str:
    """What a page may show of a database: host, port, database and site; no user, password or parameters."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres") or not parts.hostname:
        return f"site {site}"
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{parts.hostname}{port}{parts.path} (site {site})"


def connect_kwargs() -> dict[str, Any]:
    """Extra libpq parameters from the environment: the password from ``STREID_DB_PASSWORD_FILE`` if set."""
    path = os.environ.get("STREID_DB_PASSWORD_FILE")
    if not path:
        return {}
    try:
        return {"password": Path(path).read_text(encoding="utf-8").strip()}
    except OSError as exc:
        raise ValueError(f"STREID_DB_PASSWORD_FILE {path}: {exc.strerror}") from None


def schema_name(site: str) -> str:
    if not SITE_NAME.match(site):
        raise ValueError(f"site name {site!r}: use lower-case letters, digits and _ (at most 40, letter first)")
    return f"streid_{site}"


class PostgresStore(Store):
    """``Store`` on PostgreSQL; ``url`` is a libpq URL (``postgresql://user@host:5432/db``), ``site`` a schema."""

    def __init__(self, url: str, site: str = "default", embedding_ttl_s: float | None = None,
                 crop_ttl_s: float | None = None, store_crops: bool = True,
                 clock: Callable[[], float] | None = None, read_only: bool = False) -> None:
        import psycopg

        self.url, self.site, self.schema = url, site, schema_name(site)
        self.path = f"{redact(url)} (site {site})"  # what messages name, as SqliteStore.path does
        self.embedding_ttl_s, self.crop_ttl_s, self.store_crops = embedding_ttl_s, crop_ttl_s, store_crops
        self.clock = clock or time.time
        self._depth = 0
        try:
            self.db = psycopg.connect(url, autocommit=True, connect_timeout=10, **connect_kwargs())
        except psycopg.Error as exc:
            raise ValueError(f"database {redact(url)}: cannot connect ({_first_line(exc, url)})") from None
        self.read_only = read_only
        if read_only:  # search and the dashboard: never create a site, never write (the session refuses writes)
            if self.db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)).fetchone() is None:
                self.db.close()
                raise NoSuchSite(f"{self.path}: no such site in this database (no schema {self.schema})")
            self.db.execute("SET default_transaction_read_only = on")
        else:
            with self.transaction() as cur:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                cur.execute(f"SET search_path TO {self.schema}")
                cur.execute(_SCHEMA)
        self.db.execute(f"SET search_path TO {self.schema}")
        # what tracklets() reads of dx: NULL from a read-only site written before the side rule
        self._dx_col = "dx" if self.db.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = 'tracklets'"
            " AND column_name = 'dx'", (self.schema,)).fetchone() is not None else "NULL"
        version = self.get_meta("schema_version")
        if version is None and read_only:
            self.db.close()
            raise ValueError(f"{self.path}: not a usable identity store (no schema version)")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise ValueError(f"{self.path}: schema version {version}, this code reads {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction (nested calls join the outer one), rolled back on any error."""
        with self.db.transaction(), self.db.cursor() as cur:
            yield cur

    def put_tracklets(self, tracklets: list[TrackletObs], crops: list[np.ndarray | None] | None = None) -> list[int]:
        now = self.clock()
        ids: list[int] = []
        with self.transaction() as cur:
            for i, t in enumerate(tracklets):
                emb = np.ascontiguousarray(t.embedding, np.float32)
                cur.execute(
                    "INSERT INTO tracklets (camera, track_id, t_start, t_end, written, dim, embedding, dx)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (camera, track_id) DO UPDATE SET"
                    " t_start = least(tracklets.t_start, excluded.t_start),"
                    " t_end = greatest(tracklets.t_end, excluded.t_end),"
                    " written = excluded.written, dim = excluded.dim, embedding = excluded.embedding,"
                    " dx = coalesce(excluded.dx, tracklets.dx) RETURNING id",
                    (t.camera, t.track_id, t.t_start, t.t_end, now, emb.size, emb.tobytes(), t.dx))
                row = int(cur.fetchone()[0])
                ids.append(row)
                crop = crops[i] if crops is not None else None
                if self.store_crops and crop is not None:
                    arr = np.ascontiguousarray(crop, np.uint8)
                    cur.execute("INSERT INTO crops (tracklet, written, shape, pixels) VALUES (%s, %s, %s, %s)",
                                (row, now, ",".join(map(str, arr.shape)), arr.tobytes()))
        return ids

    def put_decisions(self, decisions: list[Decision]) -> None:
        now = self.clock()
        with self.transaction() as cur:
            for d in decisions:
                cur.execute(
                    "INSERT INTO events (written, kind, camera, track_id, global_id, distance, runner_up_id,"
                    " runner_up_distance, t_start, t_end) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (now, d.kind, d.camera, d.track_id, d.global_id, _f(d.distance), d.runner_up_id,
                     _f(d.runner_up_distance), d.t_start, d.t_end))
                cur.execute("UPDATE tracklets SET global_id = %s WHERE camera = %s AND track_id = %s",
                            (d.global_id, d.camera, d.track_id))

    def set_global_ids(self, assignment: dict[tuple[str, int], int], source: str) -> None:
        now = self.clock()
        with self.transaction() as cur:
            for (camera, track_id), gid in assignment.items():
                cur.execute("UPDATE tracklets SET global_id = %s WHERE camera = %s AND track_id = %s",
                            (gid, camera, track_id))
                cur.execute("INSERT INTO events (written, kind, camera, track_id, global_id)"
                            " VALUES (%s, %s, %s, %s, %s)", (now, source, camera, track_id, gid))

    def tracklets(self, with_embeddings: bool = True) -> list[StoredTracklet]:
        cols = "id, camera, track_id, t_start, t_end, global_id, dim, " + ("embedding" if with_embeddings else "NULL")
        cols += f", {self._dx_col}"
        out = []
        for rid, cam, tid, t0, t1, gid, dim, blob, dx in self.db.execute(f"SELECT {cols} FROM tracklets ORDER BY id"):
            emb = None
            if blob is not None:
                emb = np.frombuffer(bytes(blob), np.float32)
                if emb.size != dim:
                    raise ValueError(f"{self.path}: tracklet {rid} embedding has {emb.size} values, header says {dim}")
            out.append(StoredTracklet(int(rid), cam, int(tid), float(t0), float(t1),
                                      None if gid is None else int(gid), emb, None if dx is None else float(dx)))
        return out

    def crops(self, tracklet_id: int) -> list[np.ndarray]:
        rows = self.db.execute("SELECT shape, pixels FROM crops WHERE tracklet = %s", (tracklet_id,))
        return [np.frombuffer(bytes(px), np.uint8).reshape(tuple(int(s) for s in shape.split(",")))
                for shape, px in rows]

    def events(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM events ORDER BY id")
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (%s, %s)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def forget_camera(self, camera: str) -> int:
        with self.transaction() as cur:
            cur.execute("DELETE FROM crops WHERE tracklet IN (SELECT id FROM tracklets WHERE camera = %s)", (camera,))
            cur.execute("DELETE FROM events WHERE camera = %s", (camera,))
            cur.execute("DELETE FROM tracklets WHERE camera = %s", (camera,))
            return cur.rowcount

    def clear_identities(self) -> None:
        with self.transaction() as cur:
            cur.execute("UPDATE tracklets SET global_id = NULL")
            cur.execute("DELETE FROM events")

    def max_track_ids(self) -> dict[str, int]:
        return {cam: int(tid) for cam, tid in self.db.execute("SELECT camera, max(track_id) FROM tracklets"
                                                               " GROUP BY camera")}

    def purge(self, now: float | None = None) -> tuple[int, int]:
        now = self.clock() if now is None else now
        dropped_emb = dropped_crops = 0
        with self.transaction() as cur:
            if self.embedding_ttl_s is not None:
                cur.execute("UPDATE tracklets SET embedding = NULL WHERE embedding IS NOT NULL AND written < %s",
                            (now - self.embedding_ttl_s,))
                dropped_emb = cur.rowcount
            if self.crop_ttl_s is not None:
                cur.execute("DELETE FROM crops WHERE written < %s", (now - self.crop_ttl_s,))
                dropped_crops = cur.rowcount
        return dropped_emb, dropped_crops

    @property
    def broken(self) -> bool:
        """The connection is gone (server restarted, network): a reader reopens the store."""
        return bool(self.db.closed or self.db.broken)

    def close(self) -> None:
        self.db.close()


def _f(v: float | None) -> float | None:
    return None if v is None else float(v)


def _first_line(exc: Exception, url: str) -> str:
    """An exception's first line, with the URL's password (if any) masked."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text
