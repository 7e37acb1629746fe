"""Phase 1 of ``streid reid`` as Ray tasks (``--executor ray``): one task per camera, anywhere on a Ray cluster.

A task runs the same :func:`job._run_camera` as the in-process executor, into a private folder and store, and
returns what it produced: the camera's work files (events, local tracks, marker) and its stored tracklets with
their crops. The driver writes them into the job's folder and store in camera order, so the store's rows, the
files and everything after phase 1 are those of an in-process run. Resume is unchanged: a camera counts as done
once the driver wrote its marker, last. Videos and model files must be readable at the same paths on the
workers (shared storage), as they would be for any cluster job.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any


def camera_task(job: Any, cam: str, detector: Any, embedder: Any) -> dict[str, Any]:
    """Run one camera into a temp folder; returns its files (relative path -> bytes) and store rows."""
    from streid.pipeline.identity.job import JobPaths, _build_detector, _load_embedder, _run_camera
    from streid.pipeline.identity.store import SqliteStore

    tmp = Path(tempfile.mkdtemp(prefix=f"streid-ray-{cam}-"))
    try:
        local = replace(job, out=tmp)
        paths = JobPaths(tmp)
        store = SqliteStore(tmp)
        detector = detector or _build_detector(local, [cam], paths)
        embedder = embedder or _load_embedder(local)
        if not _run_camera(local, cam, paths, store, detector, embedder, threading.Event(), False):
            raise RuntimeError(f"camera {cam}: interrupted on the worker")
        rows = [(t.obs(), store.crops(t.id)) for t in store.tracklets()]
        store.close()
        root = paths.cam(cam)
        files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        return {"files": files, "rows": rows}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_cameras_on_ray(job: Any, todo: list[str], paths: Any, store: Any, detector: Any, embedder: Any,
                       stop: threading.Event, address: str | None,
                       on_camera_done: Callable[[str], None] | None = None) -> list[str]:
    """Submit every camera, then write each result in camera order; returns the cameras finished."""
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise ValueError(f"--executor ray needs the ray package ({exc})") from None
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    task = ray.remote(num_cpus=1)(camera_task)
    futures = {cam: task.remote(job, cam, detector, embedder) for cam in todo}
    done: list[str] = []
    try:
        for cam in todo:
            ready: list[Any] = []
            while not ready:
                if stop.is_set():
                    return done
                ready, _ = ray.wait([futures[cam]], timeout=0.5)
            _write_camera(cam, ray.get(futures[cam]), paths, store)
            done.append(cam)
            if on_camera_done is not None:
                on_camera_done(cam)
    finally:
        for cam in todo:
            if cam not in done:
                ray.cancel(futures[cam], force=True)
    return done


def _write_camera(cam: str, result: dict[str, Any], paths: Any, store: Any) -> None:
    """The worker's output into the job's folder and store; the marker (done.json) goes last."""
    root = paths.cam(cam)
    shutil.rmtree(root, ignore_errors=True)
    store.forget_camera(cam)
    for obs, crops in result["rows"]:
        store.put_tracklets([obs], [crops[0]] if crops else None)
        for crop in crops[1:]:
            store.put_tracklets([obs], [crop])
    marker = "done.json"
    for rel, data in sorted(result["files"].items(), key=lambda kv: kv[0] == marker):
        dest = root / rel
        if dest.resolve().parent != root.resolve() and root.resolve() not in dest.resolve().parents:
            raise ValueError(f"camera {cam}: worker returned a path outside its folder: {rel}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
