"""Format name -> reader. Every reader takes ``(root, split)``; ``split`` picks one of the random
train/test splits of the small two-camera sets (iLIDS-VID, PRID2011) and must be 0 elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from streid.train.data.duke import read_duke
from streid.train.data.ilids import read_ilids
from streid.train.data.lsvid import read_lsvid
from streid.train.data.mars import read_mars
from streid.train.data.prid import read_prid
from streid.train.data.records import TrackletRecord, VideoDataset

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


def join_train(base: VideoDataset, extras: list[VideoDataset]) -> VideoDataset:
    """``base`` with the training tracklets of ``extras`` added, as fast-reid trains on several sets at once.

    Each extra set's identities and cameras are numbered after the ones before it, so two sets' person 0 stay two
    classes; the test splits are ``base``'s alone, so evaluation still scores the one set the config names.
    """
    train, pids, cams = list(base.train), base.num_train_pids, max((r.camid for r in base.train), default=-1) + 1
    notes = list(base.notes)
    for ds in extras:
        train += [TrackletRecord(r.frames, r.pid + pids, r.camid + cams, r.tid) for r in ds.train]
        notes.append(f"training also on {ds.name}'s train split ({ds.num_train_pids} identities, {len(ds.train)} "
                     f"tracklets)")
        pids += ds.num_train_pids
        cams += max((r.camid for r in ds.train), default=-1) + 1
    return replace(base, train=train, num_train_pids=pids, notes=notes)


def read_training_sets(fmt: str, root: str | Path, extra: list[str], split: int = 0) -> VideoDataset:
    """:func:`read_dataset` of ``root``, joined with the train splits of the ``extra`` roots (``data.extra_train``)."""
    base = read_dataset(fmt, root, split)
    return join_train(base, [replace(read_dataset(fmt, r, split), name=str(r)) for r in extra]) if extra else base
