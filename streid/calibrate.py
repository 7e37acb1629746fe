"""``streid calibrate``: fit an embedder's matching thresholds on labelled data and store them in the artifact.

Two kinds of ``--data``:

- a synthetic world's scenes (``streid synth --only scenes``: ``CAM.mp4`` + ``gt/CAM.txt`` + ``site.json``): every
  camera through the pipeline with the ground-truth boxes and the embedder (the offline job's phase 1, so the
  tracklets are the ones the matcher sees at run time); each local track takes the ground-truth id of the boxes it
  follows. Negatives: tracklets of different people; positives: one person in two cameras;
- a MARS-layout folder (a synthetic world's ``reid/`` or the user's own MARS tree): up to ``max_tracklets`` test
  tracklets embedded; negatives: different pids; positives: one pid in two cameras.

The rule that turns the distances into thresholds is ``streid.pipeline.identity.calibration`` (labelled
cross-camera positives, so the gate may move into a gap between the populations). The entry is written into the
ONNX artifact's metadata as ``streid.calibration`` (atomic rewrite), where the runtime finds it.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from streid.pipeline.identity.calibration import Calibration, fit_calibration, pair_distances
from streid.pipeline.identity.centering import centre_all

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
SCENES_CONFIG = REPO / "configs" / "reid" / "synth.yaml"


def is_scenes(data: Path) -> bool:
    return (data / "site.json").is_file() and (data / "gt").is_dir()


def mars_pairs(embedder: Any, root: Path, max_tracklets: int = 800, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Negative / cross-camera positive distances of a MARS-layout test split (junk and distractors left out)."""
    from streid.train.data.mars import read_mars
    from streid.train.eval.artifact import embed_records

    data = read_mars(root)
    records = [r for r in data.query + data.gallery if r.pid > 0]
    if len(records) > max_tracklets:
        pick = np.random.default_rng(seed).choice(len(records), max_tracklets, replace=False)
        records = [records[i] for i in sorted(pick)]
    emb = centre_all(embed_records(embedder, records), [r.camid for r in records])
    return pair_distances(emb, np.array([r.pid for r in records]), np.array([r.camid for r in records]))


def _gt_ids(local_mot: Path, gt_mot: Path) -> dict[int, int]:
    """Local track id (as in the MOT file and the events: both count from 1) -> ground-truth id of the boxes it
    follows (majority, IoU >= 0.5)."""
    gt: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for line in gt_mot.read_text().splitlines():
        c = line.split(",")
        gt[int(c[0])].append((int(c[1]), np.array([float(v) for v in c[2:6]])))
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    for line in local_mot.read_text().splitlines():
        c = line.split(",")
        box = np.array([float(v) for v in c[2:6]])
        best, best_iou = None, 0.5
        for gid, g in gt.get(int(c[0]), []):
            iw = max(0.0, min(box[0] + box[2], g[0] + g[2]) - max(box[0], g[0]))
            ih = max(0.0, min(box[1] + box[3], g[1] + g[3]) - max(box[1], g[1]))
            inter = iw * ih
            iou = inter / max(box[2] * box[3] + g[2] * g[3] - inter, 1e-9)
            if iou >= best_iou:
                best, best_iou = gid, iou
        if best is not None:
            votes[int(c[1])][best] += 1
    return {tid: v.most_common(1)[0][0] for tid, v in votes.items()}


def job_pairs(job_dir: Path, gt_dir: Path, cameras: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labelled pairs from a finished offline job's per-camera tracklet events (``work/CAM/events.jsonl``)."""
    from streid.pipeline.events import read_events

    emb, labels, cams = [], [], []
    for ci, cam in enumerate(cameras):
        ids = _gt_ids(job_dir / "work" / cam / f"{cam}.txt", gt_dir / f"{cam}.txt")
        for e in read_events(job_dir / "work" / cam / "events.jsonl"):
            if e.get("embedding") is not None and int(e["track_id"]) in ids:
                emb.append(np.asarray(e["embedding"], np.float32))
                labels.append(ids[int(e["track_id"])])
                cams.append(ci)
    if len(emb) < 4:
        raise ValueError(f"{job_dir}: only {len(emb)} labelled tracklets; a longer or busier site is needed")
    return pair_distances(centre_all(np.stack(emb), cams), np.array(labels), np.array(cams))


def scenes_pairs(embedder_path: Path, scenes: Path, work: Path,
                 config: Path = SCENES_CONFIG) -> tuple[np.ndarray, np.ndarray]:
    """Run the offline job's per-camera phase with ground-truth boxes into ``work`` (resumable), then label."""
    from streid.pipeline.identity.cli import build_job
    from streid.pipeline.identity.job import run_reid_job

    site = json.loads((scenes / "site.json").read_text())
    cams = [c["name"] for c in site["cameras"]]
    job = build_job({c: scenes / f"{c}.mp4" for c in cams}, work, config, None, [], embedder_path, None,
                    scenes / "gt", None)
    result = run_reid_job(job, progress=False, videos=False)
    if result.interrupted:
        raise KeyboardInterrupt(f"interrupted: run again to resume into {work}")
    return job_pairs(work, scenes / "gt", cams)


def calibrate(embedder_path: Path, data: Path, work: Path | None = None, max_tracklets: int = 800) -> Calibration:
    """The calibration of an embedder on ``data`` (scenes with ground truth, or a MARS-layout folder)."""
    from streid.pipeline.embedder import load_embedder

    if not data.is_dir():
        raise FileNotFoundError(f"--data {data}: not a folder")
    if is_scenes(data):
        work = work or data.parent / f"calibrate_{embedder_path.stem}"
        neg, pos = scenes_pairs(embedder_path, data, work)
        source = f"scenes {data} (ground-truth boxes)"
    elif (data / "info").is_dir():
        neg, pos = mars_pairs(load_embedder(embedder_path, device="cpu"), data, max_tracklets)
        source = f"MARS layout {data}"
    else:
        raise ValueError(f"--data {data}: neither synthetic scenes (site.json + gt/) nor a MARS layout (info/)")
    return fit_calibration(neg, pos, "cross", source=source)


def calibrate_artifact(embedder_path: Path, data: Path, out: Path | None = None, work: Path | None = None,
                       max_tracklets: int = 800) -> tuple[Calibration, Path]:
    """Calibrate and write the entry into ``out`` (a copy of the artifact) or into the artifact itself."""
    import shutil

    from streid.export.calibration import write_calibration

    if embedder_path.suffix.lower() != ".onnx":
        raise ValueError(f"--embedder {embedder_path}: calibration is stored in ONNX artifacts (.onnx)")
    cal = calibrate(embedder_path, data, work, max_tracklets)
    target = embedder_path
    if out is not None and out.resolve() != embedder_path.resolve():
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_name(f".{out.name}.part")
        shutil.copyfile(embedder_path, part)
        write_calibration(part, cal.entry())
        part.replace(out)
        target = out
    else:
        write_calibration(target, cal.entry())
    return cal, target
