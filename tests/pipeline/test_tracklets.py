"""The tracklet buffer's quality gate, time spread, emission and finalisation on hand-made boxes."""

from __future__ import annotations

import numpy as np
import pytest

from streid.pipeline.tracklets import GateParams, TrackletBuffer, max_ioa, quality_mask, spread_indices, thin
from streid.records import Detections, Frame, TrackletState

W, H = 320, 240


def frame(i: int) -> Frame:
    image = np.full((H, W, 3), i % 256, np.uint8)
    return Frame("cam", i / 25, i, image)


def dets(boxes: list[list[float]], ids: list[int], conf: float = 0.9) -> Detections:
    n = len(boxes)
    return Detections(np.array(boxes, np.float32).reshape(n, 4), np.full(n, conf), np.zeros(n), np.array(ids))


GOOD = [100, 50, 140, 150]  # 40x100, inside, person-like


@pytest.mark.parametrize(
    ("box", "conf", "ok"),
    [
        (GOOD, 0.9, True),
        ([100, 50, 110, 150], 0.9, False),  # too narrow (w=10)
        ([100, 50, 140, 70], 0.9, False),  # too short (h=20)
        ([100, 50, 200, 150], 0.9, False),  # aspect 1.0 ... wider than tall: rejected by max_aspect below
        (GOOD, 0.1, False),  # not confident
        ([0, 50, 40, 150], 0.9, False),  # cut by the left edge
        ([290, 150, 320, 240], 0.9, False),  # cut by the right/bottom edge
    ],
)
def test_gate_single_box(box: list[float], conf: float, ok: bool) -> None:
    gate = GateParams(min_height=48, min_width=16, min_aspect=0.2, max_aspect=0.9, min_conf=0.3, edge_margin=2)
    assert quality_mask(dets([box], [1], conf), W, H, gate).tolist() == [ok]


def test_gate_rejects_overlapped_boxes_only() -> None:
    boxes = [GOOD, [120, 60, 160, 160], [250, 50, 290, 150]]  # first two overlap half, third is alone
    ioa = max_ioa(np.array(boxes, np.float32))
    assert ioa[0] == pytest.approx(0.45, abs=0.01) and ioa[2] == 0.0
    assert quality_mask(dets(boxes, [1, 2, 3]), W, H, GateParams()).tolist() == [False, False, True]


def test_a_pair_of_overlapping_boxes_is_rejected_too() -> None:
    """Two people, one behind the other: neither crop is clean (mutation testing found n < 2 vs n < 3 untested)."""
    boxes = [GOOD, [120, 60, 160, 160]]
    assert max_ioa(np.array(boxes, np.float32)).tolist() == pytest.approx([0.45, 0.45], abs=0.01)
    assert quality_mask(dets(boxes, [1, 2]), W, H, GateParams()).tolist() == [False, False]
    assert max_ioa(np.array([GOOD], np.float32)).tolist() == [0.0]


def test_spread_and_thin_keep_crops_spread_over_time() -> None:
    assert spread_indices(10, 4).tolist() == [0, 3, 6, 9]
    frames = [0, 1, 2, 3, 4, 5, 50, 100]
    kept = [frames[k] for k in thin(frames, 4)]
    assert kept[0] == 0 and kept[-1] == 100 and 50 in kept and len(kept) == 4


def test_buffer_emits_start_updates_and_end() -> None:
    buf = TrackletBuffer("cam", seq_len=4, crop_height=32, crop_width=16, max_crops=6, update_every=5,
                         lost_frames=3)
    states = []
    for i in range(20):
        box = [100 + i, 50, 140 + i, 150]
        # frames 2 and 3 have a bad (low confidence) box: no crop kept, the track lives on
        out = buf.update(frame(i), dets([box], [7], conf=0.1 if i in (2, 3) else 0.9))
        states += [(i, t.state) for t in out]
        for t in out:
            assert t.crops.shape == (4, 32, 16, 3) and t.crops.dtype == np.uint8
            assert np.all(np.diff(t.frames) > 0)
            assert 2 not in t.frames and 3 not in t.frames
    assert states[0] == (5, TrackletState.START)  # 4 good crops at frames 0, 1, 4, 5
    assert states[1:] == [(10, TrackletState.UPDATE), (15, TrackletState.UPDATE)]
    assert len(buf.tracks[7].frames) == 6  # memory bound
    last = None
    for i in range(20, 24):  # the track is gone: ended after lost_frames
        out = buf.update(frame(i), dets([], []))
        last = out or last
    assert last is not None and last[0].state == TrackletState.END and last[0].last_frame == 19
    assert last[0].frames[-1] == 19 and last[0].frames[0] == 0  # spread over the whole life
    assert buf.tracks == {}


