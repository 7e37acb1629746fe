"""Embedded identity store: SQLite (WAL) for tracklets, identities, decisions, embeddings and crops.

Why SQLite blobs for vectors: one file, one transaction covers a tracklet and its vector, and WAL mode makes
each committed transaction durable against a killed process (a power cut loses at most the last commits
with ``synchronous=NORMAL``) while never leaving a half-written record. :class:`Store` is the interface the
matcher and search use, so a server-backed store can replace :class:`SqliteStore` later.
"""

from __future__ import annotations

import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streid.pipeline.identity.records import Decision, TrackletObs

STORE_FILE = "identities.sqlite"
SCHEMA_VERSION = "1"


@dataclass
class StoredTracklet:
    """A tracklet row as read back; ``embedding`` is None once its TTL expired."""

    id: int
    camera: str
    track_id: int
    t_start: float
    t_end: float
    global_id: int | None
    embedding: np.ndarray | None
    dx: float | None = None  # the track's net sideways walk (TrackletObs.dx); None in a store written before it

    def obs(self, embedding: np.ndarray | None = None) -> TrackletObs:
        """As the matcher sees it, with this embedding (default: the stored one)."""
        emb = self.embedding if embedding is None else embedding
        return TrackletObs(self.camera, self.track_id, self.t_start, self.t_end, emb, self.dx)


class Store(ABC):
    """What the identity stage needs from a store; implementations must make each call atomic."""

    @abstractmethod
    def put_tracklets(self, tracklets: list[TrackletObs], crops: list[np.ndarray | None] | None = None) -> list[int]:
        """Insert or refresh tracklets (keyed by camera and local track id); returns their row ids."""

    @abstractmethod
    def put_decisions(self, decisions: list[Decision]) -> None:
        """Record decisions and set each tracklet's global id."""

    @abstractmethod
    def set_global_ids(self, assignment: dict[tuple[str, int], int], source: str) -> None:
        """Bulk (re)assignment, e.g. by offline clustering; recorded as events of ``source``."""

    @abstractmethod
    def tracklets(self, with_embeddings: bool = True) -> list[StoredTracklet]:
        """Every tracklet, ordered by row id."""

    @abstractmethod
    def crops(self, tracklet_id: int) -> list[np.ndarray]:
        """A tracklet's stored crops (each (L, H, W, 3) uint8), oldest first."""

    @abstractmethod
    def events(self) -> list[dict]:
        """Every decision and relabel event as a dict of the ``events`` columns, oldest first."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abstractmethod
    def forget_camera(self, camera: str) -> int:
        """Delete a camera's tracklets, crops and events (a resumed job redoes a camera it did not finish)."""

    @abstractmethod
    def max_track_ids(self) -> dict[str, int]:
        """Largest stored local track id per camera."""

    @abstractmethod
    def clear_identities(self) -> None:
        """Drop every global id and decision event, keeping tracklets (a job re-runs matching from scratch)."""

    @abstractmethod
    def purge(self, now: float | None = None) -> tuple[int, int]:
        """Drop embeddings and crops past their TTL; returns (embeddings dropped, crops dropped)."""

    @abstractmethod
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracklets (
    id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT NOT NULL, track_id INTEGER NOT NULL,
    t_start REAL NOT NULL, t_end REAL NOT NULL, global_id INTEGER, written REAL NOT NULL,
    dim INTEGER, embedding BLOB, dx REAL, UNIQUE (camera, track_id));
CREATE TABLE IF NOT EXISTS crops (
    tracklet INTEGER NOT NULL REFERENCES tracklets(id), written REAL NOT NULL,
    shape TEXT NOT NULL, pixels BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, written REAL NOT NULL, kind TEXT NOT NULL, camera TEXT NOT NULL,
    track_id INTEGER NOT NULL, global_id INTEGER NOT NULL, distance REAL, runner_up_id INTEGER,
    runner_up_distance REAL, t_start REAL, t_end REAL);
