"""Edge side of the site-wide mode (``identity.mode: remote``): tracklets go out through an on-disk outbox to MQTT,
decisions come back and label the edge's video and events.

:class:`EdgeLink` owns the outbox and the MQTT client: a pump thread publishes the outbox in order with QoS 1 and
removes a message only when the broker acknowledged it, so a broker outage or an edge restart loses nothing (a
message sent twice is recognised by its id at the service). :class:`RemoteIdentityStage` is the
:class:`IdentityStage` the runner already drives, with the matcher and store replaced by the link; the
pipeline keeps running whether or not the broker or the service is up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np

from streid.pipeline.identity.messages import (
    check_name,
    crop_jpeg,
    decision_topic,
    decode_decision,
    encode_tracklet,
    tracklet_topic,
)
from streid.pipeline.identity.outbox import Outbox
from streid.pipeline.identity.records import Decision, TrackletObs
from streid.pipeline.identity.stage import IdentityStage
from streid.records import Tracklet

log = logging.getLogger(__name__)


class EdgeLink:
    """Outbox -> broker (QoS 1, in order, at most ``window`` unacknowledged) and decisions -> ``ids``."""

    def __init__(self, broker: str, site: str, edge: str, outbox: str | Path, max_messages: int = 100_000,
                 window: int = 100) -> None:
        from streid.pipeline.identity.mqtt import make_client

        self.site, self.edge = check_name("site", site), check_name("edge", edge)
        self.outbox = Outbox(outbox, max_messages)
        self.window = window
        self.ids: dict[tuple[str, int], int] = {}
        self.decisions = 0
        self._acked: queue.Queue[int] = queue.Queue()
        self._connected = threading.Event()
        self._reset = threading.Event()
        self._stop = threading.Event()
        self._last_at = float("-inf")
        self.client, host, port = make_client(broker, f"streid-edge-{site}-{edge}", clean_session=False)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = lambda client, userdata, mid, reason, props: self._acked.put(mid)
        self.client.connect_async(host, port, keepalive=10)
        self.client.loop_start()
        self._pump = threading.Thread(target=self._run, name=f"edge-link-{edge}", daemon=True)
        self._pump.start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        client.subscribe(decision_topic(self.site), qos=1)
        self._reset.set()  # resend everything not yet acknowledged
        self._connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        log.warning("broker connection lost (%s); %d messages wait in the outbox", reason, len(self.outbox))

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            d = decode_decision(msg.payload)
            self.ids[(str(d["camera"]), int(d["track_id"]))] = int(d["global_id"])
            self.decisions += 1
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s: bad decision message (%s)", msg.topic, exc)

    def send(self, obs: list[TrackletObs], crops: list[np.ndarray | None] | None = None) -> None:
        """Queue one batch (decided jointly by the service); its instant is after every earlier batch's.
        ``crops[i]`` (a tracklet's clip, or None) travels as one JPEG for the site's dashboard."""
        at = max(max(o.t_end for o in obs), np.nextafter(self._last_at, np.inf))
        self._last_at = at
        seq = self.outbox.next_seq()
        jpegs = [None if c is None else crop_jpeg(c) for c in (crops or [None] * len(obs))]
        items = [(tracklet_topic(self.site, o.camera),
                  encode_tracklet(uuid.uuid4().hex, self.edge, seq + i, at, o, crop_jpeg=jpeg))
                 for i, (o, jpeg) in enumerate(zip(obs, jpegs, strict=True))]
        self.outbox.add(items)
        for o in obs:
            self.outbox.set_max(f"track:{o.camera}", o.track_id)

    def _run(self) -> None:
        last, in_flight = 0, {}
        while not self._stop.is_set():
            if self._reset.is_set():
                self._reset.clear()
                last, in_flight = 0, {}
            if self._connected.is_set() and len(in_flight) < self.window:
                for seq, topic, payload in self.outbox.pending(last, self.window - len(in_flight)):
                    info = self.client.publish(topic, payload, qos=1)
                    if info.rc != 0:
                        break
                    in_flight[info.mid] = seq
                    last = seq
            done = []
            while True:
                try:
                    mid = self._acked.get(timeout=0.01 if not done else 0)
                except queue.Empty:
                    break
                if mid in in_flight:
                    done.append(in_flight.pop(mid))
            if done:
                self.outbox.remove(done)

    def flush(self, timeout: float) -> bool:
        """Wait until the outbox is empty (every message acknowledged by the broker) or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while len(self.outbox) and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.outbox) == 0

    def close(self, flush_s: float = 5.0) -> None:
        if not self.flush(flush_s):
            log.warning("closing with %d messages in the outbox %s; they are sent on the next start",
                        len(self.outbox), self.outbox.path)
        self._stop.set()
        self._pump.join(5)
        self.client.loop_stop()
        self.client.disconnect()
        self.outbox.close()


class RemoteIdentityStage(IdentityStage):
    """The identity stage of an edge in remote mode: no matcher or store here, ids come back from the service."""

    def __init__(self, link: EdgeLink, *, t_offsets: dict[str, float] | None = None,
                 clock: Literal["video", "wall"] = "video", send_crops: bool = True) -> None:
        # a restarted edge numbers its tracks above those it already sent (as the embedded mode does from its store)
        offsets = {k.split(":", 1)[1]: v + 1 for k, v in link.outbox.counters("track:").items()}
        super().__init__(None, None, t_offsets=t_offsets, track_offsets=offsets, clock=clock)  # type: ignore[arg-type]
        self.link = link
        self.send_crops = send_crops  # identity.retention.store_crops: false keeps pictures of people on the device
        self.ids = link.ids  # filled by the link as decisions arrive

    def assign(self, obs: list[TrackletObs], crops: list[np.ndarray | None] | None = None) -> list[Decision | None]:
        if obs:
            self.link.send(obs, crops if self.send_crops else None)
        return [None] * len(obs)

    def update(self, tracklets: list[Tracklet]) -> list[dict[str, Any]]:
        """Publish; each event carries the global id already decided for its track, if any."""
        fields = super().update(tracklets)
        for f, t in zip(fields, tracklets, strict=True):
            gid = self.global_id(t.camera, int(t.track_id)) if t.embedding is not None else None
            if gid is not None:
                f.update({"global_id": gid, "match": "remote"})
        return fields

    def reset(self) -> None:
        self.matcher = None

    def close(self) -> None:
        self.link.close()
