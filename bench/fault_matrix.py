"""Fault matrix (issue 15): bad inputs x commands, kill -9 at phases, live camera faults, a long live run.

Every trial runs the real command line (``python -m streid.cli ...``) in a subprocess with a time limit and sorts
what came back:

- inputs: **ok** (exit 0 where the input is supported), **clear** (exit 2, one line, no traceback), **bug**
  (exit 1: a one-line internal error), **traceback**, **hang** (time limit), **silent** (exit 0 where an error
  was due), **refused** (an error where the input is supported); plus **escapes** (a file written or deleted
  outside the sandbox, or code run from a model file).
- kill trials: ``streid reid`` killed with SIGKILL at a fraction of an uninterrupted run's time, then re-run to
  the end: **identical** / **different** (ids, tracks, events, scores) / **corrupt** (the re-run fails or the
  store fails ``PRAGMA integrity_check``); live runs killed: store intact and the video playable.
- ``--live-minutes N``: 4 cameras live for N minutes; RSS and open file descriptors sampled every 10 s.

    python bench/fault_matrix.py                      # inputs + kills + live faults (~10-20 min on 2 busy cores)
    python bench/fault_matrix.py --only inputs
    python bench/fault_matrix.py --only soak --live-minutes 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = [sys.executable, "-m", "streid.cli"]
EMBEDDER = REPO / "deploy/models/reid_small.onnx"


@dataclass
class Case:
    name: str
    args: list[str]
    expect: str  # "ok" or "error"
    timeout_s: float = 1500.0  # generous: on 2 shared cores a start-up alone can take minutes
    check: object = None  # callable(case_dir) -> str | None: an escape found
    live_signal_after_s: float = 0.0  # live runs: SIGTERM after this long (exit 130 = ok)


@dataclass
class Outcome:
    case: Case
    kind: str
    code: int | None
    line: str
    seconds: float
    escape: str | None = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------- inputs


def gst():
    from streid.media import gst as _gst

    return _gst()


def run_gst(desc: str, location: Path) -> None:
    Gst = gst()
    p = Gst.parse_launch(desc + " ! filesink name=out")
    p.get_by_name("out").set_property("location", str(location))
    p.set_state(Gst.State.PLAYING)
    p.get_bus().timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    p.set_state(Gst.State.NULL)


def images(folder: Path, sizes: list[tuple[int, int]], start: int = 1, ext: str = "png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    enc = "pngenc" if ext == "png" else "jpegenc"
    for i, (w, h) in enumerate(sizes):
        run_gst(f"videotestsrc num-buffers=1 pattern=ball ! video/x-raw,width={w},height={h} ! {enc}",
                folder / f"{start + i:06d}.{ext}")
    return folder


def png_header_only(path: Path, w: int, h: int) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def make_media(root: Path) -> dict[str, Path]:
    """Good and bad media, all made here (GStreamer, numpy, onnx): nothing is downloaded."""
    import numpy as np
    import onnx
    import torch

    from streid.pipeline.scene import render_scene

    m: dict[str, Path] = {}
    (root / "gt").mkdir(parents=True, exist_ok=True)
    good = render_scene(root / "good.mp4", root / "gt" / "cam1.txt", frames=40, seed=1)
    render_scene(root / "good2.mp4", root / "gt" / "cam2.txt", frames=40, seed=2)
    m["good"], m["good2"], m["gt"] = good.video, root / "good2.mp4", root / "gt"
    m["missing"] = root / "nope.mp4"
    (m.setdefault("empty", root / "empty.mp4")).write_bytes(b"")
    (m.setdefault("text", root / "text.mp4")).write_text("this is not a video\n" * 50)
    (m.setdefault("random", root / "random.mp4")).write_bytes(np.random.default_rng(0).bytes(200_000))
    run_gst("audiotestsrc num-buffers=50 ! wavenc", root / "audio.mp4")
    m["audio_only"] = root / "audio.mp4"
    data = good.video.read_bytes()
    (m.setdefault("truncated", root / "truncated.mp4")).write_bytes(data[: len(data) // 2])
    run_gst(f"filesrc location={good.video} ! qtdemux ! h264parse ! mp4mux faststart=true", root / "fast.mp4")
    fast = (root / "fast.mp4").read_bytes()
    (m.setdefault("truncated_faststart", root / "truncated_fs.mp4")).write_bytes(fast[: len(fast) // 2])
    m["tiny_1x1"] = images(root / "tiny1", [(1, 1)] * 8)
    m["tiny_33x17"] = images(root / "tiny33", [(33, 17)] * 8)
    m["size_change"] = images(root / "resize" / "img1", [(320, 180)] * 6 + [(160, 90)] * 6, ext="jpg")
    (root / "resize" / "seqinfo.ini").write_text("[Sequence]\nframeRate=25\nimExt=.jpg\n")
    m["mot_pattern"] = m["size_change"] / "%06d.jpg"
    gaps = images(root / "gaps", [(64, 48)] * 2)
    images(gaps, [(64, 48)], start=7)
    m["gappy_folder"] = gaps
    (m.setdefault("empty_folder", root / "emptydir")).mkdir(exist_ok=True)
    notimg = root / "notimages"
    notimg.mkdir(exist_ok=True)
    (notimg / "readme.txt").write_text("x")
    m["non_image_folder"] = notimg
    # model files
    (m.setdefault("onnx_random", root / "random.onnx")).write_bytes(np.random.default_rng(1).bytes(50_000))
    graph = onnx.load(str(EMBEDDER))
    bare = onnx.load(str(EMBEDDER))
    del bare.metadata_props[:]
    onnx.save(bare, str(root / "bare.onnx"))
    m["onnx_no_metadata"] = root / "bare.onnx"
    for p in graph.metadata_props:
        if p.key == "streid.embedding_dim":
            p.value = "24"
    onnx.save(graph, str(root / "liar.onnx"))
    m["onnx_lying_dims"] = root / "liar.onnx"
    marker = root / "PWNED"
    m["pwned_marker"] = marker

    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    torch.save({"format": "streid-checkpoint", "version": 1, "config": {}, "model": {}, "num_classes": 1,
                "x": Evil()}, root / "evil.pt")
    m["evil_pt"] = root / "evil.pt"
    # stores and queries
    corrupt = root / "store_corrupt"
    corrupt.mkdir(exist_ok=True)
    (corrupt / "identities.sqlite").write_bytes(np.random.default_rng(2).bytes(40_000))
    m["store_corrupt"] = corrupt
    zero = root / "store_zero"
    zero.mkdir(exist_ok=True)
    (zero / "identities.sqlite").write_bytes(b"")
    m["store_zero"] = zero
    from streid.pipeline.identity.store import SqliteStore

    ok_store = SqliteStore(root / "store_ok")
    ok_store.set_meta("embedder", str(EMBEDDER))
    ok_store.close()
    m["store_ok"] = root / "store_ok"
    m["huge_png"] = png_header_only(root / "huge.png", 60000, 60000)
    m["big_png"] = png_header_only(root / "big.png", 20000, 20000)
    return m


def sibling_check(root: Path) -> object:
    """A sandbox with a sibling folder that must survive, and nothing new beside the job folder."""
    sand = root / "sand" / "site"
    keep = sand / "other" / "keep.txt"
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_text("precious")
    before = {p for p in (root / "sand").rglob("*")}

    def check(case_dir: Path) -> str | None:
        if not keep.is_file() or keep.read_text() != "precious":
            return f"deleted {keep}"
        new = {p for p in (root / "sand").rglob("*")} - before
        outside = [p for p in new if not p.is_relative_to(sand / "job")]
        return f"wrote {sorted(map(str, outside))[:3]}" if outside else None

    return check


def input_cases(root: Path, m: dict[str, Path]) -> list[Case]:
    gt = str(m["gt"])

    def reid(name: str, video: Path | str, expect: str, cam: str = "cam1", extra: list[str] | None = None,
             out: Path | None = None, check: object = None) -> Case:
        out = out or root / "out" / name
        return Case(f"reid/{name}", ["reid", "--video", f"{cam}={video}", "--out", str(out), "--no-progress",
                                     *(extra if extra is not None else ["--gt-dets", gt])], expect, check=check)

    def write_run_config(name: str, pipeline: str, mode: str = "offline") -> Path:
        path = root / "configs" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        port = f", metrics_port: {BUSY_PORT}" if mode == "live" else ""
        path.write_text(f"pipeline:\n  mode: {mode}\n  output: {{dir: {root / 'out' / name}, video: true{port}}}\n"
                        f"  detector: {{kind: motdet}}\n{pipeline}")
        return path

    def run(name: str, pipeline: str, expect: str, mode: str = "offline", check: object = None,
            stop_after_s: float = 0.0) -> Case:
        return Case(f"run/{name}", ["run", "--no-progress", "--config", str(write_run_config(name, pipeline, mode))],
                    expect, check=check, live_signal_after_s=stop_after_s)

    det = m["gt"] / "cam1.txt"
    cams = lambda uri, name="cam1": f"  cameras: [{{name: {name}, uri: '{uri}', det_file: {det}}}]\n"  # noqa: E731
    escape = sibling_check(root)
    cases = [
        reid("good", m["good"], "ok"),
        *(reid(k, m[k], "error") for k in ("missing", "empty", "text", "random", "audio_only", "truncated",
                                            "truncated_faststart", "gappy_folder", "empty_folder",
                                            "non_image_folder")),
        *(reid(k, m[k], "ok") for k in ("tiny_1x1", "tiny_33x17", "size_change", "mot_pattern")),
        reid("name_dotdot", m["good"], "error", cam="../..", out=root / "sand" / "site" / "job", check=escape),
        reid("name_absolute", m["good"], "error", cam=str(root / "sand" / "victim"),
             out=root / "sand" / "site" / "job", check=escape),
        reid("embedder_random", m["good"], "error", extra=["--gt-dets", gt, "--embedder", str(m["onnx_random"])]),
        reid("embedder_no_metadata", m["good"], "error",
             extra=["--gt-dets", gt, "--embedder", str(m["onnx_no_metadata"])]),
        reid("embedder_lying_dims", m["good"], "error",
             extra=["--gt-dets", gt, "--embedder", str(m["onnx_lying_dims"])]),
        reid("embedder_evil_pt", m["good"], "error", extra=["--gt-dets", gt, "--embedder", str(m["evil_pt"])],
             check=lambda _d: "code ran from evil.pt" if m["pwned_marker"].exists() else None),
        reid("detector_random", m["good"], "error", extra=["--detector", str(m["onnx_random"])]),
        reid("detector_evil_pt", m["good"], "error", extra=["--detector", str(m["evil_pt"])],
             check=lambda _d: "code ran from evil.pt" if m["pwned_marker"].exists() else None),
        Case("search/store_corrupt", ["search", "--store", str(m["store_corrupt"]), "--query", "cam1:1"], "error"),
        Case("search/store_zero_bytes", ["search", "--store", str(m["store_zero"]), "--query", "cam1:1"], "error",
             check=lambda _d: None if m["store_zero"].joinpath("identities.sqlite").stat().st_size == 0
             else "search wrote into the store"),
        Case("search/no_store", ["search", "--store", str(root / "nostore"), "--query", "cam1:1"], "error"),
        Case("search/query_60000px", ["search", "--store", str(m["store_ok"]), "--query",
                                      str(m["huge_png"])], "error"),
        Case("search/query_20000px", ["search", "--store", str(m["store_ok"]), "--query",
                                      str(m["big_png"])], "error"),
        Case("search/query_missing", ["search", "--store", str(m["store_ok"]), "--query",
                                      str(root / "missing.jpg")], "error"),
        run("good", cams(m["good"]), "ok"),
        run("empty_cameras", "  cameras: []\n", "error"),
        run("all_missing", f"  cameras: [{{name: a, uri: {m['missing']}, det_file: {det}}}, "
                           f"{{name: b, uri: {root / 'nope2.mp4'}, det_file: {det}}}]\n", "error"),
        run("truncated", cams(m["truncated_faststart"]), "error"),
        run("size_change", cams(m["size_change"]), "ok"),
        run("tracker_param_typo", cams(m["good"]) + "  tracker: {params: {no_such_keyword: 1}}\n", "error"),
        run("width_100000", cams(m["good"]) + "  width: 100000\n  height: 360\n", "error"),
        run("pattern_injection", "  cameras: [{name: t, kind: test, det_file: " + str(det) + ", pattern: "
            f"'ball num-buffers=3 ! jpegenc ! multifilesink location={root}/inj_%d.jpg videotestsrc pattern=ball'}}]\n",
            "error", check=lambda _d: "pipeline text injected" if list(root.glob("inj_*")) else None),
        run("device_injection", "  cameras: [{name: u, kind: usb, device: '/dev/video0 ! fakesink', det_file: "
            f"{det}}}]\n", "error"),
        run("rtsp_bad_scheme", f"  cameras: [{{name: r, kind: rtsp, uri: 'file:///etc/passwd', det_file: {det}}}]\n",
            "error"),
        run("name_escape", f"  cameras: [{{name: ../escaped, uri: {m['good']}, det_file: {det}}}]\n", "error",
            check=lambda _d: "escaped" if (root / "out" / "escaped").exists() or (root / "escaped").exists()
            else None),
        run("metrics_port_in_use", "  cameras: [{name: t, kind: test, det_file: " + str(det) + "}]\n",
            "error", mode="live", stop_after_s=600.0),
    ]
    return cases


BUSY_PORT = 0


def classify(case: Case, code: int | None, err: str, seconds: float) -> Outcome:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    error_lines = [ln for ln in lines if ln.startswith(("error", "config error", "Error", "Usage", "Try "))
                   or "Invalid value" in ln]
    line = (error_lines or lines or [""])[-1][:160]
    if code is None:
        kind = "hang"
    elif "Traceback (most recent call last)" in err:
        kind = "traceback"
    elif code == 0 or (code == 130 and case.live_signal_after_s):
        kind = "ok" if case.expect == "ok" else "silent"
    elif code == 1:
        kind = "bug"
    elif code == 2:
        kind = "clear" if case.expect == "error" else "refused"
    else:
        kind = f"exit{code}"
    return Outcome(case, kind, code, line, seconds)


def run_case(case: Case, env: dict[str, str]) -> Outcome:
    t0 = time.monotonic()
    proc = subprocess.Popen([*PY, *case.args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=REPO)
    try:
        if case.live_signal_after_s:
            try:
                _, err = proc.communicate(timeout=case.live_signal_after_s)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=case.timeout_s)
        else:
            _, err = proc.communicate(timeout=case.timeout_s)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        code = None
    outcome = classify(case, code, err, time.monotonic() - t0)
    if case.check is not None:
        outcome.escape = case.check(Path())
    return outcome


# ---------------------------------------------------------------------------------------------------- kills


def reid_outputs(out: Path) -> dict:
    events = [{k: v for k, v in json.loads(line).items() if k != "time"}
              for line in (out / "events.jsonl").read_text().splitlines()]
    ids = json.loads((out / "work/identities.json").read_text())
    return {"final": ids["final"], "online": ids["online"], "events": events,
            "tracks": {p.name: p.read_text() for p in sorted((out / "tracks").glob("*.txt"))}}


def store_ok(out: Path) -> bool:
    path = out / "identities.sqlite"
    if not path.exists():
        return True
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def kill_trials(root: Path, m: dict[str, Path], env: dict[str, str], fractions: list[float]) -> list[dict]:
    args = lambda out: ["reid", "--video", f"cam1={m['good']}", "--video", f"cam2={m['good2']}",  # noqa: E731
                        "--gt-dets", str(m["gt"]), "--out", str(out), "--no-progress"]
    whole = root / "kill" / "whole"
    t0 = time.monotonic()
    subprocess.run([*PY, *args(whole)], env=env, cwd=REPO, capture_output=True, check=True, timeout=900)
    full_s = time.monotonic() - t0
    reference = reid_outputs(whole)
    trials = []
    for f in fractions:
        out = root / "kill" / f"at{int(f * 100)}"
        proc = subprocess.Popen([*PY, *args(out)], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(f * full_s)
        finished_first = proc.poll() is not None
        proc.kill()
        proc.wait()
        intact = store_ok(out)
        again = subprocess.run([*PY, *args(out)], env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
        if again.returncode != 0 or not intact or not store_ok(out):
            verdict = "corrupt"
        else:
            verdict = "identical" if reid_outputs(out) == reference else "different"
        trials.append({"kind": "reid", "at": f"{f:.0%} of {full_s:.0f}s", "verdict": verdict,
                       "finished_before_kill": finished_first, "rerun_exit": again.returncode,
                       "rerun_error": again.stderr.strip().splitlines()[-1:] if again.returncode else []})
    return trials


def live_config(root: Path, name: str, cameras: str, m: dict[str, Path], extra: str = "") -> Path:
    path = root / "configs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"pipeline:\n  mode: live\n  width: 320\n  height: 180\n  detector: {{kind: motdet}}\n"
                    f"  embedder: {{path: default}}\n  output: {{dir: {root / 'out' / name}, video: true}}\n"
                    f"  live: {{max_retries: 2, backoff_initial_s: 0.2, backoff_max_s: 1.0, connect_timeout_s: 3,"
                    f" stall_timeout_s: 3}}\n  cameras:\n{cameras}{extra}")
    return path


def live_kill_trials(root: Path, m: dict[str, Path], env: dict[str, str], seconds: list[float]) -> list[dict]:
    from streid.media import count_frames

    det = m["gt"] / "cam1.txt"
    trials = []
    for s in seconds:
        name = f"live_kill_{int(s)}"
        cfg = live_config(root, name, "".join(f"    - {{name: c{i}, kind: test, capture_fps: 15, det_file: {det}}}\n"
                                              for i in range(2)), m)
        proc = subprocess.Popen([*PY, "run", "--no-progress", "--config", str(cfg)], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(s)
        proc.kill()
        proc.wait()
        out = root / "out" / name
        videos = sorted(out.glob("c*-*.mp4"))
        playable = []
        for v in videos:
            try:
                playable.append(count_frames(v) > 0)
            except Exception:  # an unplayable file is the finding
                playable.append(False)
        verdict = "identical" if store_ok(out) and videos and all(playable) else "corrupt"
        trials.append({"kind": "live", "at": f"{s:.0f}s", "verdict": verdict, "videos": len(videos),
                       "playable": sum(playable)})
    return trials


# ---------------------------------------------------------------------------------------------------- live


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def live_faults(root: Path, m: dict[str, Path], env: dict[str, str], seconds: float) -> dict:
    """One live run: a good camera beside a missing file, a dead RTSP port, a size-changing sequence, a cut file."""
    det = m["gt"] / "cam1.txt"
    cams = (f"    - {{name: good, kind: test, capture_fps: 15, det_file: {det}}}\n"
            f"    - {{name: missing, uri: {m['missing']}, det_file: {det}}}\n"
            f"    - {{name: dead_rtsp, kind: rtsp, uri: 'rtsp://127.0.0.1:{free_port()}/x', det_file: {det}}}\n"
            f"    - {{name: resize, uri: '{m['size_change']}', det_file: {det}}}\n"
            f"    - {{name: cut, uri: '{m['truncated_faststart']}', det_file: {det}}}\n")
    cfg = live_config(root, "live_faults", cams, m)
    proc = subprocess.Popen([*PY, "run", "--no-progress", "--config", str(cfg)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(seconds)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=120)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        code = None
    out = root / "out" / "live_faults"
    events = read_events(out / "events.jsonl")
    errors: dict[str, int] = {}
    for e in events:
        if e["type"] == "camera_error":
            errors[e["camera"]] = errors.get(e["camera"], 0) + 1
    metrics = json.loads((out / "metrics.json").read_text()) if (out / "metrics.json").exists() else {}
    return {"alive_after_s": seconds if alive else None, "exit": code, "traceback": "Traceback" in err,
            "camera_errors": errors, "processed": {c: v.get("processed") for c, v in
                                                   metrics.get("cameras", {}).items()}}


def all_dead_live(root: Path, m: dict[str, Path], env: dict[str, str]) -> dict:
    det = m["gt"] / "cam1.txt"
    cams = "".join(f"    - {{name: d{i}, kind: rtsp, uri: 'rtsp://127.0.0.1:{free_port()}/x', det_file: {det}}}\n"
                   for i in range(2))
    cfg = live_config(root, "live_all_dead", cams, m)
    t0 = time.monotonic()
    try:
        done = subprocess.run([*PY, "run", "--no-progress", "--config", str(cfg)], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        return {"exit": done.returncode, "seconds": round(time.monotonic() - t0, 1),
                "last_line": done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else []}
    except subprocess.TimeoutExpired:
        return {"exit": None, "seconds": 300}


def proc_stats(pid: int) -> tuple[float, int]:
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    return rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def soak(root: Path, m: dict[str, Path], env: dict[str, str], minutes: float, every_s: float = 10.0) -> dict:
    """4 live cameras (test sources at 15 fps, MOT boxes, embedder, store, videos) for ``minutes``."""
    det = m["gt"] / "cam1.txt"
    cams = "".join(f"    - {{name: s{i}, kind: test, capture_fps: 15, det_file: {det}}}\n" for i in range(4))
    cfg = live_config(root, "soak", cams, m)
    proc = subprocess.Popen([*PY, "run", "--no-progress", "--config", str(cfg)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < minutes * 60 and proc.poll() is None:
            time.sleep(every_s)
            try:
                rss, fds = proc_stats(proc.pid)
            except FileNotFoundError:
                break
            samples.append((round(time.monotonic() - t0), round(rss, 1), fds))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=180)
    metrics = json.loads((root / "out" / "soak" / "metrics.json").read_text())
    return {"minutes": round((time.monotonic() - t0) / 60, 1), "exit": proc.returncode, "samples": samples,
            "processed": {c: v["processed"] for c, v in metrics["cameras"].items()},
            "dropped": {c: v["dropped"] for c, v in metrics["cameras"].items()}, "traceback": "Traceback" in err}


# ---------------------------------------------------------------------------------------------------- main


def main() -> None:
    global BUSY_PORT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("/tmp/streid_fault_matrix"))
    ap.add_argument("--only", default="inputs,kills,live", help="comma list of: inputs, kills, live, soak")
    ap.add_argument("--jobs", type=int, default=3, help="input cases run in parallel")
    ap.add_argument("--cases", default="", help="only input cases whose name holds one of these (comma list)")
    ap.add_argument("--reuse-media", action="store_true", help="keep the media made by an earlier run in --out")
    ap.add_argument("--kill-fractions", default="0.1,0.3,0.5,0.7,0.85,0.95")
    ap.add_argument("--live-kill-seconds", default="15,30")
    ap.add_argument("--live-fault-seconds", type=float, default=40.0)
    ap.add_argument("--live-minutes", type=float, default=0.0, help="also run the 4-camera soak this long")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    if args.live_minutes:
        parts.add("soak")
    root = args.out
    saved = root / "media" / "media.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.reuse_media and saved.is_file():  # the media of an earlier run in --out (making them takes a while)
        m = {k: Path(v) for k, v in json.loads(saved.read_text()).items()}
        shutil.rmtree(root / "out", ignore_errors=True)
        shutil.rmtree(root / "sand", ignore_errors=True)
        shutil.rmtree(root / "configs", ignore_errors=True)
        m["pwned_marker"].unlink(missing_ok=True)
    else:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        m = make_media(root / "media")
        saved.write_text(json.dumps({k: str(v) for k, v in m.items()}))
    report: dict = {}
    if "inputs" in parts:
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        BUSY_PORT = busy.getsockname()[1]
        cases = [c for c in input_cases(root, m) if not args.cases or any(k in c.name for k in args.cases.split(","))]
        full = root / "full_disk"
        full.mkdir(exist_ok=True)
        subprocess.run(["umount", str(full)], capture_output=True, check=False)  # one left by an earlier run
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(full)],
                                 capture_output=True).returncode == 0  # root only; skipped otherwise
        if mounted:
            cases.append(Case("reid/disk_full", ["reid", "--video", f"cam1={m['good']}", "--gt-dets", str(m["gt"]),
                                                 "--out", str(full / "job"), "--no-progress"], "error"))
        outcomes = []

        def one(case: Case) -> Outcome:
            o = run_case(case, env)
            print(f"{o.kind:9s} {o.code!s:>4} {o.seconds:6.1f}s  {case.name:28s} {o.line}"
                  + (f"  ESCAPE: {o.escape}" if o.escape else ""), flush=True)
            return o

        with ThreadPoolExecutor(args.jobs) as pool:  # independent cases: each has its own folder
            outcomes = list(pool.map(one, cases))
        busy.close()
        if mounted:
            subprocess.run(["umount", str(full)], check=False)
        totals: dict[str, int] = {}
        for o in outcomes:
            totals[o.kind] = totals.get(o.kind, 0) + 1
        escapes = sum(1 for o in outcomes if o.escape)
        report["inputs"] = {"tried": len(outcomes), **totals, "escapes": escapes}
        print(f"\ninputs tried {len(outcomes)} -> " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
              + f"; escapes {escapes}", flush=True)
    if "kills" in parts:
        trials = kill_trials(root, m, env, [float(x) for x in args.kill_fractions.split(",")])
        trials += live_kill_trials(root, m, env, [float(x) for x in args.live_kill_seconds.split(",")])
        for t in trials:
            print(json.dumps(t), flush=True)
        verdicts = {v: sum(1 for t in trials if t["verdict"] == v) for v in ("identical", "different", "corrupt")}
        report["kills"] = {"trials": len(trials), **verdicts}
        print(f"\nkill trials {len(trials)} -> " + ", ".join(f"{k} {v}" for k, v in verdicts.items()), flush=True)
    if "live" in parts:
        report["live_faults"] = live_faults(root, m, env, args.live_fault_seconds)
        report["live_all_dead"] = all_dead_live(root, m, env)
        print(json.dumps({k: report[k] for k in ("live_faults", "live_all_dead")}, indent=1), flush=True)
    if "soak" in parts:
        s = soak(root, m, env, args.live_minutes or 2.0)
        report["soak"] = s
        rss = [x[1] for x in s["samples"]]
        fds = [x[2] for x in s["samples"]]
        if rss:
            print(f"\nsoak {s['minutes']} min, 4 cameras: RSS first {rss[0]} MiB, last {rss[-1]} MiB, max {max(rss)}"
                  f" MiB; fds first {fds[0]}, last {fds[-1]}, max {max(fds)}; exit {s['exit']}; processed "
                  f"{s['processed']}; dropped {s['dropped']}", flush=True)
    (root / "report.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"\nreport: {root / 'report.json'}")


if __name__ == "__main__":
    main()
