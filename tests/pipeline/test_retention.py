"""Retention: live defaults, a purge period that follows the TTL, space given back, events rotated."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streid.pipeline.events import EventWriter, read_events
from streid.pipeline.identity.build import store_from_config
from streid.pipeline.identity.config import LIVE_CROP_TTL_S, IdentityConfig
from streid.pipeline.identity.records import TrackletObs
from streid.pipeline.identity.stage import IdentityStage, purge_period
from streid.pipeline.identity.store import STORE_FILE, SqliteStore


def test_live_stores_get_default_ttls_and_offline_ones_keep_everything(tmp_path: Path) -> None:
    live = store_from_config(IdentityConfig(), tmp_path / "live", live=True)
    offline = store_from_config(IdentityConfig(), tmp_path / "offline")
    forever = store_from_config(IdentityConfig.model_validate({"retention": {"crop_ttl_s": 0}}), tmp_path / "f",
                                live=True)
    assert live.crop_ttl_s == LIVE_CROP_TTL_S and live.embedding_ttl_s and live.embedding_ttl_s > live.crop_ttl_s
    assert (offline.crop_ttl_s, offline.embedding_ttl_s) == (None, None)
    assert forever.crop_ttl_s is None
    for s in (live, offline, forever):
        s.close()


def test_the_purge_period_follows_the_shortest_ttl(tmp_path: Path) -> None:
    assert purge_period([None, 5.0]) <= 5.0 / 2
    assert purge_period([None, None]) == 600.0
    stage = IdentityStage(SqliteStore(tmp_path, crop_ttl_s=5.0), None)
    assert stage.purge_every_s <= 2.5
    stage.close()


def test_expired_crops_give_their_space_back(tmp_path: Path) -> None:
    now = [1000.0]
    store = SqliteStore(tmp_path, crop_ttl_s=5.0, clock=lambda: now[0])
    crop = np.random.default_rng(0).integers(0, 255, (8, 128, 64, 3), np.uint8)  # ~200 KB each, incompressible
    for i in range(20):
        store.put_tracklets([TrackletObs("a", i, 0.0, 1.0, np.ones(8, np.float32))], [crop])
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    full = (tmp_path / STORE_FILE).stat().st_size
    now[0] = 1010.0
    assert store.purge() == (0, 20)
    assert (tmp_path / STORE_FILE).stat().st_size < full / 4
    store.close()


def test_events_rotate_by_size_keeping_whole_lines(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path / "events.jsonl", rotate_bytes=2000)
    for i in range(100):
        writer.write({"type": "x", "camera": "c", "time": 0.0, "i": i, "pad": "p" * 50})
    writer.close()
    files = [*writer.rotated, tmp_path / "events.jsonl"]
    assert len(writer.rotated) >= 3 and all(p.stat().st_size < 2100 for p in files)
    assert [e["i"] for p in files for e in read_events(p)] == list(range(100))