def test_tracklets_carry_the_tracks_sideways_walk_since_it_began() -> None:
    """``dx``: box centre now minus at the track's first detection (a low-score one too), share of the width."""
    buf = TrackletBuffer("cam", seq_len=2, crop_height=16, crop_width=8, update_every=1, lost_frames=2)
    out = []
    for i in range(6):  # 12 px a frame to the left; the first box is too faint for a crop but starts the track
        box = [250 - 12 * i, 50, 290 - 12 * i, 150]
        out += buf.update(frame(i), dets([box], [4], conf=0.1 if i == 0 else 0.9))
    assert [t.dx for t in out] == pytest.approx([-24 / W, -36 / W, -48 / W, -60 / W])


def test_short_tracks_emit_nothing_and_flush_ends_started_tracks() -> None:
    buf = TrackletBuffer("cam", seq_len=4, crop_height=16, crop_width=8, lost_frames=100)
    for i in range(5):
        boxes = [GOOD, [250, 50, 290, 150]] if i < 4 else [GOOD]
        buf.update(frame(i), dets(boxes, [1, 2][: len(boxes)]))
    ends = buf.flush()
    assert [(t.track_id, t.state) for t in ends] == [(1, TrackletState.END), (2, TrackletState.END)]
    buf.update(frame(0), dets([GOOD], [3]))
    assert buf.flush() == []  # never reached L crops: no start, so no end either


def test_a_track_cut_by_the_edge_all_its_life_still_ends_with_one_tracklet() -> None:
    """Someone walking close past the camera: the box touches the top edge in every frame, so no crop passes the
    gate. With the edge fallback the track ends with one tracklet of its 2 good crops plus edge-cut ones spread
    over its life; without it (or when even all crops are fewer than L) nothing comes of the track."""
    def walk(buf: TrackletBuffer, n: int) -> list:
        out = []
        for i in range(n):
            box = [100 + 3 * i, 0 if i not in (4, 5) else 10, 140 + 3 * i, 150]  # frames 4 and 5: clear of the edge
            out += buf.update(frame(i), dets([box], [5]))
        return out + buf.flush()

    ends = walk(TrackletBuffer("cam", seq_len=4, crop_height=16, crop_width=8, lost_frames=100, edge_fallback=True), 12)
    assert [(t.track_id, t.state) for t in ends] == [(5, TrackletState.END)]
    t = ends[0]
    assert t.crops.shape == (4, 16, 8, 3) and np.all(np.diff(t.frames) > 0)
    assert {4, 5} <= set(t.frames.tolist()) and t.frames[0] == 0 and t.frames[-1] == 11  # good ones, then spread
    assert (t.first_frame, t.last_frame) == (0, 11)
    assert walk(TrackletBuffer("cam", seq_len=4, crop_height=16, crop_width=8), 12) == []  # off by default
    assert walk(TrackletBuffer("cam", seq_len=4, crop_height=16, crop_width=8, edge_fallback=True), 3) == []  # < L
    # a cut box that fails another criterion too (too short here) is no fallback crop
    buf = TrackletBuffer("cam", seq_len=4, crop_height=16, crop_width=8, edge_fallback=True)
    for i in range(10):
        buf.update(frame(i), dets([[100, 0, 140, 30]], [6]))
    assert buf.flush() == []


def test_a_track_that_reaches_l_good_crops_starts_normally_and_drops_its_cut_crops() -> None:
    buf = TrackletBuffer("cam", seq_len=4, crop_height=16, crop_width=8, lost_frames=100, edge_fallback=True)
    out = []
    for i in range(10):
        out += buf.update(frame(i), dets([[100, 0 if i < 3 else 10, 140, 150]], [8]))
    assert [t.state for t in out] == [TrackletState.START] and out[0].frames.tolist() == [3, 4, 5, 6]
    assert buf.tracks[8].cut == []
    assert set(buf.flush()[0].frames.tolist()) <= set(range(3, 10))  # no edge-cut crop in any tracklet


