"""Edge <-> identity service messages over MQTT: schema version 1 (documented in deploy/site/README.md).

Topics (``<site>`` and ``<camera>`` are names of ``[A-Za-z0-9_.-]``):
- ``streid/v1/<site>/tracklets/<camera>``: one tracklet update from an edge, QoS 1;
- ``streid/v1/<site>/decisions/<camera>``: the service's decision for it, QoS 1.
A payload is one JSON object; ``v`` is the schema version; unknown keys are ignored, so fields can be added
within a version. The embedding travels as base64 of little-endian float32. ``id`` is unique per tracklet update
and chosen once, when the update enters the edge's outbox, so a redelivered message is recognised.
``decided_at`` (site seconds) is when the edge would have decided it in embedded mode; the service orders
updates by ``(decided_at, edge, seq)`` (``seq`` counts an edge's messages) and decides the updates of one
``decided_at`` jointly, as the edge would have in embedded mode. ``crop_jpeg`` (optional, at most
``MAX_CROP_BYTES``) is one picture of the person (the middle crop of the tracklet's clip) for the site's dashboard.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from streid.pipeline.identity.records import Decision, TrackletObs

VERSION = 1
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_CROP_BYTES = 256 * 1024  # a tracklet crop is ~5-20 KB as JPEG; anything larger is refused
MAX_CROP_PIXELS = 1024 * 1024
DEVICES_KEY = "devices"  # store meta the service keeps: JSON {camera: edge}, which device each camera is on


def check_name(kind: str, name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"{kind} name {name!r}: use letters, digits, '_', '.', '-' (1-64 characters)")
    return name


def tracklet_topic(site: str, camera: str = "+") -> str:
    return f"streid/v{VERSION}/{site}/tracklets/{camera}"


def decision_topic(site: str, camera: str = "+") -> str:
    return f"streid/v{VERSION}/{site}/decisions/{camera}"


@dataclass
class TrackletMessage:
    """One tracklet update as the service receives it."""

    id: str
    edge: str
    seq: int
    decided_at: float
    obs: TrackletObs
    state: str = "update"
    quality: float | None = None
    crop_jpeg: bytes | None = None

    def order(self) -> tuple[float, str, int]:
        return (self.decided_at, self.edge, self.seq)


def encode_tracklet(msg_id: str, edge: str, seq: int, decided_at: float, obs: TrackletObs, state: str = "update",
                    quality: float | None = None, crop_jpeg: bytes | None = None) -> bytes:
    emb = np.ascontiguousarray(obs.embedding, "<f4")
    body: dict[str, Any] = {
        "v": VERSION, "id": msg_id, "edge": edge, "seq": int(seq), "camera": obs.camera, "track_id": obs.track_id,
        "state": state, "t_start": obs.t_start, "t_end": obs.t_end, "decided_at": float(decided_at),
        "dim": int(emb.size), "embedding": base64.b64encode(emb.tobytes()).decode("ascii"), "quality": quality,
        "dx": obs.dx}
    if crop_jpeg is not None:
        body["crop_jpeg"] = base64.b64encode(crop_jpeg).decode("ascii")
    return json.dumps(body, separators=(",", ":")).encode()


def decode_tracklet(payload: bytes) -> TrackletMessage:
    """Parse and validate; ValueError (one line) for anything malformed."""
    try:
        body = json.loads(payload)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        if body.get("v") != VERSION:
            raise ValueError(f"schema version {body.get('v')!r}, this service reads {VERSION}")
        emb = np.frombuffer(base64.b64decode(body["embedding"], validate=True), "<f4").astype(np.float32)
        if emb.size != int(body["dim"]) or emb.size == 0 or not np.all(np.isfinite(emb)):
            raise ValueError("embedding does not match dim or is not finite")
        dx = body.get("dx")  # absent from an older edge's messages
        obs = TrackletObs(check_name("camera", str(body["camera"])), int(body["track_id"]), float(body["t_start"]),
                          float(body["t_end"]), emb, None if dx is None else float(dx))
        crop = body.get("crop_jpeg")
        jpeg = None if crop is None else base64.b64decode(str(crop), validate=True)
        if jpeg is not None and (len(jpeg) > MAX_CROP_BYTES or not jpeg.startswith(b"\xff\xd8\xff")):
            raise ValueError(f"crop_jpeg is not a JPEG of at most {MAX_CROP_BYTES} bytes")
        return TrackletMessage(str(body["id"])[:128], check_name("edge", str(body["edge"])), int(body["seq"]),
                               float(body["decided_at"]), obs,
                               str(body.get("state", "update")), body.get("quality"), jpeg)
    except (KeyError, TypeError, ValueError, json.JSONDecodeError, base64.binascii.Error) as exc:
        raise ValueError(f"bad tracklet message: {type(exc).__name__}: {exc}") from None


def crop_jpeg(clip: np.ndarray, quality: int = 85) -> bytes | None:
    """The message's picture of a tracklet: the middle crop of its (L, H, W, 3) BGR clip as JPEG (None if too big)."""
    import cv2

    image = clip[len(clip) // 2] if clip.ndim == 4 else clip
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok and buf.size <= MAX_CROP_BYTES else None


def crop_pixels(jpeg: bytes) -> np.ndarray | None:
    """A message's crop back as (H, W, 3) BGR pixels; None when it does not decode or has too many pixels."""
    import cv2

    size = _jpeg_size(jpeg)
    if size is None or size[0] * size[1] > MAX_CROP_PIXELS:  # a small file can claim a huge picture
        return None
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a JPEG's frame header, without decoding it."""
    i = 2
    while i + 9 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            return int.from_bytes(data[i + 5:i + 7], "big"), int.from_bytes(data[i + 7:i + 9], "big")
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def encode_decision(msg_id: str, d: Decision) -> bytes:
    return json.dumps({"v": VERSION, "id": msg_id, "camera": d.camera, "track_id": d.track_id,
                       "global_id": d.global_id, "kind": d.kind, "distance": d.distance,
                       "runner_up_id": d.runner_up_id, "runner_up_distance": d.runner_up_distance,
                       "t_start": d.t_start, "t_end": d.t_end}, separators=(",", ":")).encode()


def decode_decision(payload: bytes) -> dict[str, Any]:
    body = json.loads(payload)
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise ValueError("bad decision message")
    return body
