"""``streid train detector``: train the person detector, export it to ONNX, write its model card.

The command composes two stages: ``streid.train.detector`` trains, ``streid.export.detector`` exports
(imported here, in the command, so the training library itself never imports the export stage).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer
import yaml

DEFAULT_CONFIG = Path("configs/detector/yolo_synthetic.yaml")


def detector_cmd(
    config: Annotated[
        Path | None, typer.Option("--config", help=f"detector config (default: {DEFAULT_CONFIG} if present)")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="YOLO data.yaml (default: render the synthetic set)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="run folder (default: RUN.OUT/detector)")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1)] = None,
    imgsz: Annotated[int | None, typer.Option("--imgsz", min=32, help="train/val/export size")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue the run in --out from its last.pt (or start one)")
    ] = False,
    export: Annotated[
        Path | None, typer.Option("--export", help="ONNX to write (default: OUT/person_detector.onnx); card: .md")
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="override a key, e.g. --set detector_train.batch=8")
    ] = None,
) -> None:
    """Train an ultralytics YOLO from its yaml on the synthetic world (offline), validate, export ONNX, card."""
    from streid.config import load_config
    from streid.export.detector import benchmark_detector, data_images, export_detector
    from streid.export.errors import ExportError
    from streid.train.detector import model_card, train_detector

    if config is None and DEFAULT_CONFIG.is_file():
        config = DEFAULT_CONFIG
    cfg = load_config(config, overrides or [])
    section = cfg.detector_train
    if epochs is not None:
        section.epochs = epochs
    if imgsz is not None:
        section.imgsz = imgsz
    out = out or Path(cfg.run.out) / "detector"
    target = export or out / "person_detector.onnx"
    try:
        run = train_detector(section, out, seed=cfg.run.seed, resume=resume, data=data)
        result = export_detector(run.best, target, imgsz=section.imgsz, dynamic=section.dynamic)
    except (FileExistsError, FileNotFoundError, ExportError) as exc:
        typer.echo(f"train detector: {exc}", err=True)
        raise typer.Exit(1) from None
    import cv2

    images = [cv2.imread(str(p)) for p in data_images(run.data.yaml)[:8]]
    speed = benchmark_detector(result.path, section.imgsz, [im for im in images if im is not None]) if images else {}
    artifact = {"path": str(result.path), "format": result.fmt, "precision": result.precision,
                "imgsz": result.imgsz, "dynamic": result.dynamic, "names": result.names,
                "size_bytes": result.size_bytes, "parity": result.parity.line() if result.parity else None,
                "speed_ms": speed}
    command = _command(config, data, out, epochs, imgsz, resume, export, overrides or [])
    config_yaml = yaml.safe_dump({"run": cfg.run.model_dump(mode="json"),
                                  "detector_train": section.model_dump(mode="json")}, sort_keys=False)
    card = target.with_suffix(".md")
    card.write_text(model_card(run, command=command, config_yaml=config_yaml, artifact=artifact), encoding="utf-8")
    summary = {"mAP50": round(run.metrics["mAP50"], 4), "mAP50-95": round(run.metrics["mAP50-95"], 4),
               "epochs": run.epochs, "onnx": str(result.path), "card": str(card), "best": str(run.best),
               "ms_per_frame": round(speed.get("total", float("nan")), 2)}
    typer.echo(f"val mAP50 {summary['mAP50']:.3f}  mAP50-95 {summary['mAP50-95']:.3f}  ({run.epochs} epochs)")
    typer.echo(f"wrote {result.path} ({result.size_bytes / 1e6:.1f} MB; {artifact['parity']}) and {card}")
    typer.echo(json.dumps(summary))


def _command(config: Path | None, data: Path | None, out: Path, epochs: int | None, imgsz: int | None,
             resume: bool, export: Path | None, overrides: list[str]) -> str:
    """The exact command line, rebuilt from the options (the card must say how to make the model again)."""
    args = ["streid", "train", "detector"]
    for flag, value in (("--config", config), ("--data", data), ("--out", out), ("--epochs", epochs),
                        ("--imgsz", imgsz), ("--export", export)):
        if value is not None:
            args += [flag, str(value)]
    if resume:
        args.append("--resume")
    for item in overrides:
        args += ["--set", item]
    return shlex.join(args)
