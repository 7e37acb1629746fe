"""Live outputs' cost and latency: frames/s with the RTSP restream and the dashboard open vs without, and the
end-to-end latency from a frame's capture to its annotated frame on the RTSP stream.

    .venv/bin/python bench/live_bench.py [--seconds 20] [--browser] [--embedder default]

1. Throughput: two live test cameras (videotestsrc 640x360 at 30 fps, boxes from a rendered scene's gt, so every
   frame is annotated) run ``--seconds`` twice: outputs off, then RTSP + dashboard on with an RTSP client
   decoding each camera and the dashboard open (headless Chromium with ``--browser``, else a client doing what
   the page does: a snapshot per camera every 0.5 s and the camera list every second), after an untimed warm-up
   run. Prints frames/s of each run (processed frames / run time) and their ratio.
2. Latency: a loopback RTSP camera whose frames carry their capture time as a 32-bit barcode; the pipeline reads
   it and restreams it; a client decodes the restream and reads the barcode back. Prints the capture -> restream
   latency and, as the baseline, capture -> camera stream read directly (the camera's own encode + RTSP hop).
Everything runs in one process on this machine's CPU; on a shared machine the numbers move with the load.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from streid.media import gst
from streid.pipeline.cli import run_from_config
from streid.pipeline.live.rtsp import RtspRestream
from streid.pipeline.scene import render_scene

W, H, BITS, BLOCK = 640, 360, 32, 20
T0 = time.time()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspReader:
    """rtspsrc -> decode -> BGR appsink on its own thread; ``on_frame(image)`` per decoded frame."""

    def __init__(self, url: str, on_frame: Any) -> None:
        Gst = gst()
        self.pipe = Gst.parse_launch(f"rtspsrc location={url} latency=0 protocols=tcp ! decodebin ! videoconvert ! "
                                     "video/x-raw,format=BGR ! appsink name=sink sync=false max-buffers=2 drop=true")
        self.sink, self.on_frame, self.frames = self.pipe.get_by_name("sink"), on_frame, 0
        self.stop = threading.Event()
        self.pipe.set_state(Gst.State.PLAYING)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        Gst = gst()
        while not self.stop.is_set():
            sample = self.sink.emit("try-pull-sample", Gst.SECOND // 5)
            if sample is None:
                continue
            caps = sample.get_caps().get_structure(0)
            w, h = caps.get_value("width"), caps.get_value("height")
            buf = sample.get_buffer()
            ok, info = buf.map(Gst.MapFlags.READ)
            if ok:
                img = np.frombuffer(info.data, np.uint8).reshape(h, len(info.data) // h)[:, : w * 3].reshape(h, w, 3)
                self.frames += 1
                self.on_frame(img)
                buf.unmap(info)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.pipe.set_state(gst().State.NULL)


def barcode(ms: int) -> np.ndarray:
    img = np.full((H, W, 3), 90, np.uint8)
    for b in range(BITS):
        if (ms >> b) & 1:
            img[:BLOCK, b * BLOCK:(b + 1) * BLOCK] = 255
        else:
            img[:BLOCK, b * BLOCK:(b + 1) * BLOCK] = 0
    return img


def read_barcode(img: np.ndarray) -> int:
    c = BLOCK // 2
    return sum(1 << b for b in range(BITS) if img[c - 4:c + 4, b * BLOCK + c - 4:b * BLOCK + c + 4].mean() > 128)


def now_ms() -> int:
    return int((time.time() - T0) * 1000)


def run_live(config: Path, seconds: float, during: Any = None) -> dict:
    """Run the config in a thread for ``seconds`` (``during(stop)`` runs alongside); its metrics summary."""
    stop = threading.Event()
    thread = threading.Thread(target=run_from_config, args=(config,), kwargs={"progress": False, "stop": stop})
    with contextlib.redirect_stdout(io.StringIO()):  # the run's own summary
        thread.start()
        extra = during(seconds) if during is not None else time.sleep(seconds)
        stop.set()
        thread.join()
    summary = json.loads((Path(yaml.safe_load(config.read_text())["pipeline"]["output"]["dir"]) / "metrics.json")
                         .read_text())
    summary["extra"] = extra
    return summary


def throughput(root: Path, seconds: float, browser: bool, embedder: str) -> None:
    scene = render_scene(root / "scene.mp4", root / "scene.txt", frames=60 * int(seconds + 30), width=W, height=H,
                         people=4, fps=30.0, seed=3)
    cams = [{"name": f"cam{i}", "kind": "test", "capture_fps": 30, "det_file": str(scene.gt)} for i in range(2)]
    web_port, rtsp_port = free_port(), free_port()

    def config(name: str, outputs: bool) -> Path:
        out: dict[str, Any] = {"dir": str(root / name), "video": False}
        if outputs:
            out |= {"rtsp": {"port": rtsp_port}, "web": {"port": web_port}}
        path = root / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"pipeline": {
            "mode": "live", "width": W, "height": H, "cameras": cams, "detector": {"kind": "motdet"},
            "embedder": {"path": embedder}, "tracklets": {"min_height": 20}, "output": out}}))
        return path

    def watch(secs: float) -> dict:
        base = f"http://127.0.0.1:{web_port}/"
        end = time.monotonic() + secs
        while time.monotonic() < end:  # the dashboard is up and both cameras deliver
            try:
                cams = json.loads(urllib.request.urlopen(base + "api/cameras", timeout=30).read())
                if len(cams) == 2 and all(c["processed"] for c in cams):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        readers = [RtspReader(f"rtsp://127.0.0.1:{rtsp_port}/streid/cam{i}", lambda img: None) for i in range(2)]
        driver, snapshots = None, 0
        if browser:
            from selenium import webdriver

            opts = webdriver.ChromeOptions()
            for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
                opts.add_argument(arg)
            opts.binary_location = shutil.which("chromium") or ""
            driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(shutil.which("chromedriver")))
            driver.get(base)
        t_start = time.monotonic()
        while time.monotonic() < end:
            if driver is None:  # what the page does
                try:
                    for i in range(2):
                        snapshots += len(urllib.request.urlopen(f"{base}api/cameras/cam{i}/snapshot.jpg").read()) > 0
                    urllib.request.urlopen(base + "api/cameras").read()
                except OSError:
                    pass
            time.sleep(0.5)
        span = time.monotonic() - t_start
        if driver is not None:
            driver.quit()
        for r in readers:
            r.close()
        return {"rtsp_frames_per_s": [round(r.frames / span, 1) for r in readers], "snapshots": snapshots,
                "viewer": "chromium" if browser else "http poller"}

    run_live(config("warmup", True), 5.0)  # imports and first-use set-up out of the timed runs
    off = run_live(config("off", False), seconds)
    on = run_live(config("on", True), seconds, watch)
    print(f"throughput, {seconds:.0f} s per run, 2 live test cameras 640x360@30, embedder {embedder or 'none'}:")
    print(f"  outputs off:                 {off['fps']:.1f} frames/s (dropped {_dropped(off)})")
    print(f"  RTSP + dashboard open:       {on['fps']:.1f} frames/s (dropped {_dropped(on)}); viewers {on['extra']}")
    print(f"  ratio on/off:                {on['fps'] / max(off['fps'], 1e-9):.3f}")
    print(f"  annotate {on['latency_ms'].get('annotate', {}).get('mean', 0):.2f} ms, "
          f"live hand-off {on['latency_ms'].get('live', {}).get('mean', 0):.3f} ms per frame (mean)")


def _dropped(summary: dict) -> int:
    return sum(c["dropped"] for c in summary["cameras"].values())


def latency(root: Path, seconds: float) -> None:
    camera = RtspRestream("127.0.0.1", 0, "cam")  # the barcode camera: frames stamped when captured
    stop = threading.Event()

    def capture() -> None:
        while not stop.is_set():
            camera.push("code", barcode(now_ms()), 25.0)
            time.sleep(0.04)

    threading.Thread(target=capture, daemon=True).start()
    time.sleep(0.5)
    det = root / "static.txt"
    det.write_text("".join(f"{f},1,300,150,60,150,1,1,1\n" for f in range(1, 25 * int(seconds + 60))))
    rtsp_port = free_port()
    path = root / "latency.yaml"
    path.write_text(yaml.safe_dump({"pipeline": {
        "mode": "live", "cameras": [{"name": "code", "kind": "rtsp", "uri": camera.url("code"), "latency_ms": 0,
                                     "det_file": str(det)}],
        "detector": {"kind": "motdet"}, "output": {"dir": str(root / "latency"), "video": False,
                                                   "rtsp": {"port": rtsp_port}}}}))
    lat: dict[str, list[int]] = {"restream": [], "camera": []}

    def measure(secs: float) -> None:
        time.sleep(3.0)  # connected and mounted
        a = RtspReader(f"rtsp://127.0.0.1:{rtsp_port}/streid/code",
                       lambda img: lat["restream"].append(now_ms() - read_barcode(img)))
        b = RtspReader(camera.url("code"), lambda img: lat["camera"].append(now_ms() - read_barcode(img)))
        time.sleep(max(secs - 3.0, 1.0))
        a.close()
        b.close()

    run_live(path, seconds, measure)
    stop.set()
    camera.close()
    print(f"latency, {seconds:.0f} s, one live RTSP camera 640x360@25 (capture time as a barcode in each frame):")
    for name, values in lat.items():
        v = np.asarray([x for x in values if 0 <= x < 60_000][5:])  # skip start-up frames, undecodable codes
        if v.size:
            print(f"  capture -> {name + ' stream':<16} median {np.median(v):6.0f} ms  p90 {np.percentile(v, 90):6.0f} "
                  f"ms  ({v.size} frames)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--browser", action="store_true", help="open the dashboard in headless Chromium (selenium)")
    ap.add_argument("--embedder", default="", help="re-id artifact for both runs ('default': the built-in one)")
    ap.add_argument("--skip", choices=["throughput", "latency"], default=None)
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="live_bench_") as tmp:
        if args.skip != "throughput":
            throughput(Path(tmp), args.seconds, args.browser, args.embedder)
        if args.skip != "latency":
            latency(Path(tmp), args.seconds)


if __name__ == "__main__":
    main()
