"""Site-wide mode with the real parts: edges -> on-disk outbox -> mosquitto -> `streid identity serve` ->
PostgreSQL, decisions back. The same recorded tracklet stream gives the embedded mode's global ids; a broker
outage, a SIGKILLed service and a database restart lose nothing and decide nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streid.pipeline.identity.build import matcher_from_config
from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.messages import (
    MAX_CROP_BYTES,
    crop_jpeg,
    crop_pixels,
    decode_tracklet,
    encode_tracklet,
)
from streid.pipeline.identity.outbox import Outbox
from streid.pipeline.identity.records import TrackletObs, normalise
from streid.pipeline.identity.remote import EdgeLink, RemoteIdentityStage
from streid.pipeline.identity.stage import IdentityStage
from streid.pipeline.identity.store import SqliteStore

Batch = list[TrackletObs]


def recorded_stream(people: int = 10, seed: int = 0) -> list[Batch]:
    """People walk cam0 -> cam1 -> cam2; each track is published at its start and at its end (two updates).
    Times are whole seconds, so some updates share an instant and are decided jointly."""
    rng = np.random.default_rng(seed)
    centres = normalise(rng.standard_normal((people, 32)))
    at: dict[float, Batch] = defaultdict(list)
    track = 0
    for p in range(people):
        t = float(rng.integers(0, 40))
        for cam in range(3):
            track += 1
            length = float(rng.integers(4, 9))
            for end in (t + 2.0, t + length):
                emb = normalise(centres[p] + 0.25 * rng.standard_normal(32) / np.sqrt(32))
                at[end].append(TrackletObs(f"cam{cam}", track, t, end, emb))
            t += length + float(rng.integers(5, 15))
    return [at[k] for k in sorted(at)]


def embedded_ids(stream: list[Batch], tmp: Path) -> dict[tuple[str, int], int]:
    stage = IdentityStage(SqliteStore(tmp), lambda dim: matcher_from_config(IdentityConfig(), dim))
    for batch in stream:
        stage.assign(batch)
    ids = {(t.camera, t.track_id): t.global_id for t in stage.store.tracklets(False)}
    stage.close()
    return ids


class Service:
    """`streid identity serve` as a child process (so it can be SIGKILLed), logging to a file."""

    def __init__(self, broker: str, db: str, site: str, log: Path) -> None:
        self.argv = [sys.executable, "-m", "streid.pipeline.identity.service", "--broker", broker, "--db", db,
                     "--site", site, "--lateness", "1e9", "--flush-after", "1.5"]
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start, and wait until it has subscribed: the broker keeps messages only for a session it knows."""
        seen = self.log.read_text().count("consuming") if self.log.exists() else 0
        with self.log.open("a") as f:
            self.proc = subprocess.Popen(self.argv, stdout=f, stderr=subprocess.STDOUT)
        wait_for(lambda: self.log.read_text().count("consuming") > seen, 240, "the service to subscribe")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(180)
        return self.log.read_text()


def inbox(db: str, site: str) -> tuple[int, int]:
    """(messages journaled, messages decided) in the site's inbox."""
    import psycopg

    try:
        with psycopg.connect(db, connect_timeout=3) as conn:
            row = conn.execute(f"SELECT count(*), count(*) FILTER (WHERE done) FROM streid_{site}.inbox").fetchone()
            return int(row[0]), int(row[1])
    except psycopg.Error:
        return -1, -1


def decision_events(db: str, site: str) -> int:
    import psycopg

    with psycopg.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM streid_{site}.events").fetchone()[0])


