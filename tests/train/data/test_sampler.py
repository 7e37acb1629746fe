"""PKSampler composition, determinism and exact resume; hard identities (look-alikes in one batch)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from streid.train.data import PKSampler
from streid.train.data.sampler import nearest_identities

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


TWINS = [i // 2 for i in range(2 * 40)]  # 40 identities, 2 tracklets each; 2j and 2j+1 are look-alikes


def twin_weights() -> np.ndarray:
    w = np.random.default_rng(0).normal(size=(40, 16))
    w[1::2] = w[0::2] + 0.05 * np.random.default_rng(1).normal(size=(20, 16))
    return w


def twin_share(batches: list[list[int]]) -> float:
    together = total = 0
    for b in batches:
        ids = {TWINS[i] for i in b}
        together += sum((pid ^ 1) in ids for pid in ids)
        total += len(ids)
    return together / total


def test_nearest_identities_by_classifier_cosine() -> None:
    nearest = nearest_identities(twin_weights())
    assert nearest == {pid: pid ^ 1 for pid in range(40)}
    scaled = twin_weights() * np.arange(1, 41)[:, None]  # cosine: a row's length does not matter
    assert nearest_identities(scaled) == nearest
    assert nearest_identities(twin_weights()[:4], pids=[7, 8, 9, 10]) == {7: 8, 8: 7, 9: 10, 10: 9}


def test_hard_identities_put_look_alikes_in_one_batch() -> None:
    plain, hard = PKSampler(TWINS, 8, 2, seed=5), PKSampler(TWINS, 8, 2, seed=5, hard_share=0.5)
    assert hard._batches(0) == plain._batches(0)  # no neighbour table set: plain PK
    hard.set_neighbours(nearest_identities(twin_weights()))
    batches = list(hard)
    assert len(batches) == len(plain) == 5
    for b in batches:
        counts = Counter(TWINS[i] for i in b)
        assert len(counts) == 8 and set(counts.values()) == {2}
    # measured: 0.2 of identities meet their twin in a plain batch, 0.95 with half the batch chosen as neighbours
    assert twin_share(list(plain)) < 0.4 < 0.9 < twin_share(batches)
    again = PKSampler(TWINS, 8, 2, seed=5, hard_share=0.5)
    again.set_neighbours(nearest_identities(twin_weights()))
    assert list(again) == batches  # deterministic from (seed, epoch, table): a resumed run draws the same
    with pytest.raises(ValueError, match="hard_share"):
        PKSampler(TWINS, 8, 2, hard_share=1.0)


def test_hard_identities_need_a_classifier() -> None:
    from torch import nn

    from streid.train.run import classifier_weight

    model = nn.Module()
    model.classifier = nn.Linear(16, 40, bias=False)
    assert classifier_weight(model).shape == (40, 16)
    with pytest.raises(ValueError, match=r"data\.hard_identities"):
        classifier_weight(nn.Sequential(nn.Linear(16, 40)))
