"""Query/gallery conventions; published MARS numbers mix them, so every result names the one used.

- ``torchreid``: gallery = test tracklets that are not queries (1,980 queries / 9,330 gallery on MARS);
  junk (-1) excluded at scoring time.
- ``ap3d``: as AP3D/PSTA, the queries are appended to the gallery (same-pid-same-camid exclusion then
  removes each query's own copy).

The difference only exists where the reader took the queries out of one test pool (MARS, the synthetic
world, LS-VID: ``VideoDataset.query_from_test_pool``). Elsewhere (DukeMTMC-VideoReID, iLIDS-VID, PRID2011)
query and gallery come from the reader as given under either name: appending cam-A queries to a cam-B
gallery would add other identities' queries as distractors and change the numbers.
"""

from __future__ import annotations

from streid.train.data.records import TrackletRecord, VideoDataset

PROTOCOLS = ("torchreid", "ap3d")


def protocol_indices(dataset: VideoDataset, protocol: str) -> tuple[list[TrackletRecord], list[TrackletRecord]]:
    """The (query, gallery) tracklet lists a protocol scores."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {list(PROTOCOLS)}")
    if protocol == "ap3d" and dataset.query_from_test_pool:
        return list(dataset.query), list(dataset.gallery) + list(dataset.query)
    return list(dataset.query), list(dataset.gallery)
