"""The appearance guard undoes a tracker's swap of two crossing people and nothing else."""

from __future__ import annotations

import numpy as np

from streid.pipeline.appearance import AppearanceGuard, describe, distance

RED, BLUE, GREEN = (40, 40, 200), (200, 60, 30), (40, 180, 40)  # BGR shirts
TROUSERS = (50, 50, 50)


def scene(people: list[tuple[float, tuple[int, int, int]]]) -> tuple[np.ndarray, np.ndarray]:
    """A grey frame with people (x of the box's left edge, shirt colour): 30 x 80 boxes, shirt over trousers."""
    image = np.full((160, 400, 3), 128, np.uint8)
    boxes = []
    for x, shirt in people:
        x0 = int(x)
        image[40:80, x0:x0 + 30] = shirt
        image[80:120, x0:x0 + 30] = TROUSERS
        boxes.append([x0, 40, x0 + 30, 120])
    return image, np.array(boxes, np.float32).reshape(-1, 4)


def test_descriptor_tells_shirts_apart() -> None:
    image, boxes = scene([(50, RED), (150, BLUE), (250, RED)])
    red, blue, red2 = (describe(image, b) for b in boxes)
    assert distance(red, red2) < 0.05 and distance(red, blue) > 0.45  # shirts disjoint, trousers the same
    assert describe(image, np.array([0, 0, 4, 10], np.float32)) is None  # too small to say anything


def test_a_swap_after_crossing_is_undone() -> None:
    guard = AppearanceGuard()
    ids_red = []
    for t in range(40):
        red_x, blue_x = 40 + 6 * t, 280 - 6 * t  # they cross around t = 20
        image, boxes = scene([(red_x, RED), (blue_x, BLUE)])
        raw = np.array([0, 1]) if t < 20 else np.array([1, 0])  # the tracker swaps their ids at the crossing
        ids = guard.assign(raw, boxes, image)
        ids_red.append(int(ids[0]))
    assert ids_red[:20] == [1] * 20
    assert ids_red[-15:] == [1] * 15, ids_red  # the red person keeps id 1 once they are apart again
    assert guard.swaps == 1


def test_without_the_crossing_nothing_is_swapped() -> None:
    """Two people who never touched are never swapped, however their looks compare."""
    guard = AppearanceGuard()
    for t in range(30):
        image, boxes = scene([(20 + t, RED), (300 - t, BLUE)])
        guard.assign(np.array([0, 1]), boxes, image)
    assert guard.swaps == 0


def test_a_look_that_drifts_keeps_its_id() -> None:
    """A person whose colours change (coloured light, a jacket taken off) with no one near keeps the id."""
    guard = AppearanceGuard()
    for t in range(30):
        image, boxes = scene([(100 + 2 * t, RED if t < 15 else GREEN)])
        assert guard.assign(np.array([0]), boxes, image).tolist() == [1]
    assert guard.swaps == 0


def test_camera_trackers_with_the_guard_number_from_one_and_stay_unique_across_resets() -> None:
    from streid.pipeline.tracker import CameraTrackers
    from streid.records import Detections

    trackers = CameraTrackers("bytetrack", params={"minimum_consecutive_frames": 1}, appearance={})
    seen = set()
    for t in range(6):
        image, boxes = scene([(40 + 3 * t, RED), (250 - 3 * t, BLUE)])
        out = trackers.update("a", Detections(boxes, np.full(2, 0.9, np.float32), np.zeros(2, np.int64)),
                              image=image)
        seen |= set(out.tracker_id.tolist())
    assert seen == {1, 2}
    trackers.reset("a")
    image, boxes = scene([(40, RED)])
    after = set()
    for _ in range(3):
        out = trackers.update("a", Detections(boxes, np.full(1, 0.9, np.float32), np.zeros(1, np.int64)),
                              image=image)
        after |= set(out.tracker_id.tolist())
    assert after == {3}
