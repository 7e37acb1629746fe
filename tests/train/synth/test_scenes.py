"""Scene videos decode with the frame count the GT and site.json promise; GT ids are global."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from streid.media import count_frames
from streid.train.synth.config import SynthConfig


def _gt(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_videos_decode_with_promised_frame_count(tiny_dir: Path) -> None:
    site = json.loads((tiny_dir / "scenes" / "site.json").read_text())
    assert len(site["cameras"]) == 2 and len(site["links"]) == 1
    for cam in site["cameras"]:
        frames = cam["frames"]
        assert frames == round(site["duration_s"] * site["fps"])
        assert count_frames(tiny_dir / "scenes" / cam["video"]) == frames
        gt = _gt(tiny_dir / "scenes" / cam["gt"])
        assert gt.shape[1] == 9
        assert gt[:, 0].min() >= 1 and gt[:, 0].max() <= frames
        assert np.all((gt[:, 8] >= 0) & (gt[:, 8] <= 1)) and (gt[:, 8] > 0.9).any()
        x, y, w, h = gt[:, 2], gt[:, 3], gt[:, 4], gt[:, 5]
        assert np.all((x >= 0) & (y >= 0) & (w > 0) & (h > 0))
        assert np.all((x + w <= cam["width"]) & (y + h <= cam["height"]))
        assert set(gt[:, 1].astype(int)) <= set(site["identities"])


def test_gt_ids_are_global_identities_across_cameras(tiny_dir: Path) -> None:
    site = json.loads((tiny_dir / "scenes" / "site.json").read_text())
    ids = [set(_gt(tiny_dir / "scenes" / cam["gt"])[:, 1].astype(int)) for cam in site["cameras"]]
    assert ids[0] & ids[1], "someone must walk from one camera to the other"
    test_ids = {int(p.name) for p in (tiny_dir / "reid" / "bbox_test").iterdir()}
    assert set().union(*ids) <= test_ids, "scenes show held-out test identities only"


def test_people_leave_and_enter_by_the_sides_the_site_names(tiny_dir: Path) -> None:
    """site.json's link sides are the world's truth: whoever is seen in one camera and then in the next walked
    toward the named side of the first frame and away from the named side of the second (the matcher's side rule
    forbids anything else). Net sideways walk of each GT track, share of the frame width."""
    site = json.loads((tiny_dir / "scenes" / "site.json").read_text())
    sign = {"left": -1, "right": 1}
    walks: dict[str, dict[int, tuple[float, float, float]]] = {}  # camera -> pid -> first frame, last frame, dx
    for cam in site["cameras"]:
        gt = _gt(tiny_dir / "scenes" / cam["gt"])
        centre = (gt[:, 2] + gt[:, 4] / 2) / cam["width"]
        walks[cam["name"]] = {}
        for pid in np.unique(gt[:, 1]):
            mine = gt[:, 1] == pid  # rows are in frame order
            walks[cam["name"]][int(pid)] = (gt[mine, 0][0], gt[mine, 0][-1], centre[mine][-1] - centre[mine][0])
    judged = 0
    for link in site["links"]:
        a, b = walks[link["from"]], walks[link["to"]]
        for pid in set(a) & set(b):
            (first, side_out), (then, side_in) = sorted(
                [(a[pid], sign[link["from_side"]]), (b[pid], sign[link["to_side"]])], key=lambda w: w[0][0])
            assert side_out * first[2] > -0.2 and side_in * then[2] < 0.2, (pid, a[pid], b[pid])
            judged += 1
    assert judged


def test_detection_set_is_yolo(tiny_dir: Path) -> None:
    root = tiny_dir / "detection"
    data = (root / "data.yaml").read_text()
    assert f"path: {root.resolve()}" in data and "0: person" in data
    for split in ("train", "val"):
        images = sorted(p.stem for p in (root / "images" / split).glob("*.jpg"))
        labels = sorted(p.stem for p in (root / "labels" / split).glob("*.txt"))
        assert images and images == labels
    rows = [line.split() for p in (root / "labels").rglob("*.txt") for line in p.read_text().splitlines()]
    assert rows, "some people are labelled"
    values = np.array([[float(v) for v in r[1:]] for r in rows])
    assert all(r[0] == "0" for r in rows) and np.all((values > 0) & (values <= 1))


def test_preview_written(tiny_dir: Path) -> None:
    import cv2

    sheet = cv2.imread(str(tiny_dir / "preview" / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] > 4 * 192
    assert count_frames(tiny_dir / "preview" / "clip.mp4") == 8


def test_nobody_is_in_one_camera_twice_at_once(tiny_dir: Path) -> None:
    for gt_file in (tiny_dir / "scenes" / "gt").glob("*.txt"):
        gt = _gt(gt_file)
        pairs = {(int(f), int(i)) for f, i in gt[:, :2]}
        assert len(pairs) == len(gt), f"{gt_file.name}: an identity appears twice in one frame"


def test_site_promises_one_pass_per_camera_only_when_the_schedule_keeps_it(
        tiny_dir: Path, tiny: Callable[..., SynthConfig]) -> None:
    """``passes.max_s`` bounds every person's visible stretch in every camera (the one-pass rule built from it can
    never split a real pass); ``once`` turns false as soon as the site has more walkers than identities and a
    walker comes back into a camera."""
    from streid.train.synth.site import passes
    from streid.train.synth.world import World

    site = json.loads((tiny_dir / "scenes" / "site.json").read_text())
    assert site["passes"]["once"] is True and site["passes"]["max_s"] > 0
    for cam in site["cameras"]:
        gt = _gt(tiny_dir / "scenes" / cam["gt"])
        for pid in set(gt[:, 1].astype(int)):
            frames = gt[gt[:, 1] == pid, 0]
            assert (frames.max() - frames.min()) / site["fps"] <= site["passes"]["max_s"]
    busy = World(tiny("synth.scenes.people=40", "synth.scenes.duration_s=120"), 3).scene_site
    seen = [(w.pid, w.camera) for w in busy.walks]
    assert len(set(seen)) < len(seen) and passes(busy)["once"] is False
