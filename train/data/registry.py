"""Format name -> reader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from streid.train.data.duke import read_duke
from streid.train.data.ilids import read_ilids
from streid.train.data.mars import read_mars
from streid.train.data.records import VideoDataset

DATASETS: MappingProxyType[str, Callable[[Path], VideoDataset]] = MappingProxyType(
    {
        "mars": lambda root: read_mars(root, "mars"),
        "synthetic": lambda root: read_mars(root, "synthetic"),
        "dukevideo": lambda root: read_duke(root),
        "ilidsvid": lambda root: read_ilids(root),
    }
)


def read_dataset(fmt: str, root: str | Path) -> VideoDataset:
    """Read the dataset at ``root`` in layout ``fmt``."""
    if fmt not in DATASETS:
        raise ValueError(f"unknown dataset format {fmt!r}; known: {sorted(DATASETS)}")
    return DATASETS[fmt](Path(root))
