"""Format name -> reader. Every reader takes ``(root, split)``; ``split`` picks one of the random
train/test splits of the small two-camera sets (iLIDS-VID, PRID2011) and must be 0 elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from streid.train.data.duke import read_duke
from streid.train.data.ilids import read_ilids
from streid.train.data.lsvid import read_lsvid
from streid.train.data.mars import read_mars
from streid.train.data.prid import read_prid
from streid.train.data.records import VideoDataset

Reader = Callable[[Path, int], VideoDataset]


def _single(fmt: str, read: Callable[[Path], VideoDataset]) -> Reader:
    """A format with one fixed split: a non-zero ``split`` is a config mistake, not something to ignore."""

    def reader(root: Path, split: int) -> VideoDataset:
        if split != 0:
            raise ValueError(f"data.split={split}: format {fmt!r} has one fixed split (use 0)")
        return read(root)

    return reader


DATASETS: MappingProxyType[str, Reader] = MappingProxyType(
    {
        "mars": _single("mars", lambda root: read_mars(root, "mars")),
        "synthetic": _single("synthetic", lambda root: read_mars(root, "synthetic")),
        "dukevideo": _single("dukevideo", read_duke),
        "lsvid": _single("lsvid", read_lsvid),
        "ilidsvid": lambda root, split: read_ilids(root, split),
        "prid2011": lambda root, split: read_prid(root, split),
    }
)


def read_dataset(fmt: str, root: str | Path, split: int = 0) -> VideoDataset:
    """Read the dataset at ``root`` in layout ``fmt`` (``split``: see the module docstring)."""
    if fmt not in DATASETS:
        raise ValueError(f"unknown dataset format {fmt!r}; known: {sorted(DATASETS)}")
    return DATASETS[fmt](Path(root), split)
