"""MTMC IDF1 and link precision/recall on hand-made tracks with hand-computed answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from streid.pipeline.identity.evaluate import evaluate_files


def write(path: Path, rows: list[tuple[int, int, float]]) -> Path:
    """(frame, id, x) rows; boxes are 10x20 at (x, 0)."""
    path.write_text("".join(f"{f},{i},{x},0,10,20,1,-1,-1,-1\n" for f, i, x in rows))
    return path


def scene(tmp_path: Path) -> dict[str, Path]:
    """Person 1: cam1 frames 1-4 then cam2 frames 5-8; person 2: cam2 frames 1-4 at x=100. 12 GT boxes."""
    gt1 = write(tmp_path / "gt1.txt", [(f, 1, 0.0) for f in range(1, 5)])
    gt2 = write(tmp_path / "gt2.txt", [(f, 1, 0.0) for f in range(5, 9)] + [(f, 2, 100.0) for f in range(1, 5)])
    return {"cam1": gt1, "cam2": gt2}


def test_perfect(tmp_path: Path) -> None:
    gt = scene(tmp_path)
    r = evaluate_files(gt, gt)
    assert (r.overall.idf1, r.overall.idp, r.overall.idr) == (1.0, 1.0, 1.0)
    assert all(s.idf1 == 1.0 for s in r.per_camera.values())
    assert (r.link_precision, r.link_recall, r.link_recall_tracked) == (1.0, 1.0, 1.0)


def test_cross_camera_split(tmp_path: Path) -> None:
    """Person 1 gets id 5 in cam1 and id 6 in cam2: per camera perfect, overall IDTP = 8 of 12 -> IDF1 2/3."""
    gt = scene(tmp_path)
    p1 = write(tmp_path / "p1.txt", [(f, 5, 0.0) for f in range(1, 5)])
    p2 = write(tmp_path / "p2.txt", [(f, 6, 0.0) for f in range(5, 9)] + [(f, 7, 100.0) for f in range(1, 5)])
    r = evaluate_files(gt, {"cam1": p1, "cam2": p2})
    assert r.overall.idtp == 8 and r.overall.idf1 == pytest.approx(2 / 3)
    assert all(s.idf1 == 1.0 for s in r.per_camera.values())
    assert r.link_precision is None and r.link_recall == 0.0  # no predicted link (undefined); the true one missed
    assert r.link_recall_tracked == 0.0  # both ends were tracked: the association itself missed it


def test_known_swap(tmp_path: Path) -> None:
    """Person 2 takes person 1's predicted id in cam2 frames 3-4 (an id switch onto another person).

    cam1: person 1 -> id 5 (4 boxes). cam2: person 1 -> id 5 frames 5-8; person 2 -> id 7 frames 1-2 and id 5
    frames 3-4. Agreements: (1,5)=8, (2,7)=2, (2,5)=2. Best matching: 1->5 (8) + 2->7 (2) = 10 of 12.
    IDF1 = 20 / (20 + 2 + 2) = 5/6. Tracklets (cam, pred id): (cam1,5)->1, (cam2,5)->1 (6 vs 2), (cam2,7)->2.
    Predicted link (cam1,5)-(cam2,5) is true: precision 1, recall 1.
    """
    gt = scene(tmp_path)
    p1 = write(tmp_path / "p1.txt", [(f, 5, 0.0) for f in range(1, 5)])
    p2 = write(tmp_path / "p2.txt", [(f, 5, 0.0) for f in range(5, 9)] + [(1, 7, 100.0), (2, 7, 100.0),
                                                                           (3, 5, 100.0), (4, 5, 100.0)])
    r = evaluate_files(gt, {"cam1": p1, "cam2": p2})
    assert r.overall.idtp == 10 and r.overall.idfp == 2 and r.overall.idfn == 2
    assert r.overall.idf1 == pytest.approx(5 / 6)
    assert r.per_camera["cam2"].idf1 == pytest.approx(2 * 6 / (2 * 6 + 2 + 2))
    assert (r.link_precision, r.link_recall) == (1.0, 1.0)


def test_nothing_linked_is_undefined_not_perfect(tmp_path: Path) -> None:
    """No prediction at all: IDF1 0, link precision undefined (None), link recall 0 (the GT has one link)."""
    gt = scene(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = evaluate_files(gt, {"cam1": empty, "cam2": empty})
    assert r.overall.idf1 == 0.0
    assert r.link_precision is None and r.link_recall == 0.0


def test_gt_without_cross_camera_link_has_undefined_recall(tmp_path: Path) -> None:
    gt = {"cam1": write(tmp_path / "g1.txt", [(1, 1, 0.0)]), "cam2": write(tmp_path / "g2.txt", [(1, 2, 0.0)])}
    r = evaluate_files(gt, gt)
    assert r.link_precision is None and r.link_recall is None


def test_person_missed_in_one_camera_lowers_recall(tmp_path: Path) -> None:
    """Person 1 is never detected in cam2: the GT link cam1-cam2 of person 1 is missed (recall 0, not 1)."""
    gt = scene(tmp_path)
    p1 = write(tmp_path / "p1.txt", [(f, 5, 0.0) for f in range(1, 5)])
    p2 = write(tmp_path / "p2.txt", [(f, 7, 100.0) for f in range(1, 5)])
    r = evaluate_files(gt, {"cam1": p1, "cam2": p2})
    assert r.link_precision is None and r.link_recall == 0.0
    assert r.link_recall_tracked is None  # lost before matching: no true link had both ends tracked


def test_wrong_link_lowers_precision_and_right_one_counts_once(tmp_path: Path) -> None:
    """Id 5 joins person 1 in cam1 and cam2 (right); id 9 joins person 2 in cam2 with person 3 in cam3 (wrong)."""
    gt = scene(tmp_path)
    gt["cam3"] = write(tmp_path / "gt3.txt", [(f, 3, 0.0) for f in range(1, 5)])
    p1 = write(tmp_path / "p1.txt", [(f, 5, 0.0) for f in range(1, 5)])
    p2 = write(tmp_path / "p2.txt", [(f, 5, 0.0) for f in range(5, 9)] + [(f, 9, 100.0) for f in range(1, 5)])
    p3 = write(tmp_path / "p3.txt", [(f, 9, 0.0) for f in range(1, 5)])
    r = evaluate_files(gt, {"cam1": p1, "cam2": p2, "cam3": p3})
    assert r.link_precision == pytest.approx(1 / 2)  # (cam1,5)-(cam2,5) right, (cam2,9)-(cam3,9) wrong
    assert r.link_recall == 1.0  # the GT's one link (person 1, cam1-cam2) is found


def test_boxes_below_iou_do_not_count(tmp_path: Path) -> None:
    gt = scene(tmp_path)
    shifted = write(tmp_path / "p1.txt", [(f, 1, 6.0) for f in range(1, 5)])  # IoU 4/16 = 0.25
    r = evaluate_files({"cam1": gt["cam1"]}, {"cam1": shifted})
    assert r.overall.idtp == 0 and r.overall.idf1 == 0.0


def test_bad_file_names_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not,a,mot\n")
    with pytest.raises(ValueError, match=r"bad\.txt"):
        evaluate_files({"cam1": bad}, {})


def test_a_frame_without_predictions_does_not_end_the_cameras_scoring(tmp_path: Path) -> None:
    gt = {"cam1": write(tmp_path / "gt1.txt", [(f, 1, 0.0) for f in range(1, 5)])}
    pred = {"cam1": write(tmp_path / "p1.txt", [(f, 7, 0.0) for f in range(2, 5)])}  # frame 1 missed
    r = evaluate_files(gt, pred)
    assert (r.overall.idtp, r.overall.idfn, r.overall.idfp) == (3, 1, 0)


def test_every_right_link_counts(tmp_path: Path) -> None:
    """One person in three cameras under one id: three predicted links, all right, all three true links found."""
    gt = {c: write(tmp_path / f"gt{c}.txt", [(f, 1, 0.0) for f in range(1, 5)]) for c in ("c1", "c2", "c3")}
    pred = {c: write(tmp_path / f"p{c}.txt", [(f, 4, 0.0) for f in range(1, 5)]) for c in ("c1", "c2", "c3")}
    r = evaluate_files(gt, pred)
    assert (r.link_precision, r.link_recall) == (1.0, 1.0)


def test_association_bound_gives_each_local_track_its_best_identity(tmp_path: Path) -> None:
    """Local ids restart per camera and a false track (cam2 id 3, frames 1-2, far away) matches nobody: with every
    track named after its person, IDTP = 12 of 12 GT boxes and 14 predicted boxes -> IDF1 24/26; without it, 1."""
    from streid.pipeline.identity.evaluate import association_bound

    gt = scene(tmp_path)
    l1 = write(tmp_path / "l1.txt", [(f, 1, 0.0) for f in range(1, 5)])
    l2 = write(tmp_path / "l2.txt", [(f, 2, 0.0) for f in range(5, 9)] + [(f, 1, 100.0) for f in range(1, 5)]
               + [(f, 3, 300.0) for f in (1, 2)])
    local = {"cam1": l1, "cam2": l2}
    assert evaluate_files(gt, local).overall.idf1 == pytest.approx(16 / 26)  # as numbered: id 1 is both people
    bound = association_bound(gt, local)
    assert (bound.idtp, bound.idfp, bound.idfn) == (12, 2, 0) and bound.idf1 == pytest.approx(24 / 26)
    kept = association_bound(gt, local, keep={("cam1", 1), ("cam2", 1), ("cam2", 2)})  # the false track left out
    assert kept.idf1 == 1.0
