"""The one record type every reader returns, so samplers and evaluation never see a layout."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class DatasetError(ValueError):
    """A dataset tree that cannot be read; the message names the offending path."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class TrackletRecord:
    """One tracklet: ordered frame paths, identity (-1 junk, 0 distractor on MARS), camera, tracklet id."""

    frames: tuple[str, ...]
    pid: int
    camid: int
    tid: int


@dataclass
class VideoDataset:
    """A train/query/gallery split; ``notes`` records protocol facts a report should mention.

    ``query_from_test_pool``: the queries were taken out of one test pool (MARS, LS-VID), so protocol
    ``ap3d`` puts them back into the gallery; readers whose query and gallery are disjoint by design
    (DukeMTMC-VideoReID folders, iLIDS-VID/PRID2011 cameras) leave it False and are scored as given.
    """

    name: str
    train: list[TrackletRecord]
    query: list[TrackletRecord]
    gallery: list[TrackletRecord]
    num_train_pids: int
    notes: list[str] = field(default_factory=list)
    query_from_test_pool: bool = False
