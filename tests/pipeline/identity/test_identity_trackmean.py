"""The store keeps each track as the mean of its clips so far; the online matcher still sees each clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.records import TrackletObs, normalise
from streid.pipeline.identity.stage import stage_from_config
from streid.pipeline.identity.trackmean import TrackMeans


def _obs(cam: str, tid: int, v: np.ndarray, t: float = 0.0) -> TrackletObs:
    return TrackletObs(cam, tid, t, t + 1.0, np.asarray(v, np.float32))


def test_fold_is_the_normalised_running_mean_per_track() -> None:
    tm = TrackMeans()
    a1, a2, b1 = np.array([1.0, 0, 0]), np.array([0, 2.0, 0]), np.array([0, 0, 3.0])
    first = tm.fold([_obs("c", 1, a1), _obs("c", 2, b1)])
    assert np.allclose(first[0].embedding, a1) and np.allclose(first[1].embedding, [0, 0, 1])
    (second,) = tm.fold([_obs("c", 1, a2)])  # each clip weighs the same whatever its norm
    assert np.allclose(second.embedding, normalise(np.array([1.0, 1.0, 0.0])))
    (other,) = tm.fold([_obs("d", 1, a2)])  # same track number in another camera: another track
    assert np.allclose(other.embedding, [0, 1, 0])
    assert second.t_start == 0.0 and second.key == ("c", 1)


def test_memory_is_bounded_and_a_forgotten_track_starts_again() -> None:
    tm = TrackMeans(max_tracks=2)
    tm.fold([_obs("c", i, np.eye(3)[i]) for i in range(3)])
    assert list(tm.sums) == [("c", 1), ("c", 2)]
    (again,) = tm.fold([_obs("c", 0, np.eye(3)[1])])
    assert np.allclose(again.embedding, np.eye(3)[1])


def test_the_mean_of_noisy_clips_is_closer_to_the_person_than_one_clip() -> None:
    rng = np.random.default_rng(0)
    people = normalise(rng.normal(size=(20, 32)))
    tm = TrackMeans()
    for _ in range(6):  # six clips per track, each a noisy view of its person
        clips = [p + 0.2 * rng.normal(size=32) for p in people]
        folded = tm.fold([_obs("c", i, v) for i, v in enumerate(clips)])
    one = np.mean([1 - normalise(v) @ p for v, p in zip(clips, people, strict=True)])
    mean = np.mean([1 - o.embedding @ p for o, p in zip(folded, people, strict=True)])
    assert mean < 0.5 * one


@pytest.mark.parametrize("on", [True, False])
def test_the_stage_stores_the_track_mean_and_matches_the_clip(tmp_path: Path, on: bool) -> None:
    stage = stage_from_config(IdentityConfig(camera_centering=False, track_mean=on), tmp_path, None)
    clips = [np.array([1.0, 0.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0, 0.0])]
    for i, v in enumerate(clips):
        stage.assign([_obs("cam1", 3, v, float(i))])
    (row,) = stage.store.tracklets()
    want = normalise(clips[0] + clips[1]) if on else clips[1]
    assert np.allclose(row.embedding, want, atol=1e-6)
    (later,) = stage.assign([_obs("cam2", 9, clips[1], 5.0)])  # the second clip's look, seen again elsewhere
    assert later.distance == pytest.approx(0.0, abs=1e-5)  # the gallery holds that clip itself, not a mean
    stage.close()
