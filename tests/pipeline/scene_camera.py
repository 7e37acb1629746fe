"""A loopback RTSP camera showing a still scene with a running frame counter, paced at 25 fps.

``python scene_camera.py PORT NAME=IMAGE.png ...`` serves each image at rtsp://127.0.0.1:PORT/cam/NAME (served
by the restream class the pipeline itself uses). The people stand still, so boxes read from a MOT file by frame
index stay right whatever frames a busy machine drops; the counter makes every frame different.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import cv2

from streid.pipeline.live.rtsp import RtspRestream

FPS = 25.0


def _exit_with_parent() -> None:
    sys.stdin.read()  # EOF: the test process is gone (killed or done), so is this camera
    os._exit(0)


def main(port: int, items: list[str]) -> None:
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    images = {name: cv2.imread(path) for name, path in (item.split("=", 1) for item in items)}
    server = RtspRestream("127.0.0.1", port, "cam", bitrate_kbps=1000)
    print("ready", flush=True)
    frame, start = 0, time.monotonic()
    while True:
        for name, image in images.items():
            canvas = image.copy()
            cv2.putText(canvas, f"{frame:06d}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
            server.push(name, canvas, FPS)
        frame += 1
        time.sleep(max(0.0, start + frame / FPS - time.monotonic()))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