def test_camera_trackers_keep_streams_apart_and_ids_unique_across_resets() -> None:
    from streid.pipeline.tracker import CameraTrackers

    trackers = CameraTrackers("bytetrack", params={"minimum_consecutive_frames": 1})
    seen: dict[str, set[int]] = {"a": set(), "b": set()}
    for i in range(5):
        box = [100 + 2 * i, 50, 140 + 2 * i, 150]
        for cam in ("a", "b"):
            out = trackers.update(cam, dets([box], [0], conf=0.95))
            seen[cam] |= set(out.tracker_id.tolist())
    assert seen["a"] == seen["b"] and len(seen["a"]) == 1  # same boxes in two cameras: two independent trackers
    trackers.reset("a")
    after = set()
    for _ in range(5):
        after |= set(trackers.update("a", dets([GOOD], [0], conf=0.95)).tracker_id.tolist())
    assert after and after.isdisjoint(seen["a"])


def test_aspect_crop_keeps_a_person_proportions_and_pads_at_the_border() -> None:
    """``aspect`` widens a thin box to the crop's aspect (+10 %): a 20x80 bar fills ~1/2.2 of the crop's width,
    where ``stretch`` would fill it all; a box at the frame's edge repeats the border instead of failing."""
    from streid.pipeline.tracklets import crop

    image = np.zeros((200, 200, 3), np.uint8)
    image[60:140, 90:110] = 255  # a 20 x 80 "person"
    box = np.array([90, 60, 110, 140], np.float32)
    stretched = crop(image, box, 64, 32, "stretch")
    kept = crop(image, box, 64, 32, "aspect")
    assert stretched.mean() > 250  # the whole crop is the bar
    cols = (kept[32] > 127).all(axis=1)
    assert 0.3 < cols.mean() < 0.6, cols.mean()  # 20 px of a 44 px wide window
    rows = (kept[:, 16] > 127).all(axis=1)
    assert 0.85 < rows.mean() < 0.95  # 80 of 88 px high
    edge = crop(image, np.array([0, 0, 10, 80], np.float32), 64, 32, "aspect")
    assert edge.shape == (64, 32, 3)
    with pytest.raises(ValueError, match="crop_mode"):
        TrackletBuffer("cam", crop_mode="squash")


def test_a_camera_tracks_the_same_whatever_other_cameras_see() -> None:
    """Camera b's tracks are those it gets alone, however busy camera a is: trackers share no state."""
    from streid.pipeline.tracker import CameraTrackers

    def boxes_b(i: int) -> Detections:
        return dets([[200 + 2 * i, 60, 240 + 2 * i, 160]], [0], conf=0.95)

    def boxes_a(i: int) -> Detections:  # two people walking the other way, one near b's person
        return dets([[190 - 2 * i, 55, 230 - 2 * i, 155], [40 + i, 50, 80 + i, 150]], [0, 0], conf=0.95)

    alone = CameraTrackers("bytetrack", params={"minimum_consecutive_frames": 1})
    reference = [alone.update("b", boxes_b(i)) for i in range(8)]
    shared = CameraTrackers("bytetrack", params={"minimum_consecutive_frames": 1})
    for i in range(8):
        out_a = shared.update("a", boxes_a(i))
        out_b = shared.update("b", boxes_b(i))
        assert out_b.tracker_id.tolist() == reference[i].tracker_id.tolist(), i
        np.testing.assert_allclose(out_b.xyxy, reference[i].xyxy)
    assert len(out_a) == 2 and len(set(out_a.tracker_id.tolist())) == 2  # camera a's two people tracked meanwhile


def test_track_score_floor_hides_a_background_track_bytetrack_keeps_alive() -> None:
    """One confident box starts a track that ByteTrack then feeds on low-score boxes (a dark edge the detector
    half-believes): with the floor it disappears once its mean score falls under it; the person's track stays."""
    from streid.pipeline.tracker import CameraTrackers

    params = {"track_activation_threshold": 0.43, "high_conf_det_threshold": 0.43, "minimum_consecutive_frames": 1}

    def frames(trackers: CameraTrackers) -> dict[int, int]:
        shown: dict[int, int] = {}
        for i in range(30):
            person = [100 + 3 * i, 50, 140 + 3 * i, 150]
            edge = [620, 0, 635, 55]
            conf = 0.5 if i < 2 else 0.2  # one start, then the low scores ByteTrack's second stage accepts
            d = Detections(np.array([person, edge], np.float32), np.array([0.9, conf], np.float32),
                           np.zeros(2, np.int64))
            out = trackers.update("cam", d)
            for tid, box in zip(out.tracker_id.tolist(), out.xyxy, strict=True):
                key = 1 if box[0] > 600 else 0
                shown[key] = shown.get(key, 0) + 1
                assert tid >= 1
        return shown

    plain = frames(CameraTrackers("bytetrack", params=params))
    assert plain[1] >= 28 and plain[0] == plain[1]  # the premise: without a floor the edge is a whole-clip track
    floored = CameraTrackers("bytetrack", params=params, min_track_score=0.43)
    shown = frames(floored)
    assert shown[0] == plain[0] and shown.get(1, 0) <= 2, shown  # means 0.5, then 0.35: hidden from there on
    assert floored.hidden["cam"] == plain[1] - shown.get(1, 0)
    floored.reset("cam")
    assert "cam" not in floored.scores  # a reconnect starts fresh tracks with fresh means


