"""Live annotated video survives kill -9 (fragmented MP4), a restart never overwrites it, and it rotates."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from streid.media import count_frames
from streid.pipeline.annotate import AnnotatedVideo
from streid.pipeline.scene import SceneFiles
from streid.records import Detections


def start_live(cfg: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "streid.cli", "run", "--config", str(cfg), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_video(out: Path, n_files: int, min_bytes: int, timeout_s: float = 240) -> list[Path]:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        files = sorted(out.glob("cam-*.mp4"))
        if len(files) >= n_files and files[-1].stat().st_size >= min_bytes:
            return files
        time.sleep(0.2)
    raise AssertionError(f"no live video in {out}: {list(out.iterdir()) if out.exists() else None}")


def test_a_killed_live_run_leaves_a_playable_video_and_a_restart_keeps_it(tmp_path: Path,
                                                                          scenes: dict[str, SceneFiles]) -> None:
    out = tmp_path / "live"
    cfg = tmp_path / "live.yaml"
    cfg.write_text("pipeline:\n  mode: live\n  width: 160\n  height: 96\n  detector: {kind: motdet}\n"
                   f"  cameras: [{{name: cam, kind: test, capture_fps: 30, det_file: {scenes['cam0'].gt}}}]\n"
                   f"  output: {{dir: {out}, video: true}}\n")
    proc = start_live(cfg)
    try:
        first = wait_for_video(out, 1, 20_000)[0]
        time.sleep(1.5)  # a few fragments
    finally:
        proc.kill()  # SIGKILL: no EOS, no moov at the end
        proc.wait()
    killed_frames = count_frames(first)
    assert killed_frames >= 30
    time.sleep(1.1)  # the next file's name has another second in it
    proc = start_live(cfg)  # same folder: the lock died with the killed process
    try:
        files = wait_for_video(out, 2, 10_000)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert files[0] == first and count_frames(first) == killed_frames  # not overwritten
    assert count_frames(files[1]) > 0 and not list(out.glob("*.part"))


def test_live_video_rotates_into_segments(tmp_path: Path) -> None:
    seq = iter(tmp_path / f"seg{i}.mp4" for i in range(10))
    video = AnnotatedVideo(lambda: next(seq), 10.0, 0, fragment_ms=500, segment_frames=4)
    empty = Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    for i in range(10):
        video.write(np.full((32, 48, 3), i * 20, np.uint8), empty)
    last = video.close()
    assert [count_frames(p) for p in [*video.finished, last]] == [4, 4, 2]
