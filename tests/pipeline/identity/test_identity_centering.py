"""Camera centering removes a shift every embedding of a camera shares (its light, cast, angle)."""

from __future__ import annotations

import numpy as np

from streid.pipeline.identity.centering import CameraCentering, centre_all
from streid.pipeline.identity.records import TrackletObs, normalise


def _site(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ten people seen by two cameras; each camera adds a strong shift of its own to everyone."""
    rng = np.random.default_rng(seed)
    people = rng.normal(0, 1, (10, 32))
    shift = rng.normal(0, 3, (2, 32))
    emb = np.concatenate([people + shift[0], people + shift[1]]) + rng.normal(0, 0.3, (20, 32))
    return normalise(emb), np.repeat(["a", "b"], 10), np.tile(np.arange(10), 2)


def _separation(emb: np.ndarray) -> float:
    """Median distance of different people (any cameras) minus that of one person across the two cameras:
    what a single gate needs to be positive."""
    d = 1.0 - emb @ emb.T
    pids = np.tile(np.arange(10), 2)
    iu = np.triu_indices(20, 1)
    same = pids[iu[0]] == pids[iu[1]]
    return float(np.median(d[iu][~same]) - np.median(d[iu][same]))


def test_centre_all_makes_cross_camera_matches_findable() -> None:
    emb, cams, _ = _site()
    assert _separation(emb) < 0  # the camera shift swamps who is who: same-camera strangers are closest
    centred = centre_all(emb, cams)
    assert _separation(centred) > 0.3  # measured 0.41 (the mean is shrunk by n / (n + 4))
    assert np.allclose(np.linalg.norm(centred, axis=1), 1.0, atol=1e-5)


def test_online_centering_learns_each_track_once_and_shrinks_early_means() -> None:
    emb, cams, pids = _site()
    c = CameraCentering(prior=4)
    first = TrackletObs("a", 0, 0.0, 1.0, emb[0])
    out = c.centre([first])[0]
    # one tracklet seen: mean = e / (1 + 4), so the centred vector still points mostly along e
    assert float(out.embedding @ emb[0]) > 0.9
    c.centre([first, first])  # updates of one track do not count again
    assert c.counts["a"] == 1
    obs = [TrackletObs(str(cam), int(i), 0.0, 1.0, e) for i, (e, cam) in enumerate(zip(emb, cams, strict=True))]
    centred = np.stack([o.embedding for o in c.centre(obs)])
    assert _separation(centred) > 0.3  # after ten tracklets per camera the online means are good enough
    assert c.mean("nowhere") is None
    del pids
