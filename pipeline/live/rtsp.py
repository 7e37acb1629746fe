"""Annotated cameras restreamed by gst-rtsp-server: ``rtsp://HOST:PORT/PATH/CAMERA``, H.264.

Why in-process: the annotated frames are already in memory; an ``appsrc`` per camera feeds a shared media
(one encoder however many viewers). The runner's :meth:`RtspRestream.push` never blocks: with no viewer the
frame is not even copied, and with a slow encoder or viewer the per-camera queue keeps only the newest
``queue_size`` frames (the others are dropped and counted), so RTSP can never stall detection. The Jetson
hardware encoder (``nvv4l2h264enc``) is used when present, ``x264enc`` (zerolatency) otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from streid.media import gst, h264_encoder

log = logging.getLogger(__name__)

KEYFRAME_EVERY = 30  # a new viewer waits at most this many frames for a picture


def encoder_fragment(bitrate_kbps: int) -> str:
    """BGR frames in, H.264 out: the Jetson hardware encoder when present, else the best software one."""
    Gst = gst()
    if Gst.ElementFactory.find("nvv4l2h264enc") and Gst.ElementFactory.find("nvvidconv"):
        return (f"videoconvert ! video/x-raw,format=BGRx ! nvvidconv ! video/x-raw(memory:NVMM),format=NV12 ! "
                f"nvv4l2h264enc bitrate={bitrate_kbps * 1000} insert-sps-pps=true iframeinterval={KEYFRAME_EVERY} "
                f"idrinterval={KEYFRAME_EVERY} maxperf-enable=true")
    return f"videoconvert ! video/x-raw,format=I420 ! {h264_encoder(bitrate_kbps)}"


def encoder_name() -> str:
    """Which H.264 encoder the restream uses on this machine (for the docs and ``streid doctor``)."""
    return encoder_fragment(1000).split(" ! ")[-1].split()[0]


@dataclass
class _Mount:
    width: int
    height: int
    queue: deque = field(default_factory=lambda: deque(maxlen=2))
    appsrc: Any = None  # set while a viewer is connected (the shared media is prepared)
    pushed: int = 0
    dropped: int = 0


class RtspRestream:
    """gst-rtsp-server on ``host:port`` with one mount per camera, made on the camera's first frame."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8554, path: str = "streid", bitrate_kbps: int = 2000,
                 queue_size: int = 2) -> None:
        import gi

        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, GstRtspServer

        gst()
        self.host, self.path, self.bitrate_kbps, self.queue_size = host, path, bitrate_kbps, queue_size
        self._rtsp = GstRtspServer
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(host)
        self.server.set_service(str(port))
        self.context = GLib.MainContext.new()
        self.loop = GLib.MainLoop.new(self.context, False)
        self._source_id = self.server.attach(self.context)
        if self._source_id == 0:
            raise OSError(f"RTSP: cannot listen on {host}:{port} (port in use?)")
        self.port = int(self.server.get_bound_port())
        self.mounts: dict[str, _Mount] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._loop_thread = threading.Thread(target=self.loop.run, name="rtsp-server", daemon=True)
        self._loop_thread.start()
        self._pusher = threading.Thread(target=self._push_loop, name="rtsp-push", daemon=True)
        self._pusher.start()

    def url(self, camera: str, host: str | None = None) -> str:
        shown = host or ("127.0.0.1" if self.host in ("0.0.0.0", "") else self.host)
        return f"rtsp://{shown}:{self.port}/{self.path}/{camera}"

    def push(self, camera: str, canvas: np.ndarray, fps: float = 0.0) -> None:
        """Queue one annotated BGR frame of ``camera`` (non-blocking; dropped when nobody watches)."""
        mount = self.mounts.get(camera)
        if mount is None:
            mount = self._mount(camera, canvas.shape[1], canvas.shape[0], fps)
        if mount.appsrc is None:
            return
        if canvas.shape[:2] != (mount.height, mount.width):
            log.warning("rtsp %s: frame size changed to %s; frame dropped", camera, canvas.shape[:2])
            mount.dropped += 1
            return
        with self._lock:
            if len(mount.queue) == mount.queue.maxlen:
                mount.dropped += 1  # the oldest waiting frame goes
            mount.queue.append(canvas)
            self._wake.notify()

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per camera: frames pushed to the encoder, frames dropped, whether anyone watches."""
        return {c: {"pushed": m.pushed, "dropped": m.dropped, "watched": m.appsrc is not None}
                for c, m in self.mounts.items()}

    def _mount(self, camera: str, width: int, height: int, fps: float) -> _Mount:
        rate = Fraction(fps or 25.0).limit_denominator(1001)
        caps = f"video/x-raw,format=BGR,width={width},height={height},framerate={rate.numerator}/{rate.denominator}"
        launch = (f"( appsrc name=src is-live=true format=time do-timestamp=true max-buffers=2 leaky-type=downstream "
                  f"caps={caps} ! queue max-size-buffers=2 leaky=downstream ! {encoder_fragment(self.bitrate_kbps)} "
                  f"! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )")
        mount = _Mount(width, height, deque(maxlen=self.queue_size))
        factory = self._rtsp.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)  # one encoder per camera, however many viewers
        factory.connect("media-configure", self._on_media, camera)
        self.mounts[camera] = mount
        self.server.get_mount_points().add_factory(f"/{self.path}/{camera}", factory)
        log.info("RTSP: %s", self.url(camera))
        return mount

    def _on_media(self, _factory: Any, media: Any, camera: str) -> None:
        mount = self.mounts[camera]
        mount.appsrc = media.get_element().get_child_by_name("src")
        media.connect("unprepared", self._on_unprepared, camera)

    def _on_unprepared(self, _media: Any, camera: str) -> None:
        mount = self.mounts[camera]
        with self._lock:
            mount.appsrc = None
            mount.queue.clear()

    def _push_loop(self) -> None:
        Gst = gst()
        while True:
            with self._lock:
                while not self._closed and not any(m.queue for m in self.mounts.values()):
                    self._wake.wait()
                if self._closed:
                    return
                work = [(m, m.queue.popleft()) for m in self.mounts.values() if m.queue]
            for mount, canvas in work:
                src = mount.appsrc
                if src is None:
                    continue
                src.emit("push-buffer", Gst.Buffer.new_wrapped(np.ascontiguousarray(canvas).tobytes()))
                mount.pushed += 1

    def close(self) -> None:
        """Stop pushing, disconnect every viewer, stop the server's main loop."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        self._pusher.join(timeout=5)
        from gi.repository import GLib

        pool = self.server.get_session_pool()
        pool.filter(lambda _pool, _session: self._rtsp.RTSPFilterResult.REMOVE)
        for camera in list(self.mounts):
            self.server.get_mount_points().remove_factory(f"/{self.path}/{camera}")
        source = self.context.find_source_by_id(self._source_id)
        if source is not None:
            source.destroy()
        self.context.invoke_full(GLib.PRIORITY_DEFAULT, self.loop.quit)
        self._loop_thread.join(timeout=5)
