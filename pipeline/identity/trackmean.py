"""One embedding per local track from all its tracklets: the running mean of every clip the track sent so far.

A track emits a tracklet at its start, every ``update_every`` frames and at its end, each an L-frame clip spread
over the track's life up to then. The store keeps one embedding per track and the offline clustering compares
those, so the store gets the normalised mean of the track's clips so far: several clips average out one bad crop,
a half-hidden moment or a turn of the body (video re-id evaluates a tracklet by averaging all its clips for the
same reason). The online matcher still gets each clip as it is: its gallery keeps several different-looking
exemplars per identity, which means would make alike. pipeline/identity/README.md has the figures.

Memory: one vector per track for the last ``max_tracks`` tracks (LRU); a track forgotten and seen again starts a
new mean, which is what happens after a restart of the process too.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from streid.pipeline.identity.records import TrackletObs, normalise

if TYPE_CHECKING:
    from streid.pipeline.identity.centering import CameraCentering

Key = tuple[str, int]


class TrackMeans:
    """``fold(obs)``: each observation with its track's mean embedding so far (its own clip included)."""

    def __init__(self, max_tracks: int = 4096) -> None:
        self.max_tracks = max_tracks
        self.sums: OrderedDict[Key, np.ndarray] = OrderedDict()

    def fold(self, obs: list[TrackletObs]) -> list[TrackletObs]:
        out = []
        for o in obs:
            total = self.sums.get(o.key)
            e = normalise(o.embedding)
            total = e.copy() if total is None else total + e
            self.sums[o.key] = total
            self.sums.move_to_end(o.key)
            out.append(replace(o, embedding=normalise(total)))
        while len(self.sums) > self.max_tracks:
            self.sums.popitem(last=False)
        return out

    def stored(self, raw: list[TrackletObs], centering: CameraCentering | None = None) -> list[TrackletObs]:
        """What the store keeps for these clips: each one's track mean (from the ``raw``, uncentred embeddings),
        centred like the clips the matcher gets. Call it after ``centering`` has seen the clips themselves: their
        tracks are known then, so centring the means moves no camera mean."""
        means = self.fold(raw)
        return centering.centre(means) if centering is not None else means
