"""``streid ablation``: the paper's ablation table for STT+GT under one fixed training budget.

Every variant trains from the same config with the same ``train.epochs`` and ``train.max_minutes``
(``--minutes``), is evaluated once at the end (``train.eval_every=0``: the budget goes to training), and
its final evaluation (``last.pt``'s metrics, not the best over evaluations, which would pick on the test
split) fills a row of ``ablation.md`` and ``ablation.json``. Variants live in ``OUT/<variant>/`` and a
finished one is skipped on a re-run; an unfinished one (``last.pt`` left by a stop) is resumed. A resumed
run gets a fresh ``max_minutes`` for its remaining epochs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One row: what it adds, and the ``--set`` overrides that make it from the full model's config."""

    label: str
    overrides: tuple[str, ...] = ()
    pretrained: bool = False


_NO_CONSTRAINTS = ("model.loss.spa_xent=0", "model.loss.spa_part_xent=0", "model.loss.tem_attn=0")
VARIANTS: dict[str, Variant] = {
    "cnn": Variant("CNN baseline (frame features averaged)", ("model.transformers=false",)),
    "vanilla": Variant("vanilla transformer (STT, no constraints)", ("model.use_global=false", *_NO_CONSTRAINTS)),
    "spatial": Variant("+ spatial constraint", ("model.use_global=false", "model.loss.tem_attn=0")),
    "temporal": Variant("+ temporal constraint", ("model.use_global=false",)),
    "gt": Variant("+ GT (full model)", ("model.use_global=true",)),
    "gt_pretrained": Variant("+ GT, synthetic pre-training", ("model.use_global=true",), pretrained=True),
}
"""Rows in table order. Every constraint weight the file sets is kept unless a variant zeroes it."""

RESULT = "result.json"


def variant_overrides(name: str, minutes: float | None, pretrained: Path | None) -> list[str]:
    """``--set`` items of a variant (applied after the user's, so the variant's own keys win)."""
    variant = VARIANTS[name]
    items = list(variant.overrides)
    if minutes is not None:
        items.append(f"train.max_minutes={minutes}")
    if variant.pretrained:
        if pretrained is None:
            raise ValueError(f"variant '{name}' needs --pretrained CHECKPOINT")
        items += [f"train.init.checkpoint={pretrained}", "train.init.skip_heads=true"]
    else:
        items.append("train.init.checkpoint=null")
    return items


def run_finished(run_dir: Path) -> bool:
    """A run ended by its epochs or its time budget, not by a signal or a crash.

    The engine saves ``last.pt`` after the final evaluation in both normal ends; a stopped run's last
    metrics row is a training step (the stop happens inside an epoch), so the last row tells them apart.
    """
    from streid.train.checkpoint import read_checkpoint

    last = run_dir / "last.pt"
    if not last.is_file():
        return False
    ckpt = read_checkpoint(last)
    state, epochs = ckpt.get("state") or {}, int(ckpt["config"]["train"]["epochs"])
    if int(state.get("epoch", 0)) >= epochs:
        return True
    rows = _rows(run_dir / "metrics.jsonl")
    return bool(rows) and rows[-1].get("kind") == "eval" and int(rows[-1]["epoch"]) == int(state.get("epoch", -1))


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def collect(name: str, run_dir: Path) -> dict[str, Any]:
    """A variant's row from its finished run: final mAP / rank-1 / rank-5 plus what the run spent."""
    from streid.train.checkpoint import read_checkpoint

    ckpt = read_checkpoint(run_dir / "last.pt")
    metrics = ckpt.get("metrics") or {}
    if "mAP" not in metrics:
        raise RuntimeError(f"{run_dir}: the run has no evaluation (does the data section have a test split?)")
    rows = _rows(run_dir / "metrics.jsonl")
    variant = VARIANTS[name]
    return {
        "variant": name,
        "label": variant.label,
        "pretrained": variant.pretrained,
        "mAP": float(metrics["mAP"]),
        "R1": float(metrics["R1"]),
        "R5": float(metrics["R5"]),
        "epochs": int((ckpt.get("state") or {}).get("epoch", 0)),
        "steps": int((ckpt.get("state") or {}).get("step", 0)),
        "train_seconds": round(sum(float(r.get("seconds", 0)) for r in rows if r.get("kind") == "epoch"), 1),
        "run": str(run_dir),
    }


