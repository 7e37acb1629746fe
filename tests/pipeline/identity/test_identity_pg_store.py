"""PostgreSQL store against a real server: same contents as the SQLite store for the same calls, retention,
sites kept apart, search and the report on it, ``streid search --db``, no password in errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from streid.cli import app
from streid.pipeline.identity.pg_store import PostgresStore, redact
from streid.pipeline.identity.records import Decision, TrackletObs
from streid.pipeline.identity.search import rank
from streid.pipeline.identity.store import SqliteStore, Store


def fill(store: Store) -> None:
    """The same calls on any store: tracklets with crops, decisions, a refresh, an offline relabel, meta."""
    rng = np.random.default_rng(0)
    obs = [TrackletObs(f"cam{i % 2}", i, 10.0 * i, 10.0 * i + 5, rng.standard_normal(16), 0.1 * i if i % 3 else None)
           for i in range(6)]
    store.put_tracklets(obs, [np.full((2, 4, 4, 3), i, np.uint8) for i in range(6)])
    store.put_decisions([Decision(t.camera, t.track_id, 1 + i // 2, "new" if i % 2 == 0 else "match",
                                  0.1 * i or None, None, None, t.t_start, t.t_end) for i, t in enumerate(obs)])
    store.put_tracklets([TrackletObs("cam0", 0, -1.0, 3.0, obs[0].embedding, -0.25)])  # refresh: widens the span
    store.put_tracklets([TrackletObs("cam1", 1, 10.0, 15.0, obs[1].embedding)])  # no dx now: the known one stays
    store.set_global_ids({("cam1", 5): 7}, "offline")
    store.set_meta("embedder", "model.onnx")


def contents(store: Store) -> dict[str, Any]:
    rows = store.tracklets()
    return {"tracklets": [(t.id, t.camera, t.track_id, t.t_start, t.t_end, t.global_id, t.embedding.tolist(), t.dx)
                          for t in rows],
            "events": [{k: v for k, v in e.items() if k != "written"} for e in store.events()],
            "crops": [[c.tolist() for c in store.crops(t.id)] for t in rows],
            "meta": store.get_meta("embedder"), "max": store.max_track_ids()}


def test_postgres_matches_sqlite(postgres: Any, tmp_path: Path) -> None:
    lite, pg = SqliteStore(tmp_path), PostgresStore(postgres.url, site="same")
    fill(lite)
    fill(pg)
    assert contents(pg) == contents(lite)
    assert pg.forget_camera("cam1") == lite.forget_camera("cam1") == 3
    pg.clear_identities()
    lite.clear_identities()
    assert contents(pg) == contents(lite)
    lite.close()
    pg.close()
    again = PostgresStore(postgres.url, site="same")  # reopening keeps everything (schema version checked)
    assert len(again.tracklets()) == 3
    again.close()


def test_sites_are_apart_and_retention_applies(postgres: Any) -> None:
    now = [1000.0]
    a = PostgresStore(postgres.url, site="north", embedding_ttl_s=100.0, crop_ttl_s=10.0, clock=lambda: now[0])
    b = PostgresStore(postgres.url, site="south")
    a.put_tracklets([TrackletObs("a", 1, 0.0, 1.0, np.ones(8))], [np.zeros((1, 2, 2, 3), np.uint8)])
    now[0] = 1050.0
    a.put_tracklets([TrackletObs("a", 2, 0.0, 1.0, np.ones(8))], [np.zeros((1, 2, 2, 3), np.uint8)])
    assert b.tracklets() == []
    assert a.purge() == (0, 1)
    now[0] = 1120.0
    assert a.purge() == (1, 1)
    assert [t.embedding is None for t in a.tracklets()] == [True, False]
    a.close()
    b.close()


def test_search_and_report_on_postgres(postgres: Any, tmp_path: Path) -> None:
    from streid.pipeline.identity.report import write_report

    store = PostgresStore(postgres.url, site="searchable")
    fill(store)
    hits = rank(store, store.tracklets()[1].embedding[None], top=3)
    assert hits[0].global_id == 1 and hits[0].distance == pytest.approx(0.0, abs=1e-5)
    done = {c: {"frames": 100, "fps": 10.0} for c in ("cam0", "cam1")}
    page = write_report(tmp_path, store, ["cam0", "cam1"], done, {}, None, 0.35).read_text()
    assert "G1" in page and "G7" in page and len(list((tmp_path / "report_assets/crops").iterdir())) == 6
    store.close()
    result = CliRunner().invoke(app, ["search", "--db", postgres.url, "--site", "searchable", "--query", "cam0:2",
                                      "--top", "2"])
    assert result.exit_code == 0, result.output
    assert "identities like cam0:2" in result.output
    bad = CliRunner().invoke(app, ["search", "--db", postgres.url, "--site", "Bad-Name", "--query", "1"])
    assert bad.exit_code == 2 and "site name" in bad.output


def test_password_never_shown(postgres: Any) -> None:
    url = f"postgresql://streid:s3cret-pw@127.0.0.1:{postgres.port + 1}/postgres"  # nothing listens there
    assert redact(url) == f"postgresql://streid:***@127.0.0.1:{postgres.port + 1}/postgres"
    with pytest.raises(ValueError) as err:
        PostgresStore(url, site="x")
    assert "s3cret" not in str(err.value) and "cannot connect" in str(err.value)
    result = CliRunner().invoke(app, ["search", "--db", url, "--query", "1"])
    assert result.exit_code == 2 and "s3cret" not in result.output
    assert json.dumps(redact(url)).count("s3cret") == 0


def test_report_command_on_either_store(postgres: Any, tmp_path: Path) -> None:
    """``streid report --db URL --site S --out DIR`` and ``--store DIR``: the same cards from the same contents."""
    pg = PostgresStore(postgres.url, site="reported")
    fill(pg)
    pg.close()
    lite = SqliteStore(tmp_path / "job")
    fill(lite)
    lite.close()
    pages = {}
    for name, args in (("pg", ["--db", postgres.url, "--site", "reported", "--out", str(tmp_path / "pg")]),
                       ("job", ["--store", str(tmp_path / "job")])):
        result = CliRunner().invoke(app, ["report", *args])
        assert result.exit_code == 0, result.output
        pages[name] = (tmp_path / name / "report.html").read_text()
        assert len(list((tmp_path / name / "report_assets/crops").iterdir())) == 6
    cards = {k: sorted(set(re.findall(r'class="card" id="(G\d+)"', v))) for k, v in pages.items()}
    assert cards["pg"] == cards["job"] == ["G1", "G2", "G3", "G7"]
    no_out = CliRunner().invoke(app, ["report", "--db", postgres.url, "--site", "reported"])
    assert no_out.exit_code == 2 and "--out" in no_out.output
    empty = CliRunner().invoke(app, ["report", "--store", str(tmp_path / "nothing")])
    assert empty.exit_code == 2 and "no identities.sqlite" in empty.output
