"""Map work over processes (``run.workers``); each worker builds the World once and reuses it.

Results come back in submission order and every item seeds itself from (seed, item), so the output
does not depend on the number of workers.
"""

from __future__ import annotations

import functools
import json
import multiprocessing as mp
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from streid.train.synth.config import SynthConfig
from streid.train.synth.world import World

T = TypeVar("T")
R = TypeVar("R")


@functools.lru_cache(maxsize=2)
def _worker_world(cfg_json: str, seed: int) -> World:
    """The World of a worker process (cached: backgrounds and sprites are built once per worker)."""
    return World(SynthConfig.model_validate(json.loads(cfg_json)), seed)


def _call(job: tuple[Callable[[World, Any], Any], str, int, Any]) -> Any:
    fn, cfg_json, seed, item = job
    return fn(_worker_world(cfg_json, seed), item)


def world_map(
    world: World, fn: Callable[[World, T], R], items: Iterable[T], workers: int, chunksize: int = 1
) -> Iterator[R]:
    """``fn(world, item)`` for each item, in order; ``workers`` <= 1 runs in this process."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield fn(world, item)
        return
    cfg_json = json.dumps(world.cfg.model_dump(mode="json"), sort_keys=True)
    # forkserver, not fork: by the time a later part runs, this process may hold GStreamer threads, and
    # forking a threaded process can deadlock; the fork server is a clean process with our modules loaded.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["streid.train.synth.reid_writer", "streid.train.synth.scene_writer"])
    with ctx.Pool(workers) as pool:
        yield from pool.imap(_call, [(fn, cfg_json, world.seed, item) for item in items], chunksize=chunksize)
