"""MARS query/gallery conventions; published numbers mix them, so every result names the one used.

- ``torchreid``: gallery = test tracklets that are not queries (1,980 queries / 9,330 gallery on MARS);
  junk (-1) excluded at scoring time.
- ``ap3d``: as AP3D/PSTA, the queries are appended to the gallery (same-pid-same-camid exclusion then
  removes each query's own copy).
"""

from __future__ import annotations

from streid.train.data.records import TrackletRecord, VideoDataset

PROTOCOLS = ("torchreid", "ap3d")


def protocol_indices(dataset: VideoDataset, protocol: str) -> tuple[list[TrackletRecord], list[TrackletRecord]]:
    """The (query, gallery) tracklet lists a protocol scores."""
    if protocol == "torchreid":
        return list(dataset.query), list(dataset.gallery)
    if protocol == "ap3d":
        return list(dataset.query), list(dataset.gallery) + list(dataset.query)
    raise ValueError(f"unknown protocol {protocol!r}; known: {list(PROTOCOLS)}")
