"""``streid train`` (re-id models from a config; ``streid train detector`` for YOLO) and ``streid eval``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streid.train.detector_cli import detector_cmd

train_app = typer.Typer(
    help="Train a re-id model from a config (`streid train --config ...`), or the person detector "
    "(`streid train detector ...`).",
    invoke_without_command=True,
)
train_app.command("detector")(detector_cmd)  # the person detector (YOLO), see detector_cli

Overrides = Annotated[
    list[str] | None, typer.Option("--set", help="override a key, e.g. --set train.epochs=3 (repeatable)")
]


@train_app.callback()
def train_cmd(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", help="training config (YAML); with --resume, default: "
                                                                 "the run folder's config.yaml")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="run folder (default: train.out)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --out from its last.pt")] = False,
    overrides: Overrides = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Train, evaluate every train.eval_every epochs, keep best.pt and last.pt, plot curves.png.

    Exit codes: 0 done, 2 bad input (one line naming the file or key), 130 stopped by Ctrl-C/SIGTERM (last.pt
    holds the last finished epoch; --resume continues from it).
    """
    if ctx.invoked_subcommand is not None:
        return
    if config is None and resume and out is not None and (out / "config.yaml").is_file():
        config = out / "config.yaml"  # the resolved config the run wrote
    if config is None:
        hint = f"{out}/config.yaml not found; " if resume and out is not None else ""
        typer.echo(f"train: {hint}--config FILE is required (see `streid train --help`)", err=True)
        raise typer.Exit(2)
    from streid.config import load_config
    from streid.train.checkpoint import CheckpointError
    from streid.train.data.records import DatasetError
    from streid.train.run import train_from_config

    cfg = load_config(config, overrides or [])
    try:
        outcome = train_from_config(cfg, out, resume=resume, progress=progress)
    except DatasetError as exc:
        typer.echo(f"train: {exc}{_data_hint(config, cfg)}", err=True)
        raise typer.Exit(2) from None
    except (FileExistsError, FileNotFoundError, CheckpointError) as exc:
        typer.echo(f"train: {exc}", err=True)
        raise typer.Exit(2) from None
    if outcome.interrupted:
        typer.echo(f"train: stopped by a signal; {outcome.run_dir}/last.pt holds epoch {outcome.epoch} (the last "
                   f"finished one). Continue with: streid train --out {outcome.run_dir} --resume", err=True)
        raise typer.Exit(130)
    typer.echo(f"run folder: {outcome.run_dir} ({', '.join(outcome.outputs)})")


def _data_hint(config: Path, cfg: object) -> str:
    """'; make it with: ...' when the data root is missing (the config's own comment says how)."""
    from streid.train.data.hint import missing_data_hint

    data = getattr(cfg, "data", None)
    if data is None or Path(data.root).is_dir():
        return ""
    return "; " + missing_data_hint(config, data.format, data.root)


def eval_cmd(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="STREID checkpoint (.pt)")],
    data: Annotated[
        Path | None, typer.Option("--data", help="data config (default: the data section the checkpoint carries)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="folder for eval.json and ranked.png")] = None,
    overrides: Overrides = None,
    rerank: Annotated[bool, typer.Option("--rerank", help="k-reciprocal re-ranking")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:N or auto")] = "auto",
    queries: Annotated[int, typer.Option("--queries", min=1, help="queries drawn in ranked.png")] = 6,
) -> None:
    """Evaluate a checkpoint on a data set's query/gallery split: table, eval.json, ranked.png."""
    from streid.train.checkpoint import CheckpointError
    from streid.train.data.records import DatasetError
    from streid.train.evaluate import evaluate_checkpoint

    try:
        evaluate_checkpoint(checkpoint, data, out, overrides or [], rerank=rerank, device=device, queries=queries)
    except (FileNotFoundError, CheckpointError, DatasetError) as exc:
        typer.echo(f"eval: {exc}", err=True)
        raise typer.Exit(1) from None



def explain_cmd(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="STREID checkpoint of an attention model (stt_gt)")],
    tracklet: Annotated[Path, typer.Option("--tracklet", help="folder of one tracklet's frames (images)")],
    out: Annotated[Path | None, typer.Option("--out", help="PNG (default: attention_<tracklet>.png beside the "
                                                          "checkpoint)")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:N")] = "cpu",
) -> None:
    """Draw spatial attention over each frame and temporal attention per frame of one tracklet (PNG)."""
    from streid.train.checkpoint import CheckpointError
    from streid.train.explain import explain_tracklet

    png = out or checkpoint.with_name(f"attention_{tracklet.name}.png")
    try:
        result = explain_tracklet(checkpoint, tracklet, png, device=device)
    except (FileNotFoundError, CheckpointError, ValueError) as exc:
        typer.echo(f"explain: {exc}", err=True)
        raise typer.Exit(1) from None
    weights = " ".join(f"{w:.2f}" for w in result["temporal"])
    typer.echo(f"temporal attention per frame: {weights}\nwrote {result['png']}")


def ablation_cmd(
    config: Annotated[Path, typer.Option("--config", help="STT+GT training config, e.g. "
                                                          "configs/train/stt_gt_synthetic_small.yaml")],
    out: Annotated[Path, typer.Option("--out", help="folder: one run per variant, ablation.md, ablation.json")],
    pretrained: Annotated[Path | None, typer.Option("--pretrained", help="checkpoint of a run on the synthetic "
                                                                         "pretrain world (adds its row)")] = None,
    minutes: Annotated[float | None, typer.Option("--minutes", help="train.max_minutes of every variant")] = None,
    variants: Annotated[str | None, typer.Option("--variants", help="comma list (default: all; see "
                                                                    "streid.train.ablation.VARIANTS)")] = None,
    overrides: Overrides = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Train each STT+GT ablation variant under one budget and tabulate mAP, rank-1, rank-5 (resumable)."""
    from streid.train.ablation import run_ablation

    names = [v.strip() for v in variants.split(",") if v.strip()] if variants else None
    try:
        run_ablation(config, out, pretrained, minutes, names, overrides or [], progress=progress)
    except KeyError as exc:
        typer.echo(f"ablation: {exc.args[0]}", err=True)
        raise typer.Exit(2) from None
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"ablation: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt as exc:
        typer.echo(f"ablation: {exc}", err=True)
        raise typer.Exit(130) from None
    typer.echo((out / "ablation.md").read_text(encoding="utf-8"))
