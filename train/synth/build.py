"""Write the synthetic world's outputs into one folder, part by part, safely and resumably.

Each part is built in ``DIR/<part>.tmp`` and renamed to ``DIR/<part>`` when complete; then
``DIR/.done/<part>`` records the config fingerprint. A re-run skips parts whose marker matches and
redoes the others from scratch, so an interrupted run never leaves a half-written part under its
final name. ``DIR/synth.json`` holds the fingerprint and the config; a folder made with another
config or seed is refused unless ``overwrite`` is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from streid.config import ConfigError
from streid.train.synth.config import SynthConfig
from streid.train.synth.world import World

PARTS = ("reid", "scenes", "detection", "preview")
FORMAT_VERSION = 2  # bump when the renderer changes what a config produces
MANIFEST = "synth.json"
Progress = Callable[[str, int], Callable[[int], None]]  # (part, total) -> advance(n)


def fingerprint(cfg: SynthConfig, seed: int) -> str:
    blob = json.dumps({"synth": cfg.model_dump(mode="json"), "seed": seed, "format": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _check_folder(out: Path, print_: str, overwrite: bool) -> None:
    """Refuse a folder that holds another world (or anything else) unless told to overwrite."""
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            found = json.loads(manifest.read_text(encoding="utf-8")).get("fingerprint")
        except json.JSONDecodeError:
            found = None
        if found == print_:
            return
        if not overwrite:
            raise ConfigError(
                manifest,
                "synth",
                f"folder was written with another config or seed (fingerprint "
                f"{found}, this run {print_}); use --overwrite or another --out",
            )
    elif out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(
            out, "--out", "folder is not empty and holds no synth.json; use an empty folder or --overwrite"
        )
    for name in (*PARTS, ".done"):
        for path in (out / name, out / f"{name}.tmp"):
            if path.is_dir():
                shutil.rmtree(path)


def part_total(world: World, part: str) -> int:
    """Progress units of one part (tracklets, frames, images, rows + clip frames)."""
    from streid.train.synth.reid_writer import plan_tracklets

    sc = world.cfg.scenes
    frames = round(sc.duration_s * sc.fps)
    if part == "reid":
        return len(plan_tracklets(world))
    if part == "scenes":
        return frames * sc.cameras
    if part == "detection":
        from streid.train.synth.detection_writer import plan_frames

        return len(plan_frames(world))
    clip = max(1, min(round(world.cfg.preview.clip_s * sc.fps), frames))
    return min(len(world.split[1]), world.cfg.preview.identities) + clip


def _writer(part: str) -> Callable[..., dict[str, Any]]:
    if part == "reid":
        from streid.train.synth.reid_writer import write_reid

        return write_reid
    if part == "scenes":
        from streid.train.synth.scene_writer import write_scenes

        return write_scenes
    if part == "detection":
        from streid.train.synth.detection_writer import write_detection

        return write_detection
    from streid.train.synth.preview import write_preview

    return write_preview


def synthesize(
    cfg: SynthConfig,
    seed: int,
    out: str | Path,
    parts: Iterable[str] = PARTS,
    workers: int = 0,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """Write the requested ``parts`` of the world into ``out``; returns a per-part summary."""
    parts = list(parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ConfigError("--only", ",".join(unknown), f"unknown part (expected some of: {', '.join(PARTS)})")
    out = Path(out)
    stamp = fingerprint(cfg, seed)
    _check_folder(out, stamp, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    (out / ".done").mkdir(exist_ok=True)
    _write_atomic(
        out / MANIFEST,
        json.dumps(
            {"fingerprint": stamp, "seed": seed, "format": FORMAT_VERSION, "synth": cfg.model_dump(mode="json")},
            indent=2,
        )
        + "\n",
    )
    world = World(cfg, seed)
    summary: dict[str, dict[str, Any]] = {}
    for part in (p for p in PARTS if p in parts):
        marker, final, tmp = out / ".done" / part, out / part, out / f"{part}.tmp"
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == stamp and final.is_dir():
            summary[part] = {"status": "skipped (already complete)"}
            continue
        for stale in (tmp, final):
            if stale.is_dir():
                shutil.rmtree(stale)
        marker.unlink(missing_ok=True)
        advance = progress(part, part_total(world, part)) if progress else (lambda n: None)
        start = time.perf_counter()
        counts = _writer(part)(world, tmp, workers, advance)
        if part == "detection":
            from streid.train.synth.detection_writer import data_yaml

            (tmp / "data.yaml").write_text(data_yaml(final), encoding="utf-8")
        os.replace(tmp, final)
        _write_atomic(marker, stamp + "\n")
        summary[part] = {"status": "written", "seconds": round(time.perf_counter() - start, 2), **counts}
    return summary
