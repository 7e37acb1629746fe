"""MOTChallenge dialects: MOT15 rows (no class) are scored, MOT17/20 classes and distractors filtered like TrackEval.

Cross-checked against the reference tools: py-motmetrics' own MOT15 test data (TUD-Campus, TUD-Stadtmitte) and
the numbers its test suite publishes for them, and Roboflow trackers.eval (TrackEval parity) on a MOT17 file.
"""

from __future__ import annotations

from pathlib import Path

import motmetrics
import numpy as np
import pytest
from trackers.eval import evaluate_mot_sequence

from streid.pipeline.identity.evaluate import evaluate_files
from streid.pipeline.motgt import read_gt, write_normalised

MM_DATA = Path(motmetrics.__file__).parent / "data"
# py-motmetrics' tests/test_metrics.py::test_motchallenge_files: IDF1, MOTA per sequence
PUBLISHED = {"TUD-Campus": (0.557659, 0.526462), "TUD-Stadtmitte": (0.644619, 0.564014)}


@pytest.mark.parametrize("seq", sorted(PUBLISHED))
def test_mot15_files_score_as_the_reference_tools_publish(seq: str, tmp_path: Path) -> None:
    gt, pred = MM_DATA / seq / "gt.txt", MM_DATA / seq / "test.txt"
    truth = read_gt(gt)
    assert truth.dialect == "MOT15" and "not a class" in truth.reason
    idf1, mota = PUBLISHED[seq]
    report = evaluate_files({"cam": gt}, {"cam": pred})
    assert report.per_camera["cam"].idf1 == pytest.approx(idf1, abs=1e-4)
    assert "MOT15" in report.dialects["cam"]
    scores = evaluate_mot_sequence(write_normalised(truth, tmp_path / "gt.txt"), pred, ["CLEAR", "Identity"])
    tool_mota, tool_idf1 = scores.CLEAR.MOTA, scores.Identity.IDF1
    assert tool_mota == pytest.approx(mota, abs=1e-4) and tool_idf1 == pytest.approx(idf1, abs=1e-4)


def _rows(path: Path, rows: list[tuple[int, int, float, float, int]]) -> Path:
    """(frame, id, x, conf, class): 10x20 boxes at (x, 0), visibility 1."""
    path.write_text("".join(f"{f},{i},{x},0,10,20,{c},{k},1\n" for f, i, x, c, k in rows))
    return path


def mot17_case(tmp_path: Path) -> tuple[Path, Path]:
    """Person 1 (class 1) at x=0; a static person (class 7) at x=50; a conf-0 pedestrian at x=100; a car (3) at
    x=150. The tracker follows all four, 4 frames each."""
    gt, pred = [], []
    for f in range(1, 5):
        gt += [(f, 1, 0.0, 1, 1), (f, 2, 50.0, 1, 7), (f, 3, 100.0, 0, 1), (f, 4, 150.0, 1, 3)]
        pred += [(f, 11, 0.0, 1, -1), (f, 12, 50.0, 1, -1), (f, 13, 100.0, 1, -1), (f, 14, 150.0, 1, -1)]
    return _rows(tmp_path / "gt.txt", gt), _rows(tmp_path / "pred.txt", pred)


def test_mot17_filters_agree_with_trackeval_parity(tmp_path: Path) -> None:
    """Scored: person 1 only (4 boxes). The box on the static person is dropped (distractor); the boxes on the conf-0
    pedestrian and the car stay false positives: IDTP 4, IDFP 8, IDFN 0 -> IDF1 8/16 = 0.5 (trackers.eval too).
    Without the filters every GT row counted: IDF1 1.0, a different number from the reference."""
    gt, pred = mot17_case(tmp_path)
    report = evaluate_files({"cam": gt}, {"cam": pred})
    ours = report.per_camera["cam"]
    assert (ours.idtp, ours.idfp, ours.idfn) == (4, 8, 0) and ours.idf1 == pytest.approx(0.5)
    assert "MOT17" in report.dialects["cam"]
    reference = evaluate_mot_sequence(gt, pred, ["Identity"]).Identity.IDF1
    assert ours.idf1 == pytest.approx(reference, abs=1e-9)
    normalised = evaluate_mot_sequence(write_normalised(read_gt(gt), tmp_path / "n.txt"), pred, ["Identity"])
    via_normalised = normalised.Identity.IDF1
    assert via_normalised == pytest.approx(reference, abs=1e-9)


def test_mot20_also_drops_predictions_on_non_mot_vehicles(tmp_path: Path) -> None:
    gt = _rows(tmp_path / "gt.txt", [(f, 1, 0.0, 1, 1) for f in (1, 2)] + [(f, 2, 50.0, 1, 6) for f in (1, 2)])
    pred = _rows(tmp_path / "pred.txt", [(f, 11, 0.0, 1, -1) for f in (1, 2)] + [(f, 12, 50.0, 1, -1) for f in (1, 2)])
    as17 = evaluate_files({"cam": gt}, {"cam": pred}).per_camera["cam"]
    as20 = evaluate_files({"cam": gt}, {"cam": pred}, dialect="MOT20").per_camera["cam"]
    assert (as17.idtp, as17.idfp) == (2, 2)  # MOT17: a vehicle box is a false positive
    assert (as20.idtp, as20.idfp, as20.idf1) == (2, 0, 1.0)  # MOT20: it is a distractor


def test_bad_dialect_and_missing_class_column_are_named(tmp_path: Path) -> None:
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,0,0,10,20,1,-1,-1,-1\n")
    with pytest.raises(ValueError, match="unknown ground-truth dialect"):
        read_gt(gt, "MOT18")
    with pytest.raises(ValueError, match=r"gt\.txt: MOT17 ground truth needs a class column"):
        read_gt(gt, "MOT17")
    short = tmp_path / "short.txt"
    short.write_text("1,1,0,0,10,20\n")
    truth = read_gt(short)
    assert truth.dialect == "MOT15" and np.array_equal(truth.scored[1], [[1, 0, 0, 10, 20]])
