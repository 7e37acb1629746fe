"""Bodies of ``streid search`` and ``streid reid``; heavy imports stay inside the functions (the CLI imports this)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from streid.names import check_camera_name

if TYPE_CHECKING:
    from streid.pipeline.identity.job import ReidJob
    from streid.pipeline.identity.store import Store


def open_store(store_dir: Path | None, db: str | None, site: str) -> Store:
    """The SQLite store in ``store_dir`` or the PostgreSQL one at ``db`` (``STREID_DB_URL``); ValueError if neither."""
    from streid.pipeline.identity.store import STORE_FILE, SqliteStore

    if store_dir is None:  # the environment's database is the default, not a second choice
        db = db or os.environ.get("STREID_DB_URL")
    if (store_dir is None) == (db is None):
        raise ValueError("give --store DIR or --db URL (or STREID_DB_URL), not both")
    if db is not None:
        from streid.pipeline.identity.pg_store import PostgresStore

        return PostgresStore(db, site=site, read_only=True)
    assert store_dir is not None
    if not (store_dir / STORE_FILE).is_file():
        raise ValueError(f"{store_dir}: no {STORE_FILE} here")
    return SqliteStore(store_dir, read_only=True)


def search_command(store_dir: Path | None, query: list[str], top: int, embedder: Path | None,
                   db: str | None = None, site: str = "default") -> int:
    """Exit code 0 on success, 2 on bad input (message on stderr naming the path)."""
    from rich.console import Console
    from rich.table import Table

    from streid.pipeline.identity.search import image_query, looks_like_file, rank, tracklet_query

    try:
        store = open_store(store_dir, db, site)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    missing = [q for q in query if looks_like_file(q) and not Path(q).is_file()]
    if missing:
        typer.echo(f"error: file not found: {', '.join(missing)}", err=True)
        return 2
    try:
        images = [Path(q) for q in query if Path(q).is_file()]
        if images and len(images) != len(query):
            typer.echo(f"error: not files: {[q for q in query if not Path(q).is_file()]}", err=True)
            return 2
        exclude = None
        if images:
            from streid.defaults import resolve_embedder

            emb = image_query(store, images, Path(resolve_embedder(str(embedder))) if embedder else None)
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


def report_command(store_dir: Path | None, db: str | None, site: str, out: Path | None, gate: float | None) -> int:
    """Rebuild ``report.html`` from a job's folder or a site-wide PostgreSQL store; exit code 0, or 2 on bad input.

    A job's folder also gives its markers (frames per camera, online ids, thresholds, eval.json); a database gives
    the store only, so the report shows what the service decided (no offline revisions, no scores)."""
    import json

    from streid.pipeline.identity.calibration import resolve_thresholds
    from streid.pipeline.identity.job import JobPaths, _parse_ids
    from streid.pipeline.identity.report import write_report

    out = out or store_dir
    if out is None:
        typer.echo("error: --out DIR is needed with --db (where report.html goes)", err=True)
        return 2
    if out.exists() and not out.is_dir():
        typer.echo(f"error: --out {out}: not a folder", err=True)
        return 2
    try:
        store = open_store(store_dir, db, site)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    try:
        done: dict[str, dict] = {}
        online: dict[tuple[str, int], int] = {}
        thresholds: dict = {}
        evaluation = None
        if store_dir is not None:
            paths = JobPaths(store_dir)
            done = {p.parent.name: json.loads(p.read_text()) for p in sorted(paths.work.glob("*/done.json"))}
            if paths.identities.is_file():
                marker = json.loads(paths.identities.read_text())
                online, thresholds = _parse_ids(marker["online"]), marker.get("thresholds", {})
            if (store_dir / "eval.json").is_file():
                evaluation = json.loads((store_dir / "eval.json").read_text())
        cameras = sorted({t.camera for t in store.tracklets(with_embeddings=False)} | set(done))
        gate = gate or thresholds.get("gate") or resolve_thresholds(None, None, None).gate
        out.mkdir(parents=True, exist_ok=True)
        page = write_report(out, store, cameras, done, online, evaluation, float(gate))
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    finally:
        store.close()
    typer.echo(f"wrote {page}")
    return 0


def _pairs(items: list[str], what: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"expected CAMERA=PATH, got {item!r}", param_hint=what)
        try:
            check_camera_name(name)  # it names files and folders in --out: never a path
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=what) from None
        if name in out:
            raise typer.BadParameter(f"camera {name!r} given twice", param_hint=what)
        out[name] = Path(path)
    return out


def build_job(videos: dict[str, Path], out: Path, config: Path | None, site: Path | None, overrides: list[str],
              embedder: Path | None, detector: Path | None, gt_dets: Path | None, gt: Path | None,
              gt_dialect: str = "auto") -> ReidJob:
    """A ReidJob from the command line: config (pipeline + identity), site file, then the explicit options."""
    from streid.config import ConfigError, apply_overrides, deep_merge, load_raw, validate
    from streid.defaults import default_detector, resolve_detector
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
        named = resolve_detector(str(detector or pipe.detector.weights or ""))  # `streid models` names -> files
        weights = Path(named or default_detector())  # FileNotFoundError says how to make it
        if not (weights.is_file() or weights.suffix == ".yaml"):
            raise FileNotFoundError(f"detector weights not found: {weights}")
        pipe = pipe.model_copy(update={"detector": pipe.detector.model_copy(
            update={"kind": "yolo", "weights": str(weights)})})
    if embedder is not None:
        pipe = pipe.model_copy(update={"embedder": pipe.embedder.model_copy(update={"path": str(embedder)})})
    from streid.defaults import resolve_embedder

    # no model named anywhere, or 'default': the built-in one (FileNotFoundError says how to make it)
    path = resolve_embedder(pipe.embedder.path or "default")
    if not Path(path).is_file():
        raise FileNotFoundError(f"re-id model not found: {path} (pipeline.embedder.path or --embedder)")
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
    embedder: Annotated[Path | None, typer.Option("--embedder", help="re-id artifact (.onnx/.engine/.pt) or a "
                                                                     "`streid models` name; default: "
                                                                     "deploy/models/reid_small.onnx")] = None,
    detector: Annotated[Path | None, typer.Option("--detector", help="person detector weights or a `streid models` "
                                                                     "name")] = None,
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
    executor: Annotated[str, typer.Option("--executor", help="phase 1 (one camera each): inprocess, or ray "
                                                             "tasks on a Ray cluster")] = "inprocess",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Ray cluster to join (auto = the "
                                                                          "local `ray start` one); default: start "
                                                                          "a local Ray")] = None,
) -> None:
    """Offline cross-camera re-id over recorded videos: global ids, store, annotated videos, events, HTML report."""
    import json
    import logging

    from streid.pipeline.identity.job import run_reid_job

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        job = build_job(_pairs(video, "--video"), out, config, site, overrides or [], embedder, detector, gt_dets, gt,
                        gt_dialect)
        from streid.provenance import synthetic_warning

        models = {"reid": job.pipeline.embedder.path}
        if not job.det_files:
            models["detector"] = job.pipeline.detector.weights
        warning = synthetic_warning(models, [(cam, "file", str(path)) for cam, path in job.videos.items()])
        if warning:
            typer.echo(f"warning: {warning}", err=True)
        result = run_reid_job(job, progress=progress, overwrite=overwrite, executor=executor,
                              ray_address=ray_address)
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


def serve_command(
    broker: Annotated[str, typer.Option("--broker", envvar="STREID_BROKER",
                                        help="mqtt://HOST:PORT or mqtts://HOST:PORT (credentials from the "
                                             "environment: STREID_MQTT_USERNAME, STREID_MQTT_PASSWORD[_FILE])")],
    db: Annotated[str, typer.Option("--db", envvar="STREID_DB_URL",
                                    help="PostgreSQL URL without password (PGPASSWORD / STREID_DB_PASSWORD_FILE)")],
    site: Annotated[str, typer.Option("--site", help="site name: topics streid/v1/SITE/..., schema streid_SITE")],
    config: Annotated[Path | None, typer.Option("--config", help="YAML with an identity: section (gate, site "
                                                                 "rules, retention) - the edges' settings")] = None,
    lateness: Annotated[float, typer.Option("--lateness", min=0.0, help="site seconds a tracklet waits for "
                                                                        "earlier ones from slower cameras")] = 2.0,
    flush_after: Annotated[float, typer.Option("--flush-after", min=0.0, help="wall seconds of silence after "
                                                                              "which waiting tracklets are decided")]
    = 1.0,
    web: Annotated[str | None, typer.Option("--web", help="also serve the site's dashboard on PORT or HOST:PORT "
                                                          "(host default 127.0.0.1; off by default)")] = None,
    web_token: Annotated[str, typer.Option("--web-token", envvar="STREID_WEB_TOKEN",
                                           help="the dashboard requires ?token= or Authorization: Bearer")] = "",
    embedder: Annotated[Path | None, typer.Option("--embedder", help="re-id model of the edges: the dashboard's "
                                                                     "search by image")] = None,
) -> None:
    """Site-wide identity service: tracklets from every edge over MQTT, one matcher, PostgreSQL, decisions back."""
    import logging
    import threading

    from streid.pipeline.identity.config import IdentityConfig
    from streid.pipeline.identity.service import IdentityService
    from streid.pipeline.runner import stop_on_signals

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = IdentityConfig()
    if config is not None:
        from streid.config import load_config

        cfg = load_config(config).identity
    stop = threading.Event()
    try:
        service = IdentityService(broker, db, site, cfg, lateness_s=lateness, flush_after_s=flush_after, stop=stop)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    dashboard = _site_dashboard(web, web_token, embedder, db, site) if web is not None else None
    try:
        with stop_on_signals(stop):
            stats = service.run()
    finally:
        if dashboard is not None:
            dashboard.close()
    typer.echo(f"stopped: {stats.decided} tracklets decided, {stats.duplicates} redeliveries, "
               f"{stats.rejected} rejected, {stats.reconnects} database reconnects")


def _site_dashboard(web: str, token: str, embedder: Path | None, db: str, site: str) -> Any:
    """The dashboard next to the identity service: every device's cameras, read from the site's database."""
    from streid.pipeline.identity.pg_store import public_name
    from streid.pipeline.web.serve import parse_web, postgres_store_factory, start_dashboard

    try:
        host, port = parse_web(web)
        if embedder is not None and not embedder.is_file():
            raise ValueError(f"--embedder {embedder}: not found")
        return start_dashboard(postgres_store_factory(db, site), host, port, token, embedder,
                               info={"mode": "site", "store": public_name(db, site), "rtsp": []})
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc if isinstance(exc, ValueError) else f'--web {web}: {exc}'}", err=True)
        raise typer.Exit(2) from None
