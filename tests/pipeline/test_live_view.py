"""A live run with two RTSP cameras, the annotated restream and the dashboard, all on loopback.

The cameras (``scene_camera.py``, a subprocess) show a still rendered scene with a frame counter at 25 fps; boxes
come from its ground truth, identities from the built-in re-id model. One run serves every test of this module.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from streid.media import gst
from tests.pipeline.test_rtsp import free_port
from tests.web_client import headless_chromium, http_get

CAMERA = Path(__file__).with_name("scene_camera.py")
TOKEN = "s3cret"
MOT_FRAMES = 25 * 600  # boxes for 10 minutes of camera
START_S = 300  # longest wait for the run to start or stop (seconds on idle CPUs; minutes on a crowded machine)


class LiveRun:
    def __init__(self, out: Path, web: str, rtsp: str, scenes: dict[str, StillScene]) -> None:
        self.out, self.web, self.rtsp, self.scenes = out, web, rtsp, scenes
        self.code: int | None = None
        self.error: BaseException | None = None

    def get(self, path: str, token: str | None = TOKEN) -> tuple[int, bytes]:
        return http_get(self.web + path, token)

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, (path, status, body[:200])
        return json.loads(body)


def _wait(what: str, fn: Any, timeout_s: float) -> Any:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@dataclass
class StillScene:
    image: Path
    gt: Path  # MOT rows for frames 1..MOT_FRAMES (the people do not move)
    boxes: dict[int, tuple[int, int, int, int]]  # person -> x, y, w, h


def still_scene(root: Path, name: str, seed: int) -> StillScene:
    """A 320x180 picture of two people (two colours each) on a textured background, boxes for every frame."""
    rng = np.random.default_rng(seed)
    image = rng.integers(60, 110, (23, 40, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)[:180, :320].copy()
    boxes = {1: (40 + 20 * seed % 60, 40, 36, 96), 2: (200, 60, 30, 80)}
    for (x, y, w, h), colours in zip(boxes.values(), rng.integers(0, 256, (2, 2, 3)), strict=True):
        image[y:y + h // 2, x:x + w] = colours[0]
        image[y + h // 2:y + h, x:x + w] = colours[1]
    path = root / f"{name}.png"
    cv2.imwrite(str(path), image)
    gt = root / f"{name}.txt"
    gt.write_text("".join(f"{f},{p},{x},{y},{w},{h},1,1,1\n" for f in range(1, MOT_FRAMES + 1)
                          for p, (x, y, w, h) in boxes.items()))
    return StillScene(path, gt, boxes)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    from streid.pipeline.cli import run_from_config

    root = tmp_path_factory.mktemp("live_view")
    scenes = {f"cam{i}": still_scene(root, f"cam{i}", seed=10 + i) for i in range(2)}
    cam_port, rtsp_port, web_port = free_port(), free_port(), free_port()
    server = subprocess.Popen([sys.executable, str(CAMERA), str(cam_port),
                               *[f"{n}={s.image}" for n, s in scenes.items()]], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    out = root / "run"
    config = root / "live.yaml"
    config.write_text(yaml.safe_dump({"pipeline": {
        "mode": "live",
        "cameras": [{"name": n, "kind": "rtsp", "uri": f"rtsp://127.0.0.1:{cam_port}/cam/{n}", "latency_ms": 0,
                     "det_file": str(s.gt)} for n, s in scenes.items()],
        "detector": {"kind": "motdet"},
        "embedder": {"path": "default", "max_wait_ms": 20},
        # people stand shoulder to shoulder in these pictures: an aspect-kept crop would hold two of them
        "tracklets": {"min_height": 20, "update_every": 10, "lost_frames": 5, "crop_mode": "stretch"},
        "output": {"dir": str(out), "video": False, "rtsp": {"port": rtsp_port},
                   "web": {"port": web_port, "token": TOKEN}},
    }}))
    stop = threading.Event()
    run = LiveRun(out, f"http://127.0.0.1:{web_port}/", f"rtsp://127.0.0.1:{rtsp_port}/streid", scenes)

    def body() -> None:
        try:
            run.code = run_from_config(config, progress=False, stop=stop)
        except BaseException as exc:  # reported by the fixture's teardown
            run.error = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    try:
        _wait("the dashboard", lambda: _answers(run) or _died(thread, run), START_S)
        _wait("both cameras live", lambda: _cameras_live(run), START_S)
        yield run
    finally:
        stop.set()
        thread.join(timeout=START_S)
        server.kill()
        server.wait()
    assert run.error is None and run.code == 130 and not thread.is_alive()  # stopped on request, like Ctrl-C


def _died(thread: threading.Thread, run: LiveRun) -> bool:
    if not thread.is_alive():
        raise AssertionError(f"the run ended early: code {run.code}, error {run.error!r}")
    return False


def _cameras_live(run: LiveRun) -> bool:
    try:
        cams = run.json("api/cameras")
    except OSError:
        return False
    return len(cams) == 2 and all(c["processed"] > 0 for c in cams)


def _answers(run: LiveRun) -> bool:
    try:
        return run.get("api/info")[0] == 200
    except OSError:
        return False


def test_token_is_required_and_paths_cannot_escape(live: LiveRun) -> None:
    assert live.get("api/cameras", token=None)[0] == 401
    assert live.get("api/cameras", token="wrong")[0] == 401
    req = urllib.request.Request(live.web + "api/cameras", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200 and [c["name"] for c in json.loads(r.read())] == ["cam0", "cam1"]
    for path in ("static/..%2f..%2fconfig.py", "static/%2e%2e%2fapp.py", "report/..%2flive.yaml",
                 "report/report_assets/..%2f..%2flive.yaml", "report/identities.sqlite", "static/data.py",
                 "api/tracklets/..%2f1/crop.jpg", "api/cameras/..%2f..%2fetc/snapshot.jpg"):
        assert live.get(path)[0] == 404, path
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", int(live.web.rsplit(":", 1)[1].strip("/")), timeout=60)
    conn.request("GET", f"/static/../../live.yaml?token={TOKEN}")  # not normalised by the client
    assert conn.getresponse().status == 404
    conn.close()


def test_upload_size_is_limited(live: LiveRun) -> None:
    big = b"\xff\xd8\xff" + bytes(5 * 1024 * 1024)
    boundary = "x" * 16
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + big + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(live.web + f"api/search?token={TOKEN}", data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=60)
    assert err.value.code == 413


def test_rtsp_restream_decodes_annotated_frames_while_the_run_goes_on(live: LiveRun) -> None:
    Gst = gst()
    pipe = Gst.parse_launch(f"rtspsrc location={live.rtsp}/cam0 latency=0 protocols=tcp ! decodebin ! "
                            "videoconvert ! video/x-raw,format=BGR ! appsink name=sink sync=false")
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    shapes = []
    try:
        end = time.monotonic() + 20
        while len(shapes) < 10 and time.monotonic() < end:
            sample = sink.emit("try-pull-sample", Gst.SECOND)
            if sample is not None:
                caps = sample.get_caps().get_structure(0)
                shapes.append((caps.get_value("width"), caps.get_value("height")))
    finally:
        pipe.set_state(Gst.State.NULL)
    assert shapes == [(320, 180)] * 10
    cams = live.json("api/cameras")
    assert cams[0]["rtsp"]["url"].endswith("/streid/cam0") and cams[0]["rtsp"]["pushed"] >= 10
    assert all(c["state"] in ("live", "stalled") and c["processed"] > 0 for c in cams)  # stalled: a busy CPU


def _gt_identity(live: LiveRun, camera: str, person: int) -> int | None:
    """The global id the run gave ``person`` of ``camera`` (the tracklet events whose boxes are that person's)."""
    x, y, w, h = live.scenes[camera].boxes[person]
    votes: Counter[int] = Counter()
    for line in (live.out / "events.jsonl").read_text().splitlines():
        e = json.loads(line)
        if e.get("camera") == camera and e.get("global_id") is not None:
            votes[e["global_id"]] += sum(np.abs(np.asarray(b) - [x, y, x + w, y + h]).max() < 1 for b in e["boxes"])
    best = votes.most_common(1)
    return best[0][0] if best and best[0][1] else None


def test_dashboard_in_headless_chromium(live: LiveRun, tmp_path: Path, repo: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # the query: person 1 of cam0 cut out of the camera's picture, as a user would upload a photo
    x, y, w, h = live.scenes["cam0"].boxes[1]
    query = tmp_path / "query.png"
    cv2.imwrite(str(query), cv2.imread(str(live.scenes["cam0"].image))[y:y + h, x:x + w])

    driver = headless_chromium(tmp_path / "profile")
    try:
        driver.get(f"{live.web}?token={TOKEN}")
        wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        preview = wait.until(lambda d: d.find_element(By.ID, "preview-cam0"))
        # the next snapshot the page loads, as the browser decoded it (grabbed in its load handler)
        grab = ("const img = arguments[0], done = arguments[arguments.length - 1];"
                "img.addEventListener('load', () => { const c = document.createElement('canvas');"
                "c.width = img.naturalWidth; c.height = img.naturalHeight; c.getContext('2d').drawImage(img, 0, 0);"
                "done([img.naturalWidth, c.toDataURL('image/png')]); }, {once: true});")
        driver.set_script_timeout(60)
        width, first = driver.execute_async_script(grab, preview)
        assert width == 320
        assert driver.execute_async_script(grab, preview)[1] != first  # refreshed with a newer frame (counter)
        loaded_crops = ("return [...document.querySelectorAll('.card img.crop')]"
                        ".filter(i => i.complete && i.naturalWidth > 0).length")
        wait.until(lambda d: d.execute_script(loaded_crops) > 0)  # an identity card with its crops
        expected = _wait("a global id for cam0's person 1", lambda: _gt_identity(live, "cam0", 1), 30)
        wait.until(lambda d: d.execute_script(f"return !!document.querySelector('.card[data-gid=\"{expected}\"]')"))
        driver.find_element(By.ID, "search-file").send_keys(str(query))
        driver.find_element(By.ID, "search-go").click()
        ranked = wait.until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('#search-results .hit')].map(h => h.dataset.gid)"))
        assert ranked[0] == str(expected), ranked
        driver.find_element(By.CSS_SELECTOR, "header").click()
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(tmp_path / "dashboard.png"))
    finally:
        driver.quit()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
