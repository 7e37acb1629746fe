"""``streid explain``: where an attention model looks in a tracklet, as one PNG.

Top row: each frame of the clip with the spatial class token's attention over its h x w cells as a
heat-map; bottom: the temporal class token's weight for each frame. The clip is the tracklet sampled the
way evaluation samples it (``seq_len`` evenly spaced frames at the checkpoint's input size), so the
picture shows what the retrieval embedding was computed from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
MARS_NAME = re.compile(r"^(\d{4}C\d+T\d{4})F\d{3}\.")
MARS_FRAME = re.compile(r"^(?P<pid>\d{4}|00-1)C(?P<cam>\d+)T(?P<track>\d{4})F(?P<frame>\d{3,})\.")
LABEL_PT, CHAR_EM = 6.5, 0.62  # frame labels' font size; a generous average character width (em) of its font
DEFAULT_SEQ_LEN, DEFAULT_SIZE = 8, (256, 128)


def tracklet_frames(frames: str | Path | Sequence[str | Path]) -> list[Path]:
    """Image paths of a tracklet: a folder (its images, sorted by name) or an explicit list."""
    if isinstance(frames, str | Path):
        folder = Path(frames)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: tracklet folder not found")
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise FileNotFoundError(f"{folder}: holds no images ({', '.join(IMAGE_SUFFIXES)})")
        # A MARS-layout identity folder holds several tracklets (PPPPCcTttttFfff.jpg): take the first one.
        first = MARS_NAME.match(paths[0].name)
        if first:
            paths = [p for p in paths if p.name.startswith(first.group(1))]
        return paths
    paths = [Path(p) for p in frames]
    if not paths:
        raise FileNotFoundError("no frames given")
    return paths


def load_model(checkpoint: str | Path) -> tuple[Any, dict[str, Any]]:
    """(model in eval mode, its config dict) from a STREID checkpoint; weights loaded strictly."""
    from pydantic import TypeAdapter

    from streid.train.checkpoint import read_checkpoint
    from streid.train.models import build_model
    from streid.train.models.config import ModelConfig

    data = read_checkpoint(checkpoint)
    model_cfg = TypeAdapter(ModelConfig).validate_python(data["config"]["model"])
    model_cfg = model_cfg.model_copy(update={"pretrained": None})  # weights come from the checkpoint
    model = build_model(model_cfg, int(data["num_classes"]))
    model.load_state_dict({k.removeprefix("module."): v for k, v in data["model"].items()})
    return model.eval(), data["config"]


def explain_tracklet(
    checkpoint: str | Path,
    frames: str | Path | Sequence[str | Path],
    out_png: str | Path,
    device: str = "cpu",
) -> dict[str, Any]:
    """Write the attention picture of one tracklet; returns the frames used and both attention arrays."""
    import torch

    from streid.train.data.clips import load_frame, sample_evenly, to_tensor

    model, config = load_model(checkpoint)
    if not hasattr(model, "explain"):
        raise ValueError(f"{checkpoint}: model '{config['model']['name']}' has no attention maps to explain")
    data_cfg = config.get("data") or {}
    seq_len = int(data_cfg.get("seq_len", DEFAULT_SEQ_LEN))
    height, width = int(data_cfg.get("height", DEFAULT_SIZE[0])), int(data_cfg.get("width", DEFAULT_SIZE[1]))
    paths = tracklet_frames(frames)
    chosen = [paths[i] for i in sample_evenly(len(paths), seq_len)]
    clip = np.stack([load_frame(str(p), height, width) for p in chosen])  # (L, H, W, 3) RGB
    model = model.to(device)
    with torch.no_grad():
        out = model.explain(to_tensor(clip).unsqueeze(0).to(device))
    if "temporal_attention" not in out:
        raise ValueError(f"{checkpoint}: this variant has no transformers (model.transformers=false), no attention")
    temporal = out["temporal_attention"][0].cpu().numpy()
    spatial = out["spatial_attention"][0].cpu().numpy()  # (L, h, w)
    out_png = Path(out_png)
    names = [p.name for p in chosen]
    draw(clip, spatial, temporal, names, out_png, tracklet_title(frames, names))
    return {"frames": [str(p) for p in chosen], "temporal": temporal, "spatial": spatial, "png": out_png}


def frame_label(name: str, chars: int) -> str:
    """A frame's name, whole, for the label under it: a MARS name as its camera and frame (person and tracklet are
    in the title); any other name without its suffix, in lines of at most ``chars`` characters broken after
    ``_ - .`` where it can, so neighbouring labels never overlap and nothing is cut."""
    mars = MARS_FRAME.match(name)
    if mars:
        return f"camera C{mars['cam']}\nframe F{mars['frame']}"
    lines = [""]
    for part in re.split(r"(?<=[_\-. ])", Path(name).stem):
        while part:
            if lines[-1] and len(lines[-1]) + len(part) > chars:
                lines.append("")
            room = chars - len(lines[-1])
            lines[-1], part = lines[-1] + part[:room], part[room:]
    return "\n".join(lines)


def tracklet_title(frames: str | Path | Sequence[str | Path], names: list[str]) -> str:
    """The tracklet's name for the title: its MARS id (person, camera, tracklet) or its folder."""
    mars = MARS_FRAME.match(names[0]) if names else None
    if mars:
        return f"person {mars['pid']}, camera C{mars['cam']}, tracklet T{mars['track']}"
    return Path(frames).name if isinstance(frames, str | Path) else Path(names[0]).parent.name or names[0]


def attention_figure(clip: np.ndarray, spatial: np.ndarray, temporal: np.ndarray, names: list[str],
                     title: str = "") -> Any:
    """Frames with their spatial heat-maps (scaled to the clip's largest cell, so frames compare), each named in
    full beneath, and the temporal weights as bars against the uniform 1/L."""
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seq_len, height, width = clip.shape[:3]
    fig_w = max(6.0, 1.3 * seq_len)
    fig = plt.figure(figsize=(fig_w, 5.6), layout="constrained")
    grid = fig.add_gridspec(2, seq_len, height_ratios=[3, 1.2])
    top = max(float(spatial.max()), 1e-12)
    chars = max(6, int(0.85 * fig_w * 72 / seq_len / (CHAR_EM * LABEL_PT)))  # a frame's share of the width
    for t in range(seq_len):
        ax = fig.add_subplot(grid[0, t])
        heat = cv2.resize(spatial[t].astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
        ax.imshow(clip[t])
        ax.imshow(heat / top, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        ax.set_title(f"{t}: {temporal[t]:.2f}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(frame_label(names[t], chars), fontsize=LABEL_PT)
    bars = fig.add_subplot(grid[1, :])
    bars.bar(range(seq_len), temporal, color="tab:orange")
    bars.axhline(1 / seq_len, color="grey", lw=0.8, ls="--", label="uniform 1/L")
    bars.set(xlabel="frame", ylabel="temporal attention", xticks=range(seq_len),
             ylim=(0, 1.2 * max(float(temporal.max()), 1 / seq_len)))
    bars.legend(fontsize=7, loc="upper right")
    heading = "spatial attention (class token over cells) and temporal attention per frame"
    fig.suptitle(f"{title}\n{heading}" if title else heading, fontsize=9)
    return fig


def draw(clip: np.ndarray, spatial: np.ndarray, temporal: np.ndarray, names: list[str], out_png: Path,
         title: str = "") -> Path:
    """Write :func:`attention_figure` as ``out_png``."""
    import matplotlib.pyplot as plt

    fig = attention_figure(clip, spatial, temporal, names, title)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