def wait_for(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def site(request: pytest.FixtureRequest, mosquitto: Any, postgres: Any, tmp_path: Path) -> Any:
    """A service for a fresh site name, an edge link, and what both see."""
    name = request.node.name.removeprefix("test_")[:30].replace("[", "_").replace("]", "").lower()
    service = Service(mosquitto.url, postgres.url, name, tmp_path / "service.log")
    service.start()
    link = EdgeLink(mosquitto.url, name, "edge1", tmp_path / "outbox.sqlite")
    stage = RemoteIdentityStage(link)
    yield name, service, link, stage
    stage.close()
    service.stop()


def all_decided(link: EdgeLink, db: str, name: str, sent: int, keys: int) -> Any:
    return lambda: inbox(db, name) == (sent, sent) and len(link.ids) == keys


def test_remote_gives_the_embedded_ids(site: Any, postgres: Any, tmp_path: Path) -> None:
    name, service, link, stage = site
    stream = recorded_stream()
    expected = embedded_ids(stream, tmp_path / "embedded")
    for batch in stream:
        stage.assign(batch)
    sent = sum(len(b) for b in stream)
    wait_for(all_decided(link, postgres.url, name, sent, len(expected)), 60, "every decision")
    assert link.ids == expected
    assert len(set(expected.values())) >= 8  # people told apart, and cross-camera links made
    assert decision_events(postgres.url, name) == sent  # one decision per update, none twice
    assert "Traceback" not in service.stop()


def test_broker_outage_loses_nothing(site: Any, mosquitto: Any, postgres: Any, tmp_path: Path) -> None:
    """The issue's 30 s outage, shortened to 4 s: the behaviour (outbox holds, reconnect, redeliver) is the same."""
    name, _service, link, stage = site
    stream = recorded_stream(seed=1)
    expected = embedded_ids(stream, tmp_path / "embedded")
    half = len(stream) // 2
    for batch in stream[:half]:
        stage.assign(batch)
    wait_for(lambda: len(link.outbox) == 0, 30, "the first half acknowledged")
    mosquitto.stop()
    for batch in stream[half:]:
        stage.assign(batch)
    time.sleep(4.0)
    assert len(link.outbox) == sum(len(b) for b in stream[half:])  # held on disk while the broker is away
    mosquitto.start()
    sent = sum(len(b) for b in stream)
    wait_for(all_decided(link, postgres.url, name, sent, len(expected)), 90, "every decision after the outage")
    assert link.ids == expected
    assert decision_events(postgres.url, name) == sent


def test_service_sigkill_resumes_from_the_database(site: Any, postgres: Any, tmp_path: Path) -> None:
    name, service, link, stage = site
    stream = recorded_stream(seed=2)
    expected = embedded_ids(stream, tmp_path / "embedded")
    half = len(stream) // 2
    for batch in stream[:half]:
        stage.assign(batch)
    first = sum(len(b) for b in stream[:half])
    wait_for(lambda: inbox(postgres.url, name) == (first, first), 60, "the first half decided")
    service.kill()
    for batch in stream[half:]:
        stage.assign(batch)
    time.sleep(1.0)
    service.start()
    sent = sum(len(b) for b in stream)
    wait_for(all_decided(link, postgres.url, name, sent, len(expected)), 90, "every decision after the restart")
    assert decision_events(postgres.url, name) == sent  # nothing decided twice, nothing lost
    ids = link.ids
    # the gallery came back from the database: the same people end with the same identities
    same = {k: v for k, v in ids.items() if k in expected}
    assert len(same) == len(expected)
    groups = lambda m: sorted(sorted(k for k in m if m[k] == g) for g in set(m.values()))  # noqa: E731
    assert groups(same) == groups(expected)


def test_database_restart_reconnects(site: Any, postgres: Any) -> None:
    name, service, link, stage = site
    stream = recorded_stream(seed=3)
    half = len(stream) // 2
    for batch in stream[:half]:
        stage.assign(batch)
    first = sum(len(b) for b in stream[:half])
    wait_for(lambda: inbox(postgres.url, name) == (first, first), 60, "the first half decided")
    postgres.stop()
    for batch in stream[half:]:
        stage.assign(batch)
    time.sleep(2.0)
    postgres.start()
    sent = sum(len(b) for b in stream)
    keys = len({(t.camera, t.track_id) for b in stream for t in b})
    wait_for(all_decided(link, postgres.url, name, sent, keys), 90, "every decision after the database restart")
    assert decision_events(postgres.url, name) == sent
    assert "database connection lost" in service.stop()


def test_outbox_is_bounded_and_counts_drops(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite", max_messages=5)
    box.add([("t", bytes([i])) for i in range(8)])
    assert len(box) == 5 and box.counter("dropped") == 3
    assert [p for _, _, p in box.pending()] == [bytes([i]) for i in range(3, 8)]  # the oldest went
    box.close()
    again = Outbox(tmp_path / "o.sqlite", max_messages=5)  # durable: reopened after a restart
    assert len(again) == 5 and again.counter("dropped") == 3
    again.close()


def test_message_schema_round_trip_and_rejects_bad_input() -> None:
    obs = TrackletObs("cam-1", 7, 1.0, 2.5, normalise(np.arange(1, 9, dtype=np.float32)), -0.375)
    msg = decode_tracklet(encode_tracklet("abc", "edge1", 3, 2.5, obs))
    assert (msg.id, msg.edge, msg.seq, msg.decided_at, msg.obs.key) == ("abc", "edge1", 3, 2.5, ("cam-1", 7))
    assert np.array_equal(msg.obs.embedding, obs.embedding) and msg.obs.dx == -0.375
    older = encode_tracklet("a", "e", 1, 1.0, obs).replace(b',"dx":-0.375', b"")  # an edge from before the side rule
    assert b"dx" not in older and decode_tracklet(older).obs.dx is None
    for bad in (b"not json", b"[1]", encode_tracklet("a", "e", 1, 1.0, obs).replace(b'"v":1', b'"v":9'),
                encode_tracklet("a", "e", 1, 1.0, obs).replace(b'"dim":8', b'"dim":9'),
                encode_tracklet("a", "e", 1, 1.0, obs).replace(b'"dx":-0.375', b'"dx":"left"'),
                encode_tracklet("a", "e", 1, 1.0, obs).replace(b'"dx":-0.375', b'"dx":[1]'),
                encode_tracklet("a", "e", 1, 1.0, TrackletObs("../x", 1, 0.0, 1.0, obs.embedding))):
        with pytest.raises(ValueError, match="bad tracklet message"):
            decode_tracklet(bad)


def test_crop_travels_as_one_bounded_jpeg() -> None:
    """The optional ``crop_jpeg``: the clip's middle crop, back as pixels; oversized or non-JPEG crops refused."""
    import base64

    import cv2

    obs = TrackletObs("cam-1", 7, 1.0, 2.5, normalise(np.arange(1, 9, dtype=np.float32)))
    clip = np.zeros((4, 64, 32, 3), np.uint8)
    clip[2] = (20, 200, 30)  # the middle one of four
    msg = decode_tracklet(encode_tracklet("abc", "edge1", 3, 2.5, obs, crop_jpeg=crop_jpeg(clip)))
    pixels = crop_pixels(msg.crop_jpeg)
    assert pixels.shape == (64, 32, 3) and np.abs(pixels.mean(axis=(0, 1)) - (20, 200, 30)).max() < 4
    assert decode_tracklet(encode_tracklet("abc", "edge1", 3, 2.5, obs)).crop_jpeg is None
    for bad in (b"GIF89a", b"\xff\xd8\xff" + bytes(MAX_CROP_BYTES)):
        payload = json.loads(encode_tracklet("a", "e", 1, 1.0, obs))
        payload["crop_jpeg"] = base64.b64encode(bad).decode()
        with pytest.raises(ValueError, match="crop_jpeg"):
            decode_tracklet(json.dumps(payload).encode())
    huge = cv2.imencode(".jpg", np.zeros((1200, 1000, 3), np.uint8))[1].tobytes()  # small file, many pixels
    assert len(huge) < MAX_CROP_BYTES and crop_pixels(huge) is None


def test_serve_command_refuses_bad_input_in_one_line() -> None:
    from typer.testing import CliRunner

    from streid.cli import app

    for args, message in ((["--site", "Bad Name"], "site name"), (["--site", "ok", "--broker", "http://x"], "broker"),
                          (["--site", "ok", "--broker", "mqtt://u:pw@host"], "no credentials")):
        argv = ["identity", "serve", "--broker", "mqtt://127.0.0.1:1", "--db", "postgresql://a@127.0.0.1:1/x", *args]
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 2 and message in result.output and "pw" not in result.output


def test_remote_mode_from_config(mosquitto: Any, tmp_path: Path) -> None:
    """`identity.mode: remote` gives the runner a RemoteIdentityStage with its outbox in the output folder."""
    from pydantic import ValidationError

    from streid.pipeline.identity.stage import stage_from_config

    cfg = IdentityConfig.model_validate({"mode": "remote", "remote": {"broker": mosquitto.url, "site": "cfg",
                                                                      "edge": "e1"}})
    stage = stage_from_config(cfg, tmp_path, None)
    assert isinstance(stage, RemoteIdentityStage) and (tmp_path / "outbox.sqlite").is_file()
    stage.assign([TrackletObs("cam0", 1, 0.0, 1.0, np.ones(4, np.float32))])
    assert stage.link.flush(30)  # acknowledged by the broker
    stage.close()
    with pytest.raises(ValidationError, match="site"):
        IdentityConfig.model_validate({"remote": {"site": "Bad Name"}})
