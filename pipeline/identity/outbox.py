"""The edge's on-disk outbox: tracklet messages wait here (SQLite, WAL) until the broker acknowledges them.

Why on disk: a broker outage of minutes, or a restart of the edge process, must not lose a tracklet. The outbox
is bounded (``max_messages``); past the bound the *oldest* message is dropped and counted (``dropped`` in its
meta table, logged), so the newest observations - the ones a live site still cares about - get through.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Outbox:
    """FIFO of (seq, topic, payload) in ``path``; thread-safe (the runner adds, the publisher removes)."""

    def __init__(self, path: str | Path, max_messages: int = 100_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_messages = max_messages
        self.lock = threading.Lock()
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{self.path}: not a usable outbox ({exc})") from None

    def next_seq(self) -> int:
        """The sequence number the next message will get (message ids are made from it before it is added)."""
        with self.lock:
            row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return (int(row[0]) if row else 0) + 1

    def add(self, items: list[tuple[str, bytes]]) -> None:
        """Append messages in one transaction, dropping (and counting) the oldest past the bound."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany("INSERT INTO outbox (topic, payload) VALUES (?, ?)", items)
                excess = self.db.execute("SELECT count(*) FROM outbox").fetchone()[0] - self.max_messages
                if excess > 0:
                    self.db.execute("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
                                    (excess,))
                    self.db.execute("INSERT INTO meta (key, value) VALUES ('dropped', ?) ON CONFLICT (key)"
                                    " DO UPDATE SET value = value + excluded.value", (excess,))
                    log.warning("outbox %s full (%d messages): dropped the %d oldest", self.path, self.max_messages,
                                excess)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def pending(self, after: int = 0, limit: int = 100) -> list[tuple[int, str, bytes]]:
        with self.lock:
            return [(int(s), t, bytes(p)) for s, t, p in self.db.execute(
                "SELECT seq, topic, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))]

    def remove(self, seqs: list[int]) -> None:
        with self.lock:
            self.db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def __len__(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def counter(self, key: str) -> int:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def counters(self, prefix: str) -> dict[str, int]:
        with self.lock:
            return {k: int(v) for k, v in self.db.execute("SELECT key, value FROM meta WHERE key LIKE ? || '%'",
                                                           (prefix,))}

    def set_max(self, key: str, value: int) -> None:
        """Keep the largest ``value`` seen under ``key`` (e.g. a camera's largest local track id)."""
        with self.lock:
            self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key)"
                            " DO UPDATE SET value = max(value, excluded.value)", (key, value))

    def close(self) -> None:
        with self.lock:
            self.db.close()