def run_ablation(
    config: str | Path,
    out: str | Path,
    pretrained: str | Path | None = None,
    minutes: float | None = None,
    variants: list[str] | None = None,
    overrides: list[str] | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train (or resume, or skip) every variant, then write ``ablation.md`` and ``ablation.json`` in ``out``.

    Without ``pretrained`` the pre-trained row is left out (and said so in the Markdown).
    """
    from streid.config import load_config
    from streid.train.run import train_from_config

    out = Path(out)
    pretrained = Path(pretrained) if pretrained is not None else None
    if pretrained is not None and not pretrained.is_file():
        raise FileNotFoundError(f"--pretrained {pretrained}: checkpoint not found")
    names = variants or [n for n in VARIANTS if pretrained is not None or not VARIANTS[n].pretrained]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise KeyError(f"unknown variant(s) {unknown} (choices: {', '.join(VARIANTS)})")
    base = load_config(config, overrides or [])
    model = getattr(base, "model", None)
    if model is None or model.name != "stt_gt":
        name = "no model section" if model is None else f"model.name: {model.name}"
        raise ValueError(f"{config}: ablation needs an STT+GT config (model.name: stt_gt), this one has {name}; "
                         "e.g. --config configs/train/stt_gt_synthetic_small.yaml")
    results: list[dict[str, Any]] = []
    for name in names:
        run_dir = out / name
        done = run_dir / RESULT
        if done.is_file():
            results.append(json.loads(done.read_text(encoding="utf-8")))
            continue
        items = ["train.eval_every=0", *(overrides or []), *variant_overrides(name, minutes, pretrained)]
        cfg = load_config(config, items)
        if not run_finished(run_dir):
            print(f"ablation: {name} ({VARIANTS[name].label}) -> {run_dir}")
            train_from_config(cfg, run_dir, resume=(run_dir / "last.pt").is_file(), progress=progress)
        if not run_finished(run_dir):  # stopped by a signal: keep last.pt, report nothing for it
            raise KeyboardInterrupt(f"ablation stopped during '{name}'; re-run the same command to resume")
        row = collect(name, run_dir)
        done.write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
        results.append(row)
    write_tables(results, out, config, minutes, pretrained)
    return results


def write_tables(
    results: list[dict[str, Any]], out: Path, config: str | Path, minutes: float | None, pretrained: Path | None
) -> tuple[Path, Path]:
    """``ablation.json`` (rows + settings) and ``ablation.md`` (variant, mAP, rank-1, rank-5 in %)."""
    out.mkdir(parents=True, exist_ok=True)
    settings = {"config": str(config), "minutes": minutes, "pretrained": str(pretrained) if pretrained else None}
    json_path = out / "ablation.json"
    json_path.write_text(json.dumps({"settings": settings, "rows": results}, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# STT+GT ablation",
        "",
        f"Config `{config}`; every variant: same epochs, `train.max_minutes` = {minutes}, final evaluation.",
        "",
        "| variant | mAP | rank-1 | rank-5 | epochs | train s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {100 * r['mAP']:.1f} | {100 * r['R1']:.1f} | {100 * r['R5']:.1f} "
            f"| {r['epochs']} | {r['train_seconds']:.0f} |"
        )
    if pretrained is None:
        hint = "pass `--pretrained CHECKPOINT` (a run on the synthetic pretrain world)"
        lines += ["", f"Pre-trained row not run: {hint}."]
    else:
        lines += ["", f"Pre-training checkpoint: `{pretrained}` (all weights but the classifier heads)."]
    md_path = out / "ablation.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md_path, json_path
