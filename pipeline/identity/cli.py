"""Bodies of ``streid search`` and ``streid reid``; heavy imports stay inside the functions (the CLI imports this)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from streid.pipeline.identity.job import ReidJob


def search_command(store_dir: Path, query: list[str], top: int, embedder: Path | None) -> int:
    """Exit code 0 on success, 2 on bad input (message on stderr naming the path)."""
    from rich.console import Console
    from rich.table import Table

    from streid.pipeline.identity.search import image_query, looks_like_file, rank, tracklet_query
    from streid.pipeline.identity.store import STORE_FILE, SqliteStore

    if not (store_dir / STORE_FILE).is_file():
        typer.echo(f"error: {store_dir}: no {STORE_FILE} here", err=True)
        return 2
    missing = [q for q in query if looks_like_file(q) and not Path(q).is_file()]
    if missing:
        typer.echo(f"error: file not found: {', '.join(missing)}", err=True)
        return 2
    store = SqliteStore(store_dir)
    try:
        images = [Path(q) for q in query if Path(q).is_file()]
        if images and len(images) != len(query):
            typer.echo(f"error: not files: {[q for q in query if not Path(q).is_file()]}", err=True)
            return 2
        exclude = None
        if images:
            emb = image_query(store, images, embedder)
        elif len(query) == 1:
            emb, exclude = tracklet_query(store, query[0])
        else:
            typer.echo("error: give one tracklet (row id or camera:track_id) or image files", err=True)
            return 2
        hits = rank(store, emb, top=top, exclude=exclude)
        where = {t.id: f"{t.id} ({t.camera}:{t.track_id})" for t in store.tracklets(with_embeddings=False)}
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    finally:
        store.close()
    table = Table(title=f"identities like {' '.join(query)}")
    for col in ("rank", "global id", "distance", "tracklets", "cameras (first-last s)"):
        table.add_column(col)
    for i, h in enumerate(hits, 1):
        cams = ", ".join(f"{c} {a:.1f}-{b:.1f}" for c, (a, b) in sorted(h.cameras.items()))
        table.add_row(str(i), str(h.global_id), f"{h.distance:.3f}", str(h.tracklets), cams)
    Console().print(table)
    if hits:  # row ids are sparse: say which ones a next --query can use
        closest = ", ".join(where.get(h.best_tracklet, str(h.best_tracklet)) for h in hits)
        typer.echo(f"closest tracklet of each identity (--query ROW or CAMERA:TRACK_ID): {closest}")
    return 0


def _pairs(items: list[str], what: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"expected CAMERA=PATH, got {item!r}", param_hint=what)
        if name in out:
            raise typer.BadParameter(f"camera {name!r} given twice", param_hint=what)
        out[name] = Path(path)
    return out


def build_job(videos: dict[str, Path], out: Path, config: Path | None, site: Path | None, overrides: list[str],
              embedder: Path | None, detector: Path | None, gt_dets: Path | None, gt: Path | None,
              gt_dialect: str = "auto") -> ReidJob:
    """A ReidJob from the command line: config (pipeline + identity), site file, then the explicit options."""
    from streid.config import ConfigError, apply_overrides, deep_merge, load_raw, validate
    from streid.defaults import default_detector
    from streid.pipeline.identity.job import ReidJob, find_mot_files, site_from_synth
    from streid.pipeline.motgt import DIALECTS

    data: dict = load_raw(config)[0] if config else {}
    if site is not None and site.suffix == ".json":  # a synthetic world's site.json
        data = deep_merge(data, {"identity": {"site": site_from_synth(site)}})
    elif site is not None:
        site_data = load_raw(site)[0]
        if "identity" not in site_data:
            raise ConfigError(site, "identity", "a site file needs an identity: section (see configs/site/)")
        data = deep_merge(data, {"identity": site_data["identity"]})
    data, _ = apply_overrides(data, overrides)
    cfg = validate(data, source=config)
    pipe = cfg.pipeline
    cams = list(videos)
    det_files = find_mot_files(gt_dets, cams, "--gt-dets") if gt_dets else None
    if detector is not None and det_files is not None:
        raise typer.BadParameter("give --detector or --gt-dets, not both")
    if det_files is None:
        if detector is None and pipe.detector.kind == "motdet":
            raise typer.BadParameter("pipeline.detector.kind is motdet: pass --gt-dets DIR (MOT boxes per camera)")
        weights = detector or Path(pipe.detector.weights or default_detector())  # FileNotFoundError says how to make it
        if not (weights.is_file() or weights.suffix == ".yaml"):
            raise FileNotFoundError(f"detector weights not found: {weights}")
        pipe = pipe.model_copy(update={"detector": pipe.detector.model_copy(
            update={"kind": "yolo", "weights": str(weights)})})
    if embedder is not None:
        pipe = pipe.model_copy(update={"embedder": pipe.embedder.model_copy(update={"path": str(embedder)})})
    from streid.defaults import resolve_embedder

    # no model named anywhere, or 'default': the built-in one (FileNotFoundError says how to make it)
    path = resolve_embedder(pipe.embedder.path or "default")
    pipe = pipe.model_copy(update={"embedder": pipe.embedder.model_copy(update={"path": path})})
    if gt_dialect not in DIALECTS:
        raise typer.BadParameter(f"one of {', '.join(DIALECTS)}", param_hint="--gt-dialect")
    return ReidJob(videos, out, pipe, cfg.identity, det_files, find_mot_files(gt, cams, "--gt") if gt else None,
                   gt_dialect)


def reid_command(
    video: Annotated[list[str], typer.Option("--video", help="CAMERA=PATH, once per camera (processing order)")],
    out: Annotated[Path, typer.Option("--out", help="output folder; re-running the same command resumes into it")],
    config: Annotated[Path | None, typer.Option("--config", help="YAML with pipeline: and identity: sections")] = None,
    site: Annotated[Path | None, typer.Option("--site", help="site YAML (identity: site, overlaps, transit), or a "
                                                             "synthetic world's site.json")] = None,
    embedder: Annotated[Path | None, typer.Option("--embedder", help="re-id artifact (.onnx/.engine/.pt); "
                                                                     "default: deploy/models/reid_small.onnx")] = None,
    detector: Annotated[Path | None, typer.Option("--detector", help="person detector weights")] = None,
    gt_dets: Annotated[Path | None, typer.Option("--gt-dets", help="MOT boxes per camera (DIR/CAM.txt) instead "
                                                                   "of a detector")] = None,
    gt: Annotated[Path | None, typer.Option("--gt", help="ground truth with global ids (DIR/CAM.txt) -> eval.json")]
    = None,
    gt_dialect: Annotated[str, typer.Option("--gt-dialect", help="MOTChallenge rules of --gt: auto (MOT15 when "
                                                                 "there is no class column, else MOT17), MOT15, "
                                                                 "MOT16, MOT17 or MOT20")] = "auto",
    overrides: Annotated[list[str] | None, typer.Option("--set", help="override a config key (repeatable)")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="restart a folder made with other inputs")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="show a frame counter")] = True,
) -> None:
    """Offline cross-camera re-id over recorded videos: global ids, store, annotated videos, events, HTML report."""
    import json
    import logging

    from streid.pipeline.identity.job import run_reid_job

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        job = build_job(_pairs(video, "--video"), out, config, site, overrides or [], embedder, detector, gt_dets, gt,
                        gt_dialect)
        result = run_reid_job(job, progress=progress, overwrite=overwrite)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if result.interrupted:
        typer.echo(f"interrupted; run the same command again to resume into {out}", err=True)
        raise typer.Exit(130)
    summary = {"identities": len(set(result.final.values())), "tracklets": len(result.final),
               "report": str(result.report), "store": str(out / "identities.sqlite")}
    if result.evaluation:
        summary["eval"] = {k: result.evaluation[k] for k in ("offline", "online")}
    typer.echo(json.dumps(summary, indent=2))
