"""PKSampler composition, determinism and exact resume."""

from __future__ import annotations

from collections import Counter

import pytest

from streid.train.data import PKSampler

PIDS = [i // 3 for i in range(30)] + [10]  # 10 identities with 3 tracklets, one with 1


def test_batches_have_p_identities_times_k() -> None:
    s = PKSampler(PIDS, p=4, k=4, seed=1)
    batches = list(s)
    assert len(batches) == len(s) == 2
    for b in batches:
        counts = Counter(PIDS[i] for i in b)
        assert len(counts) == 4 and set(counts.values()) == {4}


def test_deterministic_and_epochs_differ() -> None:
    a, b = PKSampler(PIDS, 4, 2, seed=3), PKSampler(PIDS, 4, 2, seed=3)
    ea, eb = list(a), list(b)
    assert ea == eb
    assert list(a) != ea  # epoch 1 reshuffles
    assert list(PKSampler(PIDS, 4, 2, seed=4)) != ea


def test_resume_mid_epoch_continues_exactly() -> None:
    ref = PKSampler(PIDS, 2, 2, seed=7)
    full = list(ref) + list(ref)
    s = PKSampler(PIDS, 2, 2, seed=7)
    it = iter(s)
    first = [next(it), next(it)]
    state = s.state_dict()
    resumed = PKSampler(PIDS, 2, 2, seed=0)
    resumed.load_state_dict(state)
    rest = list(resumed) + list(resumed)
    assert first + rest == full


def test_resume_from_consumed_count_despite_prefetch() -> None:
    full = list(PKSampler(PIDS, 2, 2, seed=7))
    s = PKSampler(PIDS, 2, 2, seed=7)
    it = iter(s)
    for _ in range(4):  # a loader prefetched 4 batches, training used 1
        next(it)
    resumed = PKSampler(PIDS, 2, 2, seed=7)
    resumed.load_state_dict(s.state_dict(consumed=1))
    assert list(resumed) == full[1:]


def test_too_few_identities() -> None:
    with pytest.raises(ValueError, match="P=20"):
        PKSampler(PIDS, 20, 2)
