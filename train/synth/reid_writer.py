"""Tracklet crops in MARS's layout, so one MARS reader reads real MARS and the synthetic world.

    bbox_train/0001/0001C1T0001F001.jpg ...    bbox_test/...
    info/train_name.txt, info/test_name.txt            one image name per line, in order
    info/tracks_train_info.mat (track_train_info)       N x 4: start, end (1-based, inclusive), pid, camid
    info/tracks_test_info.mat (track_test_info)
    info/query_IDX.mat (query_IDX)                      1-based rows of tracks_test_info used as queries

Train and test identities are disjoint. Queries are one tracklet per (test identity, camera); every
test identity is seen by at least two cameras, so every query has a true match in another camera.
The gallery is all test tracklets (queries included), as in MARS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import scipy.io

from streid.train.synth.parallel import world_map
from streid.train.synth.render import render_tracklet
from streid.train.synth.world import World, stream


@dataclass(frozen=True)
class TrackletJob:
    """One tracklet to render: split, identity, 1-based camera, 1-based tracklet number, length."""

    split: str
    pid: int
    cam: int
    number: int
    frames: int

    def names(self) -> list[str]:
        return [f"{self.pid:04d}C{self.cam}T{self.number:04d}F{i + 1:03d}.jpg" for i in range(self.frames)]


def plan_tracklets(world: World) -> list[TrackletJob]:
    """Which identity is seen by which cameras, how often and for how long (deterministic)."""
    cfg = world.cfg.reid
    rng = stream(world.seed, "reid-plan")
    jobs = []
    for split, pids in zip(("train", "test"), world.split, strict=False):
        for pid in pids:
            lo, hi = cfg.cameras_per_identity
            n_cams = int(rng.integers(max(lo, 2 if split == "test" else 1), max(hi, 2) + 1))
            cams = sorted(int(c) + 1 for c in rng.choice(cfg.cameras, size=n_cams, replace=False))
            for cam in cams:
                for number in range(
                    1, int(rng.integers(cfg.tracklets_per_camera[0], cfg.tracklets_per_camera[1] + 1)) + 1
                ):
                    jobs.append(
                        TrackletJob(split, pid, cam, number, int(rng.integers(cfg.frames[0], cfg.frames[1] + 1)))
                    )
    return jobs


@dataclass(frozen=True)
class TrackletWriter:
    """Picklable worker: render one tracklet and write its JPEGs at the camera's own quality."""

    root: Path

    def __call__(self, world: World, job: TrackletJob) -> int:
        folder = self.root / f"bbox_{job.split}" / f"{job.pid:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        quality = world.cameras("reid")[job.cam - 1].jpeg_quality
        crops = render_tracklet(world, job.pid, job.cam - 1, job.number, job.frames)
        for name, crop in zip(job.names(), crops, strict=False):
            ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise RuntimeError(f"JPEG encoding failed for {name}")
            (folder / name).write_bytes(data.tobytes())
        return len(crops)


def write_reid(world: World, root: Path, workers: int, progress: Callable[[int], None]) -> dict[str, int]:
    """Render every planned tracklet into ``root`` and write MARS's info files; returns counts."""
    jobs = plan_tracklets(world)
    for _ in world_map(world, TrackletWriter(root), jobs, workers, chunksize=4):
        progress(1)
    info = root / "info"
    info.mkdir(parents=True, exist_ok=True)
    tables: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        names: list[str] = []
        rows = []
        for job in (j for j in jobs if j.split == split):
            start = len(names) + 1
            names.extend(job.names())
            rows.append((start, len(names), job.pid, job.cam))
        (info / f"{split}_name.txt").write_text("".join(n + "\n" for n in names), encoding="utf-8")
        tables[split] = np.asarray(rows, np.float64).reshape(-1, 4)
        scipy.io.savemat(info / f"tracks_{split}_info.mat", {f"track_{split}_info": tables[split]})
    query = choose_queries(world, tables["test"])
    scipy.io.savemat(info / "query_IDX.mat", {"query_IDX": query.reshape(1, -1).astype(np.float64)})
    test_jobs = [j for j in jobs if j.split == "test"]
    return {
        "train_ids": len(world.split[0]),
        "test_ids": len(world.split[1]),
        "train_tracklets": len(jobs) - len(test_jobs),
        "test_tracklets": len(test_jobs),
        "queries": len(query),
        "images": sum(j.frames for j in jobs),
    }


def choose_queries(world: World, test: np.ndarray) -> np.ndarray:
    """1-based rows: up to one random tracklet per (pid, camera), for pids seen by two or more cameras.

    A query is kept only while every query of its pid still has a non-query tracklet of that pid in
    another camera, so under the query-not-in-gallery protocol no query is left without a true match
    (with one tracklet per camera, one camera of each pid stays gallery-only).
    """
    rng = stream(world.seed, "reid-query")
    out: list[int] = []
    for pid in np.unique(test[:, 2]):
        rows = np.nonzero(test[:, 2] == pid)[0]
        cams = np.unique(test[rows, 3])
        if len(cams) < 2:
            continue
        chosen: list[int] = []
        for cam in rng.permutation(cams):
            candidates = rows[test[rows, 3] == cam]
            pick = int(candidates[int(rng.integers(len(candidates)))])
            trial = [*chosen, pick]
            rest = [r for r in rows if r not in trial]
            if all(any(test[r, 3] != test[q, 3] for r in rest) for q in trial):
                chosen = trial
        out.extend(r + 1 for r in chosen)
    return np.asarray(sorted(out), np.int64)