CREATE INDEX IF NOT EXISTS tracklets_gid ON tracklets(global_id);
CREATE INDEX IF NOT EXISTS crops_tracklet ON crops(tracklet);
"""


class SqliteStore(Store):
    """The default store: ``DIR/identities.sqlite``; ``clock`` is injectable so TTL can be tested."""

    def __init__(self, directory: str | Path, embedding_ttl_s: float | None = None, crop_ttl_s: float | None = None,
                 store_crops: bool = True, clock: Callable[[], float] | None = None, read_only: bool = False) -> None:
        self.path = Path(directory) / STORE_FILE
        self.embedding_ttl_s, self.crop_ttl_s, self.store_crops = embedding_ttl_s, crop_ttl_s, store_crops
        self.clock = clock or time.time
        self.read_only = read_only
        try:
            if read_only:  # search: never creates a schema, never writes (a 0-byte file stays 0 bytes)
                if not self.path.is_file():
                    raise ValueError(f"{self.path}: no identity store here")
                self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                          isolation_level=None, timeout=30.0)
                self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
                self.db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect on a new file: purges give space back
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(_SCHEMA)
                if not self._has_dx():  # a store from before the side rule: the column is added, rows keep NULL
                    self.db.execute("ALTER TABLE tracklets ADD COLUMN dx REAL")
            # what tracklets() reads of it: NULL from a read-only store written before the side rule
            self._dx_col = "dx" if self._has_dx() else "NULL"
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{self.path}: not a usable identity store ({exc})") from None
        version = self.get_meta("schema_version")
        if version is None and read_only:
            raise ValueError(f"{self.path}: not a usable identity store (no schema version)")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise ValueError(f"{self.path}: schema version {version}, this code reads {SCHEMA_VERSION}")

    def _has_dx(self) -> bool:
        return any(row[1] == "dx" for row in self.db.execute("PRAGMA table_info(tracklets)"))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def put_tracklets(self, tracklets: list[TrackletObs], crops: list[np.ndarray | None] | None = None) -> list[int]:
        now = self.clock()
        ids: list[int] = []
        with self.transaction() as db:
            for i, t in enumerate(tracklets):
                emb = np.ascontiguousarray(t.embedding, np.float32)
                db.execute(
                    "INSERT INTO tracklets (camera, track_id, t_start, t_end, written, dim, embedding, dx)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (camera, track_id) DO UPDATE SET"
                    " t_start = min(t_start, excluded.t_start), t_end = max(t_end, excluded.t_end),"
                    " written = excluded.written, dim = excluded.dim, embedding = excluded.embedding,"
                    " dx = coalesce(excluded.dx, dx)",
                    (t.camera, t.track_id, t.t_start, t.t_end, now, emb.size, emb.tobytes(), t.dx))
                row = db.execute("SELECT id FROM tracklets WHERE camera = ? AND track_id = ?",
                                 (t.camera, t.track_id)).fetchone()[0]
                ids.append(int(row))
                crop = crops[i] if crops is not None else None
                if self.store_crops and crop is not None:
                    arr = np.ascontiguousarray(crop, np.uint8)
                    db.execute("INSERT INTO crops (tracklet, written, shape, pixels) VALUES (?, ?, ?, ?)",
                               (row, now, ",".join(map(str, arr.shape)), arr.tobytes()))
        return ids

    def put_decisions(self, decisions: list[Decision]) -> None:
        now = self.clock()
        with self.transaction() as db:
            for d in decisions:
                db.execute(
                    "INSERT INTO events (written, kind, camera, track_id, global_id, distance, runner_up_id,"
                    " runner_up_distance, t_start, t_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (now, d.kind, d.camera, d.track_id, d.global_id, d.distance, d.runner_up_id,
                     d.runner_up_distance, d.t_start, d.t_end))
                db.execute("UPDATE tracklets SET global_id = ? WHERE camera = ? AND track_id = ?",
                           (d.global_id, d.camera, d.track_id))

    def set_global_ids(self, assignment: dict[tuple[str, int], int], source: str) -> None:
        now = self.clock()
        with self.transaction() as db:
            for (camera, track_id), gid in assignment.items():
                db.execute("UPDATE tracklets SET global_id = ? WHERE camera = ? AND track_id = ?",
                           (gid, camera, track_id))
                db.execute("INSERT INTO events (written, kind, camera, track_id, global_id) VALUES (?, ?, ?, ?, ?)",
                           (now, source, camera, track_id, gid))

    def tracklets(self, with_embeddings: bool = True) -> list[StoredTracklet]:
        cols = "id, camera, track_id, t_start, t_end, global_id, dim, " + ("embedding" if with_embeddings else "NULL")
        cols += f", {self._dx_col}"
        out = []
        for rid, cam, tid, t0, t1, gid, dim, blob, dx in self.db.execute(f"SELECT {cols} FROM tracklets ORDER BY id"):
            emb = None
            if blob is not None:
                emb = np.frombuffer(blob, np.float32)
                if emb.size != dim:
                    raise ValueError(f"{self.path}: tracklet {rid} embedding has {emb.size} values, header says {dim}")
            out.append(StoredTracklet(rid, cam, tid, t0, t1, gid, emb, dx))
        return out

    def crops(self, tracklet_id: int) -> list[np.ndarray]:
        rows = self.db.execute("SELECT shape, pixels FROM crops WHERE tracklet = ?", (tracklet_id,))
        return [np.frombuffer(px, np.uint8).reshape(tuple(int(s) for s in shape.split(","))) for shape, px in rows]

    def events(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM events ORDER BY id")
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                       " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def forget_camera(self, camera: str) -> int:
        with self.transaction() as db:
            db.execute("DELETE FROM crops WHERE tracklet IN (SELECT id FROM tracklets WHERE camera = ?)", (camera,))
            db.execute("DELETE FROM events WHERE camera = ?", (camera,))
            return db.execute("DELETE FROM tracklets WHERE camera = ?", (camera,)).rowcount

    def clear_identities(self) -> None:
        with self.transaction() as db:
            db.execute("UPDATE tracklets SET global_id = NULL")
            db.execute("DELETE FROM events")

    def max_track_ids(self) -> dict[str, int]:
        """Largest stored local track id per camera (a restarted live run numbers its tracks above these)."""
        return {cam: int(tid) for cam, tid in self.db.execute("SELECT camera, max(track_id) FROM tracklets"
                                                               " GROUP BY camera")}

    def purge(self, now: float | None = None) -> tuple[int, int]:
        now = self.clock() if now is None else now
        dropped_emb = dropped_crops = 0
        with self.transaction() as db:
            if self.embedding_ttl_s is not None:
                dropped_emb = db.execute("UPDATE tracklets SET embedding = NULL WHERE embedding IS NOT NULL"
                                         " AND written < ?", (now - self.embedding_ttl_s,)).rowcount
            if self.crop_ttl_s is not None:
                dropped_crops = db.execute("DELETE FROM crops WHERE written < ?", (now - self.crop_ttl_s,)).rowcount
        if dropped_emb or dropped_crops:
            self.reclaim()
        return dropped_emb, dropped_crops

    def reclaim(self) -> None:
        """Give freed pages back to the file system (a deleted crop must not just become free space in the file)."""
        if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:
            self.db.executescript("PRAGMA incremental_vacuum;")  # execute() would step it once: one page
        else:  # a store made before auto_vacuum: a full VACUUM once most of it is free
            free, total = (self.db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("freelist_count", "page_count"))
            if free * 4 > total:
                self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def close(self) -> None:
        self.db.close()
