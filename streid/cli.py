"""The `streid` command. Subcommands import their heavy dependencies inside the command body."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from streid.config import ConfigError, load_config
from streid.errors import EXIT_BUG, classify
from streid.export.cli import export_app
from streid.models.cli import models_app
from streid.pipeline.identity.cli import reid_command, serve_command
from streid.train.cli import ablation_cmd, eval_cmd, explain_cmd, train_app

app = typer.Typer(
    name="streid",
    help="STREID: video person re-identification across cameras (train, export, run).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(
    help="Show or validate a config (extends: merged, --set applied).", no_args_is_help=True
)
app.add_typer(config_app, name="config")
app.add_typer(export_app, name="export")
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")
identity_app = typer.Typer(help="Site-wide identities (many devices, one service).", no_args_is_help=True)
identity_app.command("serve")(serve_command)
app.add_typer(identity_app, name="identity")
app.command("eval")(eval_cmd)
app.command("explain")(explain_cmd)
app.command("ablation")(ablation_cmd)
app.command("reid")(reid_command)

ConfigPath = Annotated[Path, typer.Argument(help="YAML config file")]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="override a key, e.g. --set train.optim.lr=3e-4 (repeatable)"),
]
# where search / report / serve read identities: a job's SQLite store or a site's PostgreSQL database
JobStore = Annotated[Path | None, typer.Option("--store", help="a job's folder holding identities.sqlite")]
SiteDb = Annotated[str | None, typer.Option("--db", help="PostgreSQL URL of a site-wide store (or STREID_DB_URL; "
                                                         "password via PGPASSWORD / STREID_DB_PASSWORD_FILE)")]
SiteName = Annotated[str, typer.Option("--site", help="site name in the database")]


@app.command()
def doctor() -> None:
    """Check Python, torch, ultralytics, ONNX Runtime, TensorRT, GStreamer and its elements."""
    from rich.console import Console
    from rich.table import Table

    from streid.doctor import collect, failures

    checks = collect()
    table = Table(title="streid doctor", show_lines=False)
    table.add_column("component")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    colours = {"ok": "green", "MISSING": "red", "absent (optional)": "yellow"}
    for check in checks:
        table.add_row(check.name, f"[{colours[check.status]}]{check.status}[/]", check.detail)
    console = Console()
    console.print(table)
    missing = failures(checks)
    if missing:
        for check in missing:
            console.print(f"[red]missing[/] {check.name.strip()}: {check.fix}")
        raise typer.Exit(1)
    console.print("[green]all required components present[/]")


@config_app.command("show")
def config_show(path: ConfigPath, overrides: Overrides = None) -> None:
    """Print the fully resolved config (defaults filled in) as YAML."""
    typer.echo(load_config(path, overrides or []).to_yaml(), nl=False)


@config_app.command("validate")
def config_validate(paths: Annotated[list[Path], typer.Argument(help="YAML config files")]) -> None:
    """Validate configs; exits 2 on the first bad one with the file, key and expectation."""
    for path in paths:
        load_config(path)
        typer.echo(f"ok: {path}")


@app.command()
def synth(
    config: Annotated[Path, typer.Option("--config", help="synth preset, e.g. configs/synth/tiny.yaml")],
    out: Annotated[Path, typer.Option("--out", help="output folder (re-runs resume into it)")],
    seed: Annotated[int | None, typer.Option("--seed", help="overrides run.seed")] = None,
    overrides: Overrides = None,
    only: Annotated[str | None, typer.Option("--only", help="comma list of: reid,scenes,detection,preview")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace a folder made with another config")] = False,
) -> None:
    """Render the synthetic multi-camera world: MARS-layout tracklets, scene videos + GT, YOLO set, preview."""
    from streid.train.synth.cli import run_synth

    cfg = load_config(config, overrides or [])
    cfg.require("synth")
    parts = [p.strip() for p in only.split(",") if p.strip()] if only else None
    run_synth(cfg, out, seed=cfg.run.seed if seed is None else seed, parts=parts, overwrite=overwrite)


@app.command("run")
def run_cmd(
    config: Annotated[Path, typer.Option("--config", help="deploy config, e.g. configs/deploy/offline_files.yaml")],
    overrides: Overrides = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="show a frame counter")] = True,
) -> None:
    """Run the multi-camera pipeline (decode, detect, track, tracklets, embed) offline or live."""
    from streid.pipeline.cli import run_from_config

    code = run_from_config(config, overrides or [], progress=progress)
    if code:
        raise typer.Exit(code)


@app.command()
def search(
    query: Annotated[
        list[str], typer.Option("--query", help="image file(s), or a tracklet: row id or camera:track_id")
    ],
    store: JobStore = None,
    db: SiteDb = None,
    site: SiteName = "default",
    top: Annotated[int, typer.Option("--top", min=1)] = 10,
    embedder: Annotated[
        Path | None, typer.Option("--embedder", help="model for image queries: artifact or `streid models` name "
                                                "(default: the store's)")
    ] = None,
) -> None:
    """Rank global identities by similarity to query images or a stored tracklet."""
    from streid.pipeline.identity.cli import search_command

    raise typer.Exit(search_command(store, query, top, embedder, db, site))


@app.command()
def report(
    store: JobStore = None,
    db: SiteDb = None,
    site: SiteName = "default",
    out: Annotated[Path | None, typer.Option("--out", help="folder for report.html (default: the --store folder)")]
    = None,
    gate: Annotated[float | None, typer.Option("--gate", min=0.0, max=2.0, help="gate line on the decisions "
                                                                                 "figure (default: the job's)")]
    = None,
) -> None:
    """Rebuild report.html (identity cards, crops, timelines, figures) from a job's store or a site's database."""
    from streid.pipeline.identity.cli import report_command

    raise typer.Exit(report_command(store, db, site, out, gate))


@app.command()
def calibrate(
    embedder: Annotated[str, typer.Option("--embedder", help="re-id ONNX artifact, or 'default' (built-in)")],
    data: Annotated[Path, typer.Option("--data", help="synthetic scenes (site.json + gt/) or a MARS-layout folder")],
    out: Annotated[Path | None, typer.Option("--out", help="write a calibrated copy here (default: the artifact "
                                                           "itself, rewritten atomically)")] = None,
    work: Annotated[Path | None, typer.Option("--work", help="scenes: job folder for the tracklets (resumable)")]
    = None,
    max_tracklets: Annotated[int, typer.Option("--max-tracklets", min=4, help="MARS layout: tracklets used")] = 800,
) -> None:
    """Fit the matcher's gate and offline threshold for an embedder on labelled data; store them in the artifact."""
    import logging

    from streid.calibrate import calibrate_artifact
    from streid.defaults import resolve_embedder
    from streid.export.metadata import MetadataError

    logging.basicConfig(level=logging.WARNING)
    try:
        path = Path(resolve_embedder(embedder))
        if not path.is_file():
            raise FileNotFoundError(f"--embedder {path}: not found")
        cal, target = calibrate_artifact(path, data, out, work, max_tracklets)
    except (FileNotFoundError, ValueError, MetadataError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"calibration: {cal.line()}")
    typer.echo(f"  negative distances {cal.quantiles['neg']}")
    typer.echo(f"  positive distances {cal.quantiles['pos']}")
    typer.echo(f"wrote streid.calibration into {target}")


