"""Loss and mAP curves as one PNG, read from the run's metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path


def read_metrics(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_curves(metrics_path: Path, out_png: Path) -> Path:
    """Training loss per step (left) and evaluation mAP / rank-1 per epoch (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    steps = [r for r in rows if r.get("kind") == "train"]
    evals = [r for r in rows if r.get("kind") == "eval"]
    fig, (ax_loss, ax_map) = plt.subplots(1, 2, figsize=(10, 3.6))
    if steps:
        ax_loss.plot([r["step"] for r in steps], [r["loss"] for r in steps], lw=1)
    ax_loss.set(title="training loss", xlabel="step", ylabel="loss")
    if evals:
        ax_map.plot([r["epoch"] for r in evals], [100 * r["mAP"] for r in evals], "o-", label="mAP")
        ax_map.plot([r["epoch"] for r in evals], [100 * r["R1"] for r in evals], "s-", label="rank-1")
        ax_map.legend()
    ax_map.set(title="evaluation", xlabel="epoch", ylabel="%")
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