def test_funnel_names_the_track_score_floor_when_it_hid_every_track() -> None:
    from streid.pipeline.funnel import Funnel
    from streid.pipeline.tracklets import GateParams

    funnel = Funnel()
    for _ in range(3):
        funnel.see(dets([GOOD], [0], conf=0.3), Detections.empty(), {})
    gate = GateParams()
    assert "params.track_activation_threshold" in funnel.explain("c", gate, 8)  # nothing tracked at all
    line = funnel.explain("c", gate, 8, hidden=3, floor=0.433)
    assert "mean score stayed under 0.43" in line and "pipeline.tracker.min_track_score" in line


def test_tracker_state_estimator_and_iou_by_name() -> None:
    """``params.state_estimator`` / ``params.iou`` name the trackers' classes; each camera's tracker gets its own
    IoU object; an unknown name or a name for a numeric key is a config error naming the key."""
    from trackers.utils.iou import GIoU
    from trackers.utils.state_representations import XCYCSRStateEstimator

    from streid.pipeline.config import PipelineSection
    from streid.pipeline.tracker import CameraTrackers, constructor_kwargs

    kw = constructor_kwargs({"state_estimator": "xcycsr", "iou": "giou", "lost_track_buffer": 10})
    assert kw["state_estimator_class"] is XCYCSRStateEstimator and isinstance(kw["iou"], GIoU)
    assert kw["lost_track_buffer"] == 10 and "state_estimator" not in kw
    trackers = CameraTrackers("bytetrack", params={"state_estimator": "xcycsr", "iou": "giou",
                                                   "minimum_consecutive_frames": 1})
    for i in range(4):
        for cam in ("a", "b"):
            out = trackers.update(cam, dets([[100 + 3 * i, 50, 140 + 3 * i, 150]], [0], conf=0.95))
    assert len(out) == 1 and out.tracker_id.tolist() == [1]
    assert trackers.trackers["a"].iou is not trackers.trackers["b"].iou
    with pytest.raises(ValueError, match=r"tracker\.params\.iou 'jaccard': one of iou, giou"):
        CameraTrackers("bytetrack", params={"iou": "jaccard"})
    with pytest.raises(ValueError, match="lost_track_buffer: 'long' is not a number"):
        PipelineSection.model_validate({"cameras": [{"name": "c", "kind": "test"}],
                                        "tracker": {"params": {"lost_track_buffer": "long"}}})


def test_named_tracker_params_match_the_trackers_tables() -> None:
    from streid.pipeline.config import NAMED_TRACKER_PARAMS
    from streid.pipeline.tracker import iou_kinds, state_estimators

    assert {"state_estimator": tuple(state_estimators()), "iou": tuple(iou_kinds())} == NAMED_TRACKER_PARAMS


def test_track_score_floor_forgets_ended_tracks() -> None:
    """A day of short tracks must not grow the floor's per-track sums without bound."""
    from streid.pipeline.tracker import PRUNE_EVERY, CameraTrackers

    trackers = CameraTrackers("bytetrack", lost_track_buffer=5, min_track_score=0.3,
                              params={"minimum_consecutive_frames": 1})
    for i in range(4 * PRUNE_EVERY):  # a new person every 16 frames, somewhere else, gone after 8
        k = i // 16
        x, y = 20 + (k * 137) % 1500, 50 + (k * 71) % 700
        box = [x + 2 * (i % 16), y, x + 40 + 2 * (i % 16), y + 100]
        trackers.update("cam", dets([box], [0], conf=0.9) if i % 16 < 8 else Detections.empty())
    assert trackers.last_id["cam"] > 50  # many tracks came and went
    assert len(trackers.scores["cam"]) < 50, len(trackers.scores["cam"])
