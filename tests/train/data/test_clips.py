"""Temporal sampling and clip-consistent augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from streid.train.data.clips import (
    MEAN,
    STD,
    ClipAugment,
    dense_clips,
    sample_chunks,
    sample_evenly,
    sample_window,
    shrink,
    to_tensor,
)
from streid.train.data.config import DataConfig


def test_chunks_one_frame_per_chunk() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = sample_chunks(80, 8, rng)
        assert [i // 10 for i in idx] == list(range(8))
    short = sample_chunks(3, 8, rng)
    assert len(short) == 8 and max(short) <= 2 and short == sorted(short)


def test_window_stride_and_evenly_and_dense() -> None:
    idx = sample_window(200, 8, 64, np.random.default_rng(0))
    assert np.all(np.diff(idx) == 8) and idx[-1] < 200
    assert sample_evenly(15, 8) == [0, 2, 4, 6, 8, 10, 12, 14]
    clips = dense_clips(10, 4)
    assert clips == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 9, 9]]


def test_augmentation_is_clip_consistent() -> None:
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 255, (6, 32, 16, 3), dtype=np.uint8)  # every frame different
    outcomes = set()
    for seed in range(30):
        out = ClipAugment(flip=True, crop_pad=0, erasing=0.0)(clip, np.random.default_rng(seed))
        flipped = [np.array_equal(out[i], clip[i, :, ::-1]) for i in range(6)]
        kept = [np.array_equal(out[i], clip[i]) for i in range(6)]
        assert all(flipped) or all(kept)
        outcomes.add(all(flipped))
    assert outcomes == {True, False}
    same = np.stack([clip[0]] * 6)  # identical frames must stay identical under crop + erasing + flip
    for seed in range(10):
        out = ClipAugment(flip=True, crop_pad=4, erasing=1.0)(same, np.random.default_rng(seed))
        assert out.shape == same.shape
        assert all(np.array_equal(out[0], out[i]) for i in range(1, 6))
        assert not np.array_equal(out[0], same[0])


def test_shrink_loses_detail_like_a_far_camera() -> None:
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 255, (3, 128, 64, 3), dtype=np.uint8)  # full of fine detail
    far = shrink(clip, 24)
    assert far.shape == clip.shape and far.dtype == np.uint8
    assert far.std() < 0.5 * clip.std()  # 24 px rows cannot hold 128 rows of detail
    assert abs(float(far.mean()) - float(clip.mean())) < 3  # the colours stay
    assert shrink(clip, 128) is clip and shrink(clip, 200) is clip  # not below the clip's own height: untouched
    flat = np.full((2, 128, 64, 3), 90, np.uint8)
    assert np.array_equal(shrink(flat, 20), flat)


def test_low_res_augmentation_draws_once_per_clip() -> None:
    rng = np.random.default_rng(1)
    clip = np.stack([rng.integers(0, 255, (128, 64, 3), dtype=np.uint8)] * 4)
    seen = set()
    for seed in range(20):
        out = ClipAugment(flip=False, crop_pad=0, erasing=0.0, low_res=0.5, low_res_height=(20, 40))(
            clip, np.random.default_rng(seed))
        assert all(np.array_equal(out[0], out[i]) for i in range(1, 4))  # every frame shrunk alike
        seen.add(bool(np.array_equal(out, clip)))
    assert seen == {True, False}  # some clips shrunk, some not
    never = ClipAugment(flip=False, crop_pad=0, erasing=0.0)
    assert all(np.array_equal(never(clip, np.random.default_rng(s)), clip) for s in range(5))


@pytest.mark.parametrize("heights", [(1, 20), (40, 20)])
def test_low_res_heights_are_checked(heights: tuple[int, int]) -> None:
    with pytest.raises(ValidationError, match="low_res_height"):
        DataConfig(low_res_height=heights)


def test_to_tensor_normalises() -> None:
    clip = np.zeros((2, 4, 3, 3), dtype=np.uint8)
    clip[..., 0] = 255
    t = to_tensor(clip)
    assert t.shape == (2, 3, 4, 3)
    assert torch.allclose(t[:, 0], torch.tensor((1 - MEAN[0]) / STD[0]))
    assert torch.allclose(t[:, 1], torch.tensor(-MEAN[1] / STD[1]))
