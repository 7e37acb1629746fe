"""``streid identity serve``: one site's identity service between the MQTT broker and PostgreSQL.

Loss-free and exactly-once by construction:
- a tracklet message is acknowledged to the broker only after it is in the database's ``inbox`` (keyed by its
  message id: a redelivered message is recognised, and its stored decision is sent again instead of deciding
  it twice); the MQTT session is persistent, so messages that arrive while the service is down wait in the
  broker;
- messages are decided in site-time order ``(decided_at, edge, seq)``; a batch waits until the stream is
  ``lateness_s`` site seconds past it, or until nothing new arrived for ``flush_after_s`` wall seconds;
- a batch's tracklets, decisions and inbox marks commit in one transaction; decisions are published after the
  commit and marked when the broker acknowledges them, so a restart republishes any it may have missed;
- the matcher is the embedded mode's :class:`OnlineMatcher` with the same constraints; on start, after a
  ``kill -9`` or when the database comes back, it is rebuilt from the store (same gallery) and the unfinished
  inbox is reloaded.
The service connects out to the broker and the database and listens on nothing (``--web`` adds the site's dashboard,
reading the database on its own read-only connection: pipeline/web).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from streid.pipeline.identity.centering import CameraCentering
from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.messages import (
    DEVICES_KEY,
    TrackletMessage,
    check_name,
    crop_pixels,
    decision_topic,
    decode_tracklet,
    encode_decision,
    tracklet_topic,
)
from streid.pipeline.identity.trackmean import TrackMeans

log = logging.getLogger(__name__)

_INBOX = """
CREATE TABLE IF NOT EXISTS inbox (
    id TEXT PRIMARY KEY, received DOUBLE PRECISION NOT NULL, decided_at DOUBLE PRECISION NOT NULL,
    edge TEXT NOT NULL, seq BIGINT NOT NULL, payload BYTEA NOT NULL, done BOOLEAN NOT NULL DEFAULT false,
    decided DOUBLE PRECISION, topic TEXT, decision BYTEA, published BOOLEAN NOT NULL DEFAULT false);
