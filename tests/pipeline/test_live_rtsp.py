"""The RTSP restream never makes the runner wait: no viewer costs nothing, a slow one costs counted drops."""

from __future__ import annotations

import time

import numpy as np

from streid.media import gst
from streid.pipeline.live.rtsp import RtspRestream
from tests.pipeline.test_rtsp import free_port


def test_no_viewer_costs_nothing_and_a_slow_one_only_drops_frames() -> None:
    server = RtspRestream("127.0.0.1", free_port(), "streid")
    frame = np.zeros((360, 640, 3), np.uint8)
    Gst = gst()
    client = None
    try:
        for _ in range(20):
            server.push("door", frame, 25.0)
        assert server.stats()["door"] == {"pushed": 0, "dropped": 0, "watched": False}  # not even copied
        client = Gst.parse_launch(f"rtspsrc location={server.url('door')} latency=0 protocols=tcp ! decodebin ! "
                                  "videoconvert ! appsink name=sink sync=false")
        client.set_state(Gst.State.PLAYING)
        end = time.monotonic() + 30
        while not server.stats()["door"]["watched"] and time.monotonic() < end:
            server.push("door", frame, 25.0)
            time.sleep(0.04)
        assert server.stats()["door"]["watched"]
        before = server.stats()["door"]
        # one burst, far faster than the encoder thread takes frames (a push is a lock and an append, a take is a
        # 700 kB copy): the queue keeps the newest frames only. Pushing copies here would make the burst as slow
        # as the taker, and the count of drops a race between the two threads
        burst = [np.full_like(frame, i) for i in range(4)]
        for i in range(200):
            server.push("door", burst[i % 4], 25.0)
        after = server.stats()["door"]
        assert after["dropped"] - before["dropped"] > 100
        time.sleep(0.5)
        final = server.stats()["door"]
        assert final["pushed"] + final["dropped"] - before["pushed"] - before["dropped"] == 200
        assert client.get_by_name("sink").emit("try-pull-sample", 20 * Gst.SECOND) is not None
    finally:
        if client is not None:
            client.set_state(Gst.State.NULL)
        server.close()
