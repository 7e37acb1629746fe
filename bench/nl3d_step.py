"""Seconds per training step (forward + backward + Adam) of nl3d settings, on CPU or one GPU.

CPU (default): batch (16, 8, 3, 128, 64) = P=4 identities x K=4 clips of 8 frames at 128x64, the
small-config shape; prints one line per small setting. The fastest one that is still a real 3D
ResNet with non-local blocks is the one for the small training config.
GPU (``--device cuda``): the paper setting (depth 50, width 1, 8 x 256 x 128 clips) under fp16
autocast as the engine runs it, at several batch sizes, with peak GPU memory.

    .venv/bin/python bench/nl3d_step.py [--steps 3] [--threads 2]
    python bench/nl3d_step.py --device cuda --batches 32 64 128
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import torch

from streid.train.models import build_model
from streid.train.models.config import NL3DConfig
from streid.train.models.criteria import build_criterion

SMALL_SETTINGS: list[dict[str, object]] = [
    {"depth": 18, "width": 0.125, "embedding_dim": 128},
    {"depth": 18, "width": 0.25, "embedding_dim": 128},
    {"depth": 18, "width": 0.25, "embedding_dim": 128, "last_stride": 2},
    {"depth": 18, "width": 0.5, "embedding_dim": 256},
    {"depth": 50, "width": 0.125, "embedding_dim": 128},
]
PAPER_SETTING: dict[str, object] = {"depth": 50, "width": 1.0, "embedding_dim": 512}


def time_steps(setting: dict[str, object], clips: torch.Tensor, pids: torch.Tensor, steps: int) -> tuple[float, str]:
    """Median seconds of ``steps`` training steps after one warm-up step, and a short size summary."""
    device = clips.device
    cfg = NL3DConfig(**setting)
    model = build_model(cfg, num_classes=625).to(device).train()
    criterion = build_criterion(cfg, num_classes=625)
    optim = torch.optim.Adam(model.parameters(), lr=3.5e-4)
    cuda = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    times = []
    for _ in range(steps + 1):  # the first step warms allocators / kernels up and is not counted
        start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.float16) if cuda else nullcontext():
            loss = criterion(model(clips), pids)["loss"]
        optim.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optim)
        scaler.update()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    summary = f"params {params:.2f} M  non-local {len(model.nonlocal_blocks)}  loss {loss.item():.3f}"
    return sorted(times[1:])[len(times[1:]) // 2], summary


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (cpu only)")
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 64, 128], help="clips per batch (cuda only)")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
        clips, pids = torch.randn(16, 8, 3, 128, 64), torch.arange(4).repeat_interleave(4)
        for setting in SMALL_SETTINGS:
            sec, summary = time_steps(setting, clips, pids, args.steps)
            rate = f"{16 / sec:.1f} clips/s, threads {args.threads}"
            print(f"cpu {setting}  {summary}  median {sec:.2f} s/step  ({rate})")
        return
    print(torch.cuda.get_device_name())
    for batch in args.batches:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        clips = torch.randn(batch, 8, 3, 256, 128, device="cuda")
        pids = torch.arange(batch // 4, device="cuda").repeat_interleave(4)
        sec, summary = time_steps(PAPER_SETTING, clips, pids, args.steps)
        peak = torch.cuda.max_memory_allocated() / 2**30
        print(f"cuda paper {PAPER_SETTING} batch {batch}x8x256x128 fp16  {summary}  "
              f"median {sec:.3f} s/step  ({batch / sec:.0f} clips/s)  peak {peak:.1f} GiB")


if __name__ == "__main__":
    main()
