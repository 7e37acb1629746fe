"""A loopback RTSP test server (gst-rtsp-server): ``python rtsp_server.py PORT [FRAMES]`` serves
rtsp://127.0.0.1:PORT/test; with FRAMES, every client gets its own stream that ends (EOS) after that many frames.

Run as a subprocess by the reconnection tests so it can be killed and started again like a real camera.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main(port: int, frames: int = -1) -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball num-buffers={frames} ! "
        "video/x-raw,width=320,height=180,framerate=15/1 ! "
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay0 pt=96 )"
    )
    factory.set_shared(frames < 0)  # an ending stream is per client: a reconnect starts a fresh one
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
