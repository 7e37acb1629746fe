"""Store: crash safety under SIGKILL, TTL retention, crops option, bad files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from streid.pipeline.identity.records import Decision, TrackletObs
from streid.pipeline.identity.store import STORE_FILE, SqliteStore

WRITER = """
import sys, numpy as np
from streid.pipeline.identity.records import Decision, TrackletObs
from streid.pipeline.identity.store import SqliteStore
store = SqliteStore(sys.argv[1])
i = 0
while True:
    emb = np.full(128, float(i), np.float32)
    batch = [TrackletObs("cam%d" % (i % 4), i, float(i), float(i) + 1.0, emb)]
    store.put_tracklets(batch, [np.full((4, 8, 8, 3), i % 256, np.uint8)])
    store.put_decisions([Decision("cam%d" % (i % 4), i, i // 3, "new", None, None, None, float(i), float(i) + 1.0)])
    print(i, flush=True)
    i += 1
"""


def test_sigkill_during_writes_loses_nothing_committed(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    committed = -1
    deadline = time.monotonic() + 30
    while committed < 200 and time.monotonic() < deadline:
        committed = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert committed >= 200
    store = SqliteStore(tmp_path)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = store.tracklets()
    assert len(rows) >= committed + 1  # every printed (committed) record is there
    for r in rows:
        assert r.embedding is not None and np.all(r.embedding == float(r.track_id))
        assert r.global_id == r.track_id // 3 or r.track_id > committed  # the last one may miss its decision
    crops = store.crops(rows[0].id)
    assert len(crops) == 1 and crops[0].shape == (4, 8, 8, 3)
    store.put_tracklets([TrackletObs("cam9", 1, 0.0, 1.0, np.zeros(128, np.float32))])  # still writable
    store.close()


def test_ttl_drops_embeddings_and_crops(tmp_path: Path) -> None:
    now = [1000.0]
    store = SqliteStore(tmp_path, embedding_ttl_s=100.0, crop_ttl_s=10.0, clock=lambda: now[0])
    crop = np.zeros((2, 4, 4, 3), np.uint8)
    store.put_tracklets([TrackletObs("a", 1, 0.0, 1.0, np.ones(8, np.float32))], [crop])
    now[0] = 1050.0
    store.put_tracklets([TrackletObs("a", 2, 0.0, 1.0, np.ones(8, np.float32))], [crop])
    assert store.purge() == (0, 1)  # only the first crop is older than 10 s
    now[0] = 1120.0
    assert store.purge() == (1, 1)
    emb = {t.track_id: t.embedding for t in store.tracklets()}
    assert emb[1] is None and emb[2] is not None
    assert len(store.tracklets()) == 2  # records survive, only vectors/crops go


def test_no_crops_option(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path, store_crops=False)
    (rid,) = store.put_tracklets([TrackletObs("a", 1, 0.0, 1.0, np.ones(8, np.float32))], [np.zeros((1, 2, 2, 3))])
    assert store.crops(rid) == []


def test_refresh_keeps_one_row_and_widens_span(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    a = store.put_tracklets([TrackletObs("a", 1, 5.0, 6.0, np.ones(8, np.float32))])
    b = store.put_tracklets([TrackletObs("a", 1, 4.0, 9.0, np.full(8, 2.0, np.float32))])
    (row,) = store.tracklets()
    assert a == b and (row.t_start, row.t_end) == (4.0, 9.0) and row.embedding[0] == 2.0


def test_a_store_from_before_the_side_rule_gains_the_column_and_keeps_its_rows(tmp_path: Path) -> None:
    """Stores written before tracklets had ``dx``: read as unknown (read-only too), the column added on open."""
    store = SqliteStore(tmp_path)
    store.put_tracklets([TrackletObs("a", 1, 5.0, 6.0, np.ones(8, np.float32), 0.4)])
    store.db.execute("ALTER TABLE tracklets DROP COLUMN dx")  # what such a store looks like
    store.close()
    (old,) = SqliteStore(tmp_path, read_only=True).tracklets()
    assert (old.track_id, old.dx) == (1, None)
    store = SqliteStore(tmp_path)
    store.put_tracklets([TrackletObs("a", 2, 7.0, 8.0, np.ones(8, np.float32), -0.3)])
    store.put_tracklets([TrackletObs("a", 2, 7.0, 9.0, np.ones(8, np.float32))])  # a refresh without dx keeps it
    assert [(t.track_id, t.dx) for t in store.tracklets()] == [(1, None), (2, -0.3)]
    assert store.tracklets()[1].obs().span == ("a", 7.0, 9.0, -0.3)


def test_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / STORE_FILE).write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(ValueError, match=STORE_FILE):
        SqliteStore(tmp_path)


def test_decision_rolls_back_on_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    bad = Decision("a", 1, 1, "new", None, None, None, 0.0, 1.0)
    with pytest.raises(sqlite3.ProgrammingError):
        store.put_decisions([bad, Decision("a", 2, object(), "new", None, None, None, 0.0, 1.0)])  # type: ignore[arg-type]
    assert store.events() == []
