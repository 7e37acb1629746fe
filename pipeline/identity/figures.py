"""Summary figures of the re-id report, drawn by matplotlib in a process of their own.

``python -m streid.pipeline.identity.figures ASSETS`` reads ``ASSETS/figures.json`` (written by
:mod:`streid.pipeline.identity.report`), writes the PNGs next to it and prints their names.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from streid.pipeline.identity.report import PALETTE


def draw(assets: Path, data: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cameras: list[str] = data["cameras"]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(cameras))]
    names = []
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key, title in ((axes[0], "ids_per_camera", "global identities per camera"),
                           (axes[1], "tracklets_per_camera", "tracklets per camera")):
        ax.bar(cameras, data[key], color=colours)
        ax.set_title(title, fontsize=10)
        for i, v in enumerate(data[key]):
            ax.text(i, v, str(v), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(assets / "per_camera.png", dpi=100)
    plt.close(fig)
    names.append("per_camera.png")

    spans: dict[str, list[list[Any]]] = data["spans"]
    order = sorted(spans, key=lambda g: min(s[1] for s in spans[g]))
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.12 * len(order) + 1.2)))
    for y, gid in enumerate(order):
        for cam, a, b in spans[gid]:
            ax.plot([a, b], [y, y], color=colours[cameras.index(cam)], linewidth=3, solid_capstyle="butt")
    for i, cam in enumerate(cameras):
        ax.plot([], [], color=colours[i], linewidth=3, label=cam)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("global identity (by first appearance)")
    ax.set_yticks([])
    ax.legend(fontsize=8, ncol=min(len(cameras), 6), loc="upper left")
    ax.set_title("timeline: every identity across cameras", fontsize=10)
    fig.tight_layout()
    fig.savefig(assets / "timeline.png", dpi=100)
    plt.close(fig)
    names.append("timeline.png")

    matched, runner, gate = data["matched"], data["runner_up"], data["gate"]
    if matched or runner:
        fig, ax = plt.subplots(figsize=(9, 3))
        bins = np.linspace(0, max([gate * 2, *matched, *runner]), 40)
        ax.hist(matched, bins=bins, alpha=0.6, label="chosen identity (match/refine)")
        ax.hist(runner, bins=bins, alpha=0.6, label="runner-up")
        ax.axvline(gate, color="k", linestyle="--", label=f"gate {gate}")
        ax.set_xlabel("cosine distance")
        ax.legend(fontsize=8)
        ax.set_title("online decisions: distance to the chosen identity and to the runner-up", fontsize=10)
        fig.tight_layout()
        fig.savefig(assets / "decisions.png", dpi=100)
        plt.close(fig)
        names.append("decisions.png")
    return names


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    print("\n".join(draw(folder, json.loads((folder / "figures.json").read_text()))))
