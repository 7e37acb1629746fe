"""``streid reid``: the offline re-id job over recorded videos of several cameras, resumable.

Phases, each closed by a marker so that a re-run after SIGINT/SIGTERM or a kill continues where it stopped:

1. **Cameras**, one at a time in the order given: every frame decoded, detected, tracked, cut into tracklets and
   embedded by the pipeline runner (offline mode). Tracklets and crops go to the store (``identities.sqlite``),
   tracklet events to ``work/CAM/events.jsonl``, local tracks to ``work/CAM/CAM.txt``. Marker:
   ``work/CAM/done.json``. **The unit of resume is one camera**: a finished camera is never redone; a camera
   interrupted half-way loses its partial rows and starts again from its first frame.
2. **Identities**: the cameras' tracklet events are replayed through :class:`IdentityStage` in the order a
   lockstep multi-camera run decides them (frame index, then camera), so online ids are what ``streid run`` over
   the same files would give; then offline clustering (:func:`relabel_store`) revises them into the final ids.
   Seconds; redone from scratch whenever a camera was (re)done or the ``identity:`` settings changed, so an
   interrupted job ends with exactly the ids of an uninterrupted one. Writes ``events.jsonl``,
   ``tracks/CAM.txt`` (final global ids, MOT format), ``work/online/CAM.txt``; marker ``work/identities.json``.
3. **Videos**: ``CAM.mp4`` drawn from the stored local tracks with the final global ids (a second decode).
   Marker: the MP4 itself (written as ``.part``, renamed when complete).
4. ``eval.json`` (with ground truth) and ``report.html`` are rewritten on every run.

Cameras are assumed to start at the same instant (site time = video time).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streid.errors import InputError
from streid.lock import output_lock
from streid.names import check_camera_name, remove_inside
from streid.pipeline.config import PipelineSection
from streid.pipeline.identity.calibration import Thresholds
from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.imageseq import is_image_sequence

if TYPE_CHECKING:
    from streid.pipeline.motgt import GroundTruth

log = logging.getLogger(__name__)

TRACKLET_EVENTS = ("start", "update", "end")
Key = tuple[str, int]


@dataclass
class ReidJob:
    """What to run: videos per camera, settings shared by every camera, where boxes and ground truth come from."""

    videos: dict[str, Path]
    out: Path
    pipeline: PipelineSection  # detector/tracker/tracklets/embedder settings; cameras and output are set per camera
    identity: IdentityConfig
    det_files: dict[str, Path] | None = None  # MOT boxes per camera (e.g. ground truth) instead of a detector
    gt: dict[str, Path] | None = None  # global-id ground truth per camera -> eval.json
    gt_dialect: str = "auto"  # MOTChallenge dialect of ``gt`` (streid.pipeline.motgt)


@dataclass
class ReidResult:
    interrupted: bool
    processed: list[str] = field(default_factory=list)  # cameras (re)done by this run
    online: dict[Key, int] = field(default_factory=dict)
    final: dict[Key, int] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None
    report: Path | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)  # gate/offline threshold used, sources, site refits


def find_mot_files(root: Path, cameras: list[str], what: str) -> dict[str, Path]:
    """Per camera ``ROOT/CAM.txt``, ``ROOT/CAM/det.txt``, ``ROOT/CAM/gt.txt`` or MOTChallenge ``ROOT/CAM/{det,gt}/``."""
    out = {}
    for cam in cameras:
        tried = [root / f"{cam}.txt", root / cam / "det.txt", root / cam / "gt.txt", root / cam / "det" / "det.txt",
                 root / cam / "gt" / "gt.txt"]
        hit = next((p for p in tried if p.is_file()), None)
        if hit is None:
            raise FileNotFoundError(f"{what}: no MOT file for camera '{cam}' (looked for {tried[0]}, {tried[1]}, ...)")
        out[cam] = hit
    return out


def site_from_synth(path: Path, min_share: float = 0.5) -> dict[str, Any]:
    """An ``identity.site`` mapping from a synthetic world's ``site.json``: its cameras; between cameras next to each
    other on the walking route, a minimum transit of ``min_share`` of the walk (people never go faster) and the side
    of each frame the route leaves by (``from_side`` / ``to_side``, when the world gives them); and, when the world
    says nobody walks back into a camera, its longest pass as ``max_pass_s``.

    A file that is not such a ``site.json`` (bad JSON, a missing field, a value that is not a number of seconds)
    raises :class:`ConfigError` naming the file and the field."""
    from streid.config import ConfigError

    def seconds(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < float("inf"):
            raise ConfigError(path, where, f"expected a number of seconds >= 0, got {value!r}")
        return float(value)

    where = "cameras"
    try:
        data = json.loads(Path(path).read_text())
        site: dict[str, Any] = {"cameras": [c["name"] for c in data["cameras"]], "transit": []}
        for i, link in enumerate(data.get("links", [])):
            where = f"links[{i}]"
            window = {"a": link["from"], "b": link["to"],
                      "min_s": round(min_share * seconds(link["transit_s"], f"{where}.transit_s"), 3)}
            for key, name in (("from_side", "a_side"), ("to_side", "b_side")):
                if link.get(key) is not None:
                    if link[key] not in ("left", "right"):
                        raise ConfigError(path, f"{where}.{key}", f"expected left or right, got {link[key]!r}")
                    window[name] = link[key]
            site["transit"].append(window)
        where = "passes"
        passes = data.get("passes") or {}
        if passes.get("once") and passes.get("max_s"):
            site["max_pass_s"] = seconds(passes["max_s"], "passes.max_s")
    except ConfigError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # ValueError covers bad JSON
        raise ConfigError(path, where, f"not a synthetic world's site.json ({type(exc).__name__}: {exc})") from None
    return site


def _write_json(path: Path, data: Any) -> None:
    """Atomic: a marker exists whole or not at all."""
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(part, path)


def _key_text(key: Key) -> str:
    return f"{key[0]}:{key[1]}"


def _parse_ids(ids: dict[str, int]) -> dict[Key, int]:
    return {(k.rpartition(":")[0], int(k.rpartition(":")[2])): int(g) for k, g in ids.items()}


class JobPaths:
    def __init__(self, out: Path) -> None:
        self.out, self.work = out, out / "work"

    def cam(self, cam: str) -> Path:
        return self.work / check_camera_name(cam)

    def done(self, cam: str) -> Path:
        return self.work / cam / "done.json"

    @property
    def identities(self) -> Path:
        return self.work / "identities.json"

    def tracks(self, cam: str, online: bool = False) -> Path:
        return (self.work / "online" if online else self.out / "tracks") / f"{cam}.txt"

    def video(self, cam: str) -> Path:
        return self.out / f"{cam}.mp4"


def _fingerprint(job: ReidJob) -> dict[str, Any]:
    """Everything phase 1 depends on; a re-run with other inputs must not mix its results into this folder."""
    p = job.pipeline
    return {
        "videos": {c: str(v.resolve()) for c, v in job.videos.items()},
        "content": {c: content_stamp(v) for c, v in job.videos.items()},  # a replaced file is another job
        "det_files": {c: str(v.resolve()) for c, v in job.det_files.items()} if job.det_files else None,
        "detector": None if job.det_files else p.detector.model_dump(mode="json"),
        "embedder": p.embedder.path,
        "models": _model_stamps(job),  # a model replaced under the same path (retrained, recalibrated) too
        "settings": {k: getattr(p, k).model_dump(mode="json") for k in ("tracker", "tracklets")}
        | {"width": p.width, "height": p.height, "max_frames": p.max_frames},
    }


def _model_stamps(job: ReidJob) -> dict[str, Any]:
    """content_stamp of the detector and re-id model files the job runs (names and defaults resolved)."""
    from streid.defaults import default_detector, resolve_detector, resolve_embedder

    p = job.pipeline
    files: dict[str, str] = {}
    if not job.det_files and p.detector.kind == "yolo":
        files["detector"] = resolve_detector(p.detector.weights) or str(default_detector())
    if p.embedder.path:
        files["embedder"] = resolve_embedder(p.embedder.path)
    return {k: content_stamp(Path(v)) for k, v in files.items() if Path(v).is_file()}


def content_stamp(path: Path, head_bytes: int = 1 << 20) -> dict[str, Any]:
    """Size, mtime and a hash of the first MiB of a video (or of an image folder's listing)."""
    path = Path(path)
    if path.is_dir() or not path.exists():
        folder = path if path.is_dir() else path.parent
        listing = sorted((p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        return {"files": len(listing), "sha256": hashlib.sha256(json.dumps(listing).encode()).hexdigest()}
    st = path.stat()
    with path.open("rb") as fh:
        head = hashlib.sha256(fh.read(head_bytes)).hexdigest()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_sha256": head}


def _check_folder(job: ReidJob, paths: JobPaths, overwrite: bool) -> None:
    stamp = _fingerprint(job)
    marker = paths.work / "job.json"
    if marker.is_file():
        previous = json.loads(marker.read_text())
        if previous != stamp:
            if not overwrite:
                changed = sorted(k for k in stamp if stamp[k] != previous.get(k))
                raise ValueError(f"{job.out} holds a job with other {', '.join(changed)}; "
                                 "use another --out, or --overwrite to start it again")
            clear_outputs(paths, list(job.videos))
    paths.work.mkdir(parents=True, exist_ok=True)
    _write_json(marker, stamp)


def clear_outputs(paths: JobPaths, cameras: list[str]) -> None:
    """Remove what a job writes (and nothing else) from the output folder."""
    from streid.pipeline.identity.store import STORE_FILE

    names = [STORE_FILE, STORE_FILE + "-wal", STORE_FILE + "-shm", "events.jsonl", "eval.json", "report.html",
             "work", "tracks", "report_assets"]
    for name in names + [f"{check_camera_name(c)}.mp4" for c in cameras] + [f"{c}.mp4.part" for c in cameras]:
        remove_inside(paths.out, paths.out / name)


def _camera_section(job: ReidJob, cams: list[str], out_dir: Path) -> PipelineSection:
    data = job.pipeline.model_dump(mode="json")
    data["mode"] = "offline"
    data["cameras"] = [{"name": c, "kind": "file", "uri": str(job.videos[c]),
                        "det_file": str(job.det_files[c]) if job.det_files else ""} for c in cams]
    if job.det_files:
        data["detector"] = {**data["detector"], "kind": "motdet"}
    data["output"] = {**data["output"], "dir": str(out_dir), "events": True, "embeddings": "inline", "video": False,
                      "mot": True, "metrics_port": 0}
    return PipelineSection.model_validate(data)


def run_reid_job(job: ReidJob, *, stop: threading.Event | None = None, detector: Any = None, embedder: Any = None,
                 progress: bool = False, overwrite: bool = False,
                 on_camera_done: Callable[[str], None] | None = None, videos: bool = True,
                 executor: str = "inprocess", ray_address: str | None = None) -> ReidResult:
    """Run (or resume) the job; ``detector``/``embedder`` objects replace the configured ones (tests, benches).

    ``videos=False`` skips phase 3 and the report (calibration and benchmarks need ids and scores only).
    ``executor="ray"`` runs phase 1 as one Ray task per camera (:mod:`ray_exec`), same results.
    """
    if executor not in ("inprocess", "ray"):
        raise ValueError(f"executor {executor!r}: use inprocess or ray")
    for cam in job.videos:
        check_camera_name(cam)  # before anything is written or deleted
    missing = [f"{c}={v}" for c, v in job.videos.items() if not (Path(v).is_file() or is_image_sequence(str(v)))]
    if missing:
        raise FileNotFoundError(f"videos not found: {', '.join(missing)}")
    with output_lock(job.out, job.pipeline.output.private):  # two jobs in one folder would wipe each other's rows
        return _run_locked(job, stop=stop, detector=detector, embedder=embedder, progress=progress,
                           overwrite=overwrite, on_camera_done=on_camera_done, videos=videos, executor=executor,
                           ray_address=ray_address)


def _run_locked(job: ReidJob, *, stop: threading.Event | None, detector: Any, embedder: Any, progress: bool,
                overwrite: bool, on_camera_done: Callable[[str], None] | None, videos: bool, executor: str,
                ray_address: str | None) -> ReidResult:
    from streid.pipeline.identity.build import store_from_config
    from streid.pipeline.runner import stop_on_signals

    stop = stop or threading.Event()
    paths = JobPaths(Path(job.out))
    _check_folder(job, paths, overwrite)
    result = ReidResult(interrupted=False)
    store = store_from_config(job.identity, paths.out, job.pipeline.embedder.path or None)
    try:
        with stop_on_signals(stop):
            todo = [c for c in job.videos if not paths.done(c).is_file()]
            if todo:
                paths.identities.unlink(missing_ok=True)
            if todo and executor == "ray":
                from streid.pipeline.identity.ray_exec import run_cameras_on_ray

                result.processed = run_cameras_on_ray(job, todo, paths, store, detector, embedder, stop,
                                                      ray_address, on_camera_done)
                if result.processed != todo:
                    result.interrupted = True
                    return result
                todo = []
            elif todo:
                detector = detector or _build_detector(job, todo, paths)
                embedder = embedder or _load_embedder(job)
            for cam in todo:
                if stop.is_set() or not _run_camera(job, cam, paths, store, detector, embedder, stop, progress):
                    result.interrupted = True
                    return result
                result.processed.append(cam)
                if on_camera_done is not None:
                    on_camera_done(cam)
            done = {c: json.loads(paths.done(c).read_text()) for c in job.videos}
            result.online, result.final, result.thresholds = _identities(job, paths, store, done)
            if videos and not _render(job, paths, result.final, done, stop):
                result.interrupted = True
                return result
            if job.gt:
                result.evaluation = {**evaluate_job(job, paths), "thresholds": result.thresholds}
                _write_json(paths.out / "eval.json", result.evaluation)
            if not videos:
                return result
            from streid.pipeline.identity.report import write_report

            result.report = write_report(paths.out, store, list(job.videos), done, result.online,
                                         result.evaluation, float(result.thresholds["gate"]))
    finally:
        store.close()
    return result


def _build_detector(job: ReidJob, cams: list[str], paths: JobPaths) -> Any:
    from streid.pipeline.runner import build_detector

    return build_detector(_camera_section(job, cams, paths.work))


def _load_embedder(job: ReidJob) -> Any:
    from streid.pipeline.runner import load_configured_embedder

    emb = load_configured_embedder(job.pipeline)
    if emb is None:
        raise ValueError("the re-id job needs an embedder: pass --embedder PATH or set pipeline.embedder.path")
    return emb


def _run_camera(job: ReidJob, cam: str, paths: JobPaths, store: Any, detector: Any, embedder: Any,
                stop: threading.Event, progress: bool) -> bool:
    """Phase 1 for one camera; False when interrupted (its partial rows are dropped on the next run)."""
    from streid.pipeline.identity.stage import IdentityStage
    from streid.pipeline.runner import Runner

    remove_inside(paths.out, paths.cam(cam))
    dropped = store.forget_camera(cam)
    if dropped:
        log.info("camera %s: dropped %d tracklets of an unfinished run; redoing it", cam, dropped)
    t0 = time.time()
    runner = Runner(_camera_section(job, [cam], paths.cam(cam)), detector=detector, embedder=embedder, stop=stop,
                    progress=progress, identity=IdentityStage(store, None))
    run = runner.run()
    if run.interrupted:
        return False
    if cam in run.failed:  # undecodable or truncated: not marked done, so a re-run drops its rows and redoes it
        raise InputError(f"camera {cam}: {job.videos[cam]}: {run.failed[cam]}")
    frames = run.summary["cameras"][cam]["processed"]
    if frames == 0:
        raise RuntimeError(f"camera {cam}: no frame decoded from {job.videos[cam]} (see {paths.cam(cam)}/events.jsonl)")
    fps = runner.sources[0].fps or job.pipeline.tracker.frame_rate
    tracklets = sum(1 for t in store.tracklets(with_embeddings=False) if t.camera == cam)
    prefilter = run.summary["cameras"][cam].get("prefilter")  # the detector's noise gate, when it ran one
    _write_json(paths.done(cam), {"camera": cam, "video": str(job.videos[cam]), "frames": frames, "fps": fps,
                                  "tracklets": tracklets, "seconds": round(time.time() - t0, 2),
                                  "finished": time.time(), **({"prefilter": prefilter} if prefilter else {})})
    log.info("camera %s: %d frames, %d tracklets in %.1fs", cam, frames, tracklets, time.time() - t0)
    return True


def _identities(job: ReidJob, paths: JobPaths, store: Any,
                done: dict[str, dict[str, Any]]) -> tuple[dict[Key, int], dict[Key, int], dict[str, Any]]:
    """Phase 2: online ids by replay, then offline clustering; skipped when its marker matches the inputs.

    The thresholds start from config > the embedder's calibration > fallback, are refined on this site during the
    replay (``identity.calibration``), and the offline clustering uses the last refit."""
    from streid.pipeline.identity.build import thresholds_from_config

    start = thresholds_from_config(job.identity, job.pipeline.embedder.path or None)
    stamp = hashlib.sha256(json.dumps([job.identity.model_dump(mode="json"), start.record(), done],
                                      sort_keys=True).encode()).hexdigest()
    if paths.identities.is_file():
        marker = json.loads(paths.identities.read_text())
        if marker.get("stamp") == stamp:
            return _parse_ids(marker["online"]), _parse_ids(marker["final"]), marker.get("thresholds", {})
    for cam in job.videos:  # the final ids change: so do the videos drawn with them
        paths.video(cam).unlink(missing_ok=True)
    log.info("site rules: %s", job.identity.site.summary())
    online, events, used = replay(job, paths, store, done, start)
    from streid.pipeline.identity.build import constraints_from_config
    from streid.pipeline.identity.offline import relabel_store

    final = relabel_store(store, constraints_from_config(job.identity), used["offline_threshold"],
                          centre=job.identity.camera_centering)
    now = time.time()
    events += [{"type": "relabel", "camera": k[0], "time": now, "track_id": k[1], "global_id": g,
                "online_id": online.get(k)} for k, g in final.items() if online.get(k) != g]
    part = paths.out / "events.jsonl.part"
    part.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events), encoding="utf-8")
    os.replace(part, paths.out / "events.jsonl")
    for cam in job.videos:
        _write_tracks(paths.cam(cam) / f"{cam}.txt", paths.tracks(cam), cam, final)
        _write_tracks(paths.cam(cam) / f"{cam}.txt", paths.tracks(cam, online=True), cam, online)
    _write_json(paths.identities, {"stamp": stamp, "online": {_key_text(k): g for k, g in online.items()},
                                   "final": {_key_text(k): g for k, g in final.items()}, "thresholds": used})
    return online, final, used


def replay(job: ReidJob, paths: JobPaths, store: Any, done: dict[str, dict[str, Any]],
           start: Thresholds | None = None) -> tuple[dict[Key, int], list[dict[str, Any]], dict[str, Any]]:
    """Feed every camera's tracklet events to a fresh online matcher, one joint batch per decision frame.

    An event is decided at its ``frame``, except an ``end``, decided ``lost_frames`` after the track was last seen
    (or at its camera's end). Ties go by camera order then file order, and the tracks in view in every frame up to
    the decision (the local MOT rows) reach :meth:`IdentityStage.seen` first: what a lockstep run over all cameras
    does. Returns the online ids, the merged events (with ``calibration`` events where the site refined the
    thresholds) and the thresholds in force at the end with their history.
    """
    from streid.pipeline.events import read_events
    from streid.pipeline.identity.build import calibrator_from_config, matcher_from_config, thresholds_from_config
    from streid.pipeline.identity.centering import CameraCentering
    from streid.pipeline.identity.stage import IdentityStage, event_fields, obs_from_event
    from streid.pipeline.identity.trackmean import TrackMeans

    store.clear_identities()
    start = start or thresholds_from_config(job.identity, job.pipeline.embedder.path or None)
    stage = IdentityStage(store, lambda dim: matcher_from_config(job.identity, dim, start), thresholds=start,
                          calibrator=calibrator_from_config(job.identity, start),
                          centering=CameraCentering() if job.identity.camera_centering else None,
                          track_means=TrackMeans() if job.identity.track_mean else None)
    lost = job.pipeline.tracklets.lost_frames
    items: list[tuple[int, int, int, dict[str, Any]]] = []
    for ci, cam in enumerate(job.videos):
        frames, decided = int(done[cam]["frames"]), 0
        for n, e in enumerate(read_events(paths.cam(cam) / "events.jsonl")):
            if e["type"] in ("start", "update"):
                decided = int(e["frame"])
            elif e["type"] == "end":
                decided = min(int(e["last_frame"]) + lost + 1, frames)
            elif e["type"] == "camera_end":
                decided = frames
            items.append((decided, ci, n, e))
    items.sort(key=lambda it: it[:3])
    in_view = {cam: _tracks_per_frame(paths.cam(cam) / f"{cam}.txt") for cam in job.videos}
    cursor = dict.fromkeys(job.videos, 0)
    merged: list[dict[str, Any]] = []
    for frame, group in groupby(items, key=lambda it: it[0]):
        for cam, table in in_view.items():
            fps = float(done[cam]["fps"]) or 1.0
            for f in range(cursor[cam], min(frame, int(done[cam]["frames"]) - 1) + 1):
                if f in table:
                    stage.seen(cam, table[f], f / fps)
            cursor[cam] = max(cursor[cam], frame + 1)
        events = [it[3] for it in group]
        batch = [e for e in events if e["type"] in TRACKLET_EVENTS and e.get("embedding") is not None]
        decisions = stage.assign([obs_from_event(e) for e in batch])
        fields = {id(e): event_fields(d) for e, d in zip(batch, decisions, strict=True) if d is not None}
        merged.extend({**e, **fields.get(id(e), {})} for e in events)
        merged.extend(stage.calibration_events())
    online = {(t.camera, t.track_id): int(t.global_id) for t in store.tracklets(with_embeddings=False)
              if t.global_id is not None}
    end = stage.thresholds or start
    history = stage.calibrator.history if stage.calibrator is not None else []
    used = {**end.record(), "start": start.record(), "refits": len(history),
            "last_refit": history[-1] if history else None}
    return online, merged, used


def _tracks_per_frame(path: Path) -> dict[int, list[int]]:
    """0-based frame -> local track ids in view, from the runner's MOT rows (id = track id)."""
    table: dict[int, list[int]] = {}
    for line in path.read_text().splitlines():
        cols = line.split(",", 2)
        table.setdefault(int(cols[0]) - 1, []).append(int(cols[1]))
    return table


def _write_tracks(local: Path, dest: Path, cam: str, ids: dict[Key, int]) -> None:
    """Local MOT rows (id = track id) rewritten with global ids; tracks that never got one are left out."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for line in local.read_text().splitlines():
        cols = line.split(",")
        gid = ids.get((cam, int(cols[1])))
        if gid is not None:
            lines.append(",".join([cols[0], str(gid), *cols[2:]]))
    part = dest.with_name(dest.name + ".part")
    part.write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    os.replace(part, dest)


def _render(job: ReidJob, paths: JobPaths, final: dict[Key, int], done: dict[str, dict[str, Any]],
            stop: threading.Event) -> bool:
    """Phase 3: one annotated video per camera with the final ids; False when interrupted."""
    from streid.pipeline.identity.render import render_camera

    for cam in job.videos:
        if paths.video(cam).is_file():
            continue
        ids = {tid: g for (c, tid), g in final.items() if c == cam}
        size = (job.pipeline.width, job.pipeline.height) if job.pipeline.width else None
        if not render_camera(job.videos[cam], paths.cam(cam) / f"{cam}.txt", ids, paths.video(cam),
                             float(done[cam]["fps"]), job.pipeline.output.trail_length, size, stop):
            return False
    return True


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def evaluate_job(job: ReidJob, paths: JobPaths) -> dict[str, Any]:
    """Multi-camera IDF1 (final and online), link precision/recall, per-camera IDF1 and the tracker's HOTA.

    Every score reads the ground truth by one MOTChallenge dialect, named in ``gt_dialect`` (and logged).
    """
    from streid.pipeline.identity.evaluate import association_bound, evaluate_files, read_truths

    assert job.gt is not None
    cams = list(job.videos)
    gt = read_truths({c: job.gt[c] for c in cams}, job.gt_dialect)  # read once for every score below
    reports = {name: evaluate_files(gt, {c: paths.tracks(c, online=name == "online") for c in cams},
                                    dialect=job.gt_dialect) for name in ("offline", "online")}
    for line in reports["offline"].dialects.values():
        log.info("ground truth %s", line)
    out: dict[str, Any] = {"gt_dialect": reports["offline"].dialects}
    for name, r in reports.items():
        o = r.overall
        out[name] = {"idf1": round(o.idf1, 4), "idp": round(o.idp, 4), "idr": round(o.idr, 4),
                     "link_precision": _round(r.link_precision), "link_recall": _round(r.link_recall),
                     "link_recall_tracked": _round(r.link_recall_tracked)}
    per_camera: dict[str, Any] = {}
    for c in cams:
        per_camera[c] = {"idf1": round(reports["offline"].per_camera[c].idf1, 4),
                         "idf1_online": round(reports["online"].per_camera[c].idf1, 4)}
        try:
            import trackers.eval  # noqa: F401
        except ImportError:  # the tracker's own scores need Roboflow trackers' eval; the id scores do not
            continue
        per_camera[c]["tracker"] = tracker_scores(gt[c], job.gt_dialect, paths.cam(c) / f"{c}.txt",
                                                  paths.work / "gt" / f"{c}.txt")
    out["per_camera"] = per_camera
    if paths.identities.is_file():  # the same tracks, each given its best ground-truth id: what association could reach
        keep = set(_parse_ids(json.loads(paths.identities.read_text())["final"]))
        b = association_bound(gt, {c: paths.cam(c) / f"{c}.txt" for c in cams}, keep, dialect=job.gt_dialect)
        out["association_bound"] = {"idf1": round(b.idf1, 4), "idp": round(b.idp, 4), "idr": round(b.idr, 4)}
    return out


def tracker_scores(gt: Path | GroundTruth, dialect: str, tracks: Path, scored_gt: Path) -> dict[str, float]:
    """One camera's local tracks (MOT file) against its ground truth: HOTA / IDF1 / MOTA from ``trackers.eval``.

    trackers.eval knows MOT17 rows only, so the ground truth is first written to ``scored_gt`` as ``dialect`` scores
    it. No track at all scores 0, not an error."""
    from trackers.eval import evaluate_mot_sequence

    from streid.pipeline.motgt import GroundTruth, read_gt, write_normalised

    if not tracks.is_file() or tracks.stat().st_size == 0:
        return {"HOTA": 0.0, "IDF1": 0.0, "MOTA": 0.0}
    scored = write_normalised(gt if isinstance(gt, GroundTruth) else read_gt(gt, dialect), scored_gt)
    s = evaluate_mot_sequence(scored, tracks, metrics=["CLEAR", "HOTA", "Identity"])
    return {"HOTA": round(float(s.HOTA.HOTA), 4), "IDF1": round(float(s.Identity.IDF1), 4),
            "MOTA": round(float(s.CLEAR.MOTA), 4)}