CREATE INDEX IF NOT EXISTS inbox_open ON inbox(done) WHERE NOT done;
"""


@dataclass
class ServiceStats:
    """Counters the service logs and a bench reads."""

    received: int = 0
    duplicates: int = 0
    rejected: int = 0
    decided: int = 0
    reconnects: int = 0
    latencies: list[float] = field(default_factory=list)  # wall seconds from arrival to published decision


class IdentityService:
    """Consume ``streid/v1/<site>/tracklets/+``, decide, store, publish ``.../decisions/<camera>``."""

    def __init__(self, broker: str, db_url: str, site: str, cfg: IdentityConfig | None = None,
                 lateness_s: float = 2.0, flush_after_s: float = 1.0, stop: threading.Event | None = None) -> None:
        from streid.pipeline.identity.mqtt import parse_broker
        from streid.pipeline.identity.pg_store import schema_name

        schema_name(site)  # validate early: one line, exit 2
        check_name("site", site)
        parse_broker(broker)
        self.broker, self.db_url, self.site = broker, db_url, site
        self.cfg = cfg or IdentityConfig()
        self.lateness_s, self.flush_after_s = lateness_s, flush_after_s
        self.stop = stop or threading.Event()
        self.stats = ServiceStats()
        self.incoming: queue.Queue[Any] = queue.Queue()
        self.acked: queue.Queue[int] = queue.Queue()
        self.store: Any = None
        self.matcher: Any = None
        self.centering = CameraCentering() if self.cfg.camera_centering else None  # as IdentityStage does
        self.track_means = TrackMeans() if self.cfg.track_mean else None
        self.pending: dict[str, tuple[TrackletMessage, float]] = {}  # id -> (message, arrival wall time)
        self.unacked: list[Any] = []  # MQTT messages not yet in the inbox
        self.in_flight: dict[int, str] = {}  # decision publish mid -> message id
        self.newest_at = float("-inf")
        self.last_arrival = 0.0
        self.client: Any = None
        self.devices: dict[str, str] = {}

    # --- database -------------------------------------------------------------------------------------------
    def _open(self) -> None:
        """Connect (retrying until it works or we are stopped) and rebuild state from the database."""
        import psycopg

        from streid.pipeline.identity.pg_store import PostgresStore, redact

        delay = 0.5
        while not self.stop.is_set():
            try:
                r = self.cfg.retention
                self.store = PostgresStore(self.db_url, self.site, embedding_ttl_s=r.embedding_ttl_s,
                                           crop_ttl_s=r.crop_ttl_s, store_crops=r.store_crops)
                self.store.db.execute(_INBOX)
                self._load()
                return
            except (ValueError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
                log.warning("database %s not available (%s); retrying in %.1fs", redact(self.db_url),
                            str(exc).splitlines()[0] if str(exc) else type(exc).__name__, delay)
                self._close_store()
                self.stop.wait(delay)
                delay = min(delay * 2, 5.0)

    def _load(self) -> None:
        """Gallery from the stored tracklets, unfinished inbox into ``pending``, unpublished decisions resent."""
        self.matcher = None
        rows = self.store.db.execute("SELECT payload FROM inbox WHERE NOT done ORDER BY decided_at, edge, seq")
        now = time.monotonic()
        self.pending = {}
        for (payload,) in rows.fetchall():
            msg = decode_tracklet(bytes(payload))
            self.pending[msg.id] = (msg, now)
            self.newest_at = max(self.newest_at, msg.decided_at)
        row = self.store.db.execute("SELECT max(decided_at) FROM inbox WHERE done").fetchone()
        if row[0] is not None:
            self.newest_at = max(self.newest_at, float(row[0]))
        self.in_flight = {}
        self.devices = json.loads(self.store.get_meta(DEVICES_KEY) or "{}")
        if self.client is not None:
            self._republish()
        log.info("site %s: %d tracklets stored, %d messages to decide", self.site,
                 len(self.store.tracklets(with_embeddings=False)), len(self.pending))

    def _republish(self) -> None:
        for mid, topic, decision in self.store.db.execute(
                "SELECT id, topic, decision FROM inbox WHERE done AND NOT published ORDER BY decided_at, edge, seq"
        ).fetchall():
            self._publish(mid, topic, bytes(decision))

    def _close_store(self) -> None:
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()
        self.store = None

    # --- MQTT ---------------------------------------------------------------------------------------------
    def _connect(self) -> None:
        from streid.pipeline.identity.mqtt import make_client

        self.client, host, port = make_client(self.broker, f"streid-identity-{self.site}", clean_session=False,
                                              manual_ack=True)
        topic = tracklet_topic(self.site)

        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            if not reason.is_failure:
                client.subscribe(topic, qos=1)
                log.info("connected to the broker, consuming %s", topic)
            else:
                log.warning("broker refused the connection: %s", reason)

        self.client.on_connect = on_connect
        self.client.on_message = lambda client, userdata, msg: self.incoming.put(msg)
        self.client.on_publish = lambda client, userdata, mid, reason, props: self.acked.put(mid)
        self.client.connect_async(host, port, keepalive=10)
        self.client.loop_start()

    def _publish(self, msg_id: str, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        self.in_flight[info.mid] = msg_id

    # --- the loop ----------------------------------------------------------------------------------------
    def run(self) -> ServiceStats:
        """Serve until ``stop`` is set."""
        import psycopg

        self._open()
        self._connect()
        if self.store is not None:
            self._republish()
        try:
            while not self.stop.is_set():
                try:
                    self._step()
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    self.stats.reconnects += 1
                    log.warning("database connection lost (%s); reconnecting", type(exc).__name__)
                    self._close_store()
                    self._open()
        finally:
            self.client.loop_stop()
            self.client.disconnect()
            self._close_store()
        return self.stats

    def _step(self) -> None:
        with contextlib.suppress(queue.Empty):
            self.unacked.append(self.incoming.get(timeout=0.02))
        while len(self.unacked) < 2000:
            try:
                self.unacked.append(self.incoming.get_nowait())
            except queue.Empty:
                break
        if self.unacked:
            self._receive()
        for batch in self._ready():
            self._decide(batch)
        done = []
        while True:
            try:
                mid = self.acked.get_nowait()
            except queue.Empty:
                break
            if mid in self.in_flight:
                done.append(self.in_flight.pop(mid))
        if done:
            self.store.db.execute("UPDATE inbox SET published = true WHERE id = ANY(%s)", (done,))

    def _receive(self) -> None:
        """Journal the new messages in the inbox (one transaction), then acknowledge them to the broker."""
        now = time.monotonic()
        fresh: list[TrackletMessage] = []
        again: list[str] = []
        with self.store.transaction() as cur:
            for m in self.unacked:
                try:
                    msg = decode_tracklet(m.payload)
                except ValueError as exc:
                    self.stats.rejected += 1
                    log.warning("%s: %s", m.topic, exc)
                    continue
                if not m.topic.endswith("/" + msg.obs.camera):
                    self.stats.rejected += 1
                    log.warning("%s: camera %s does not match the topic", m.topic, msg.obs.camera)
                    continue
                cur.execute("INSERT INTO inbox (id, received, decided_at, edge, seq, payload)"
                            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
                            (msg.id, time.time(), msg.decided_at, msg.edge, msg.seq, m.payload))
                if cur.fetchone() is None:
                    again.append(msg.id)
                else:
                    fresh.append(msg)
        for m in self.unacked:
            self.client.ack(m.mid, m.qos)
        self.unacked = []
        self.stats.received += len(fresh)
        self.stats.duplicates += len(again)
        for msg in fresh:
            self.pending[msg.id] = (msg, now)
            self.newest_at = max(self.newest_at, msg.decided_at)
        if fresh:
            self.last_arrival = now
        if again:  # already decided: send the decision again (the edge may have missed it)
            for mid, topic, decision in self.store.db.execute(
                    "SELECT id, topic, decision FROM inbox WHERE id = ANY(%s) AND done", (again,)).fetchall():
                self._publish(mid, topic, bytes(decision))

    def _ready(self) -> list[list[tuple[TrackletMessage, float]]]:
        """Batches (same ``decided_at``) that the lateness window has closed, in site-time order."""
        if not self.pending:
            return []
        quiet = time.monotonic() - self.last_arrival >= self.flush_after_s
        items = sorted(self.pending.values(), key=lambda it: it[0].order())
        batches: list[list[tuple[TrackletMessage, float]]] = []
        for item in items:
            at = item[0].decided_at
            if not quiet and self.newest_at - at < self.lateness_s:
                break
            if batches and batches[-1][0][0].decided_at == at:
                batches[-1].append(item)
            else:
                batches.append([item])
        return batches

    def _decide(self, batch: list[tuple[TrackletMessage, float]]) -> None:
        from streid.pipeline.identity.build import resume_matcher

        raw = [m.obs for m, _ in batch]
        obs = self.centering.centre(raw) if self.centering is not None else raw
        stored = obs if self.track_means is None else self.track_means.stored(raw, self.centering)
        if self.matcher is None:
            self.matcher = resume_matcher(self.cfg, self.store, int(obs[0].embedding.size))
        decisions = self.matcher.update(obs)
        crops = [self._crop(m) for m, _ in batch]
        devices = {m.obs.camera: m.edge for m, _ in batch}
        out = []
        with self.store.transaction() as cur:
            self.store.put_tracklets(stored, crops)  # what the offline pass compares
            self.store.put_decisions(decisions)
            if any(self.devices.get(cam) != edge for cam, edge in devices.items()):
                self.store.set_meta(DEVICES_KEY, json.dumps({**self.devices, **devices}, sort_keys=True))
            for (m, _), d in zip(batch, decisions, strict=True):
                topic, payload = decision_topic(self.site, d.camera), encode_decision(m.id, d)
                cur.execute("UPDATE inbox SET done = true, decided = %s, topic = %s, decision = %s WHERE id = %s",
                            (time.time(), topic, payload, m.id))
                out.append((m.id, topic, payload))
        self.devices.update(devices)
        now = time.monotonic()
        for (m, arrived), (mid, topic, payload) in zip(batch, out, strict=True):
            self.pending.pop(m.id, None)
            self._publish(mid, topic, payload)
            self.stats.latencies.append(now - arrived)
        self.stats.decided += len(batch)

    @staticmethod
    def _crop(msg: TrackletMessage) -> Any:
        """The message's crop as pixels for the store (the dashboard's cards), or None."""
        if msg.crop_jpeg is None:
            return None
        pixels = crop_pixels(msg.crop_jpeg)
        if pixels is None:
            log.warning("%s:%d: crop_jpeg does not decode or is too large; stored without it", msg.obs.camera,
                        msg.obs.track_id)
        return pixels


if __name__ == "__main__":  # `python -m streid.pipeline.identity.service`: `streid identity serve` without the
    import typer  # rest of the CLI's imports (a quick start for tests and benches)

    from streid.pipeline.identity.cli import serve_command

    typer.run(serve_command)
