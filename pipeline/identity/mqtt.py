"""One way to make an MQTT client (paho-mqtt) for the edge and the service: URL, credentials, TLS.

``mqtt://host:1883`` or ``mqtts://host:8883`` (TLS, system CAs or ``STREID_MQTT_CA``). Username and password come
from the environment (``STREID_MQTT_USERNAME``, ``STREID_MQTT_PASSWORD`` or ``STREID_MQTT_PASSWORD_FILE``), never
from the URL, so they cannot end up in a config file, a log line or an error message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def parse_broker(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of a broker URL; ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker {url!r}: use mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    if parts.username or parts.password:
        raise ValueError("broker URL: put no credentials in it; use STREID_MQTT_USERNAME / STREID_MQTT_PASSWORD[_FILE]")
    tls = parts.scheme == "mqtts"
    return parts.hostname, parts.port or (8883 if tls else 1883), tls


def credentials() -> tuple[str | None, str | None]:
    user = os.environ.get("STREID_MQTT_USERNAME")
    password = os.environ.get("STREID_MQTT_PASSWORD")
    path = os.environ.get("STREID_MQTT_PASSWORD_FILE")
    if path:
        try:
            password = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"STREID_MQTT_PASSWORD_FILE {path}: {exc.strerror}") from None
    return user, password


def make_client(url: str, client_id: str, clean_session: bool, manual_ack: bool = False) -> tuple[Any, str, int]:
    """A configured, not yet connected paho client and the (host, port) to connect to."""
    import paho.mqtt.client as mqtt

    host, port, tls = parse_broker(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session,
                         protocol=mqtt.MQTTv311, manual_ack=manual_ack)
    user, password = credentials()
    if user is not None:
        client.username_pw_set(user, password)
    if tls:
        client.tls_set(ca_certs=os.environ.get("STREID_MQTT_CA") or None)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    return client, host, port
