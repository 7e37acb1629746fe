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

MAX_ID_TICKS = 60  # up to this many identities the timeline names each row (G12); beyond, rows are too thin


def _colours(cameras: list[str]) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(len(cameras))]


def per_camera(plt: Any, data: dict[str, Any]) -> Any:
    """Identities and tracklets per camera, as bars with their counts on top."""
    cameras: list[str] = data["cameras"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    for ax, key, title in ((axes[0], "ids_per_camera", "global identities per camera"),
                           (axes[1], "tracklets_per_camera", "tracklets per camera")):
        ax.bar(cameras, data[key], color=_colours(cameras))
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 1.15 * max([*data[key], 1]))  # room for the count above the tallest bar
        ax.tick_params(axis="x", labelrotation=30 if sum(map(len, cameras)) > 40 else 0, labelsize=8)
        for i, v in enumerate(data[key]):
            ax.text(i, v, str(v), ha="center", va="bottom", fontsize=8)
    return fig


def timeline(plt: Any, data: dict[str, Any]) -> Any:
    """Every identity as a row (by first appearance, named G<id>), its tracklets as bars coloured by camera."""
    cameras: list[str] = data["cameras"]
    colours = _colours(cameras)
    spans: dict[str, list[list[Any]]] = data["spans"]
    order = sorted(spans, key=lambda g: (min(s[1] for s in spans[g]), int(g)))
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.12 * len(order) + 1.2)), layout="constrained")
    for y, gid in enumerate(order):
        for cam, a, b in spans[gid]:
            ax.plot([a, b], [y, y], color=colours[cameras.index(cam)], linewidth=3, solid_capstyle="butt")
    for i, cam in enumerate(cameras):
        ax.plot([], [], color=colours[i], linewidth=3, label=cam)
    ax.set_xlabel("time (s)")
    # two short lines: one line was taller than the figure and lost its ends
    ax.set_ylabel("global identity\n(by first appearance)", fontsize=9)
    if len(order) <= MAX_ID_TICKS:
        ax.set_yticks(range(len(order)), [f"G{g}" for g in order], fontsize=6 if len(order) > 20 else 8)
    else:
        ax.set_yticks([])
    ax.set_ylim(-1, max(len(order), 1))
    ax.set_title("timeline: every identity across cameras", fontsize=10)
    # below the axes, off the bars; as many columns as fit the figure's width (~120 characters at this size)
    ncol = max(1, min(len(cameras), 6, 120 // (max(map(len, cameras)) + 6)))
    fig.legend(fontsize=8, ncol=ncol, loc="outside lower center", frameon=False)
    return fig


def decisions(plt: Any, data: dict[str, Any]) -> Any | None:
    """Distances of the online decisions to the chosen identity and to the runner-up, against the gate."""
    import numpy as np

    matched, runner, gate = data["matched"], data["runner_up"], data["gate"]
    if not matched and not runner:
        return None
    fig, ax = plt.subplots(figsize=(9, 3), layout="constrained")
    bins = np.linspace(0, max([gate * 2, *matched, *runner]), 40)
    ax.hist(matched, bins=bins, alpha=0.6, label="chosen identity (match/refine)")
    ax.hist(runner, bins=bins, alpha=0.6, label="runner-up")
    ax.axvline(gate, color="k", linestyle="--", label=f"gate {gate}")
    ax.set_xlabel("cosine distance")
    ax.set_ylabel("decisions")
    ax.legend(fontsize=8)
    ax.set_title("online decisions: distance to the chosen identity and to the runner-up", fontsize=10)
    return fig


FIGURES = {"per_camera.png": per_camera, "timeline.png": timeline, "decisions.png": decisions}


def draw(assets: Path, data: dict[str, Any]) -> list[str]:
    """Write each figure that has data as ``assets/NAME``; constrained layout keeps every label inside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for name, make in FIGURES.items():
        fig = make(plt, data)
        if fig is None:
            continue
        fig.savefig(assets / name, dpi=100)
        plt.close(fig)
        names.append(name)
    return names


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    print("\n".join(draw(folder, json.loads((folder / "figures.json").read_text()))))