@app.command()
def serve(
    store: JobStore = None,
    db: SiteDb = None,
    site: SiteName = "default",
    host: Annotated[str, typer.Option("--host", help="address to listen on (0.0.0.0: every interface)")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8080,
    token: Annotated[str, typer.Option("--token", envvar="STREID_WEB_TOKEN",
                                       help="require ?token= or Authorization: Bearer on every request")] = "",
    embedder: Annotated[
        Path | None, typer.Option("--embedder", help="model for search by image (default: the store's)")
    ] = None,
    max_upload_kb: Annotated[int, typer.Option("--max-upload-kb", min=16)] = 4096,
) -> None:
    """Dashboard for a finished job's store or a site's database: identities with crops and decisions, search."""
    from streid.pipeline.web.serve import serve_command

    raise typer.Exit(serve_command(store, host, port, token, embedder, max_upload_kb, db, site))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("runs/demo"),
    seed: Annotated[int | None, typer.Option("--seed", help="world seed (default: a fresh one each run)")] = None,
    overrides: Overrides = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Render a small multi-camera site, re-identify its people with the built-in models, score it, report."""
    from streid.demo import print_summary, run_demo

    try:
        summary = run_demo(out, seed=seed, overrides=overrides or [], progress=progress)
    except FileNotFoundError as exc:
        typer.echo(f"demo: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(130) from None
    print_summary(summary)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input is one line on stderr and exit 2, a bug one line and exit 1 (``--debug`` anywhere
    on the command line, or ``STREID_DEBUG=1``, shows the traceback instead)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("STREID_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    try:
        app(args=args, prog_name="streid")
    except SystemExit:
        raise
    except BaseException as exc:  # every failure leaves as one line and an exit code
        if debug:
            raise
        code, message = classify(exc)
        prefix = "config error" if isinstance(exc, ConfigError) else "error"
        hint = "" if code != EXIT_BUG else " (run with --debug for the traceback, and please report it)"
        typer.echo(f"{prefix}: {message}{hint}", err=True)
        sys.exit(code)


if __name__ == "__main__":
    main()
