"""Embeddings/s of torch eager vs ONNX Runtime FP32 vs ONNX Runtime INT8, and the INT8 mAP change.

For each model: write (or take, with ``--checkpoint``) a checkpoint, export it with ``streid.export``
(FP32 with parity, INT8 QDQ calibrated on synthetic clips), then time the three backends of
``streid.pipeline.embedder`` at batch 1, 8 and 32 on uint8 clips with the same thread count
(torch.set_num_threads / ORT intra_op_num_threads), one warm-up call then at least ``--min-s`` seconds
each. The mAP of FP32 and INT8 is measured on a synthetic test split (every test identity seen by every
re-id camera; same-camera matches excluded, as in MARS).

Small settings (no configs/train/*small*.yaml in this checkout when this was written): clips of
L=8 frames at 128x64 (the small training shape of bench/nl3d_step.py); nl3d depth 18, width 0.25,
embedding 128; stt_gt depth 18, width 0.25, dim 128, 4 heads. Untrained weights unless ``--checkpoint``
is given, so the mAP figures then show the INT8 change, not a useful model.

    .venv/bin/python bench/export_bench.py [--models nl3d stt_gt] [--checkpoint runs/x/best.pt] [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from streid.export.clips import synthetic_clips
from streid.export.int8 import quantize_int8
from streid.export.onnx_export import export_onnx
from streid.pipeline.embedder import Embedder, OrtEmbedder, TorchEmbedder
from streid.train.checkpoint import save_checkpoint
from streid.train.eval.metrics import evaluate_rank

SEQ_LEN, HEIGHT, WIDTH = 8, 128, 64
SMALL: dict[str, dict[str, Any]] = {
    "nl3d": {"name": "nl3d", "depth": 18, "width": 0.25, "embedding_dim": 128},
    "stt_gt": {"name": "stt_gt", "depth": 18, "width": 0.25, "dim": 128, "heads": 4},
}


def small_checkpoint(name: str, folder: Path) -> Path:
    """An untrained small model in the training engine's checkpoint format."""
    from pydantic import TypeAdapter

    from streid.train.models import build_model
    from streid.train.models.config import ModelConfig

    torch.manual_seed(0)
    model = build_model(TypeAdapter(ModelConfig).validate_python(SMALL[name]), 100)
    config = {"model": SMALL[name], "data": {"seq_len": SEQ_LEN, "height": HEIGHT, "width": WIDTH}}
    payload = {"config": config, "model": model.state_dict(), "num_classes": 100, "epoch": 0, "metrics": {}}
    return save_checkpoint(folder / f"{name}.pt", payload)


def throughput(embedder: Embedder, clips: np.ndarray, batch: int, min_s: float) -> float:
    """Embeddings per second at one batch size (one warm-up call, then repeat for at least ``min_s``)."""
    x = clips[:batch]
    embedder.max_batch = batch
    embedder.embed(x)
    calls, start = 0, time.perf_counter()
    while True:
        embedder.embed(x)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_s and calls >= 2:
            return calls * batch / elapsed


def synthetic_map(embedders: dict[str, Embedder], seq_len: int, height: int, width: int, identities: int) -> dict:
    """mAP (%) per embedder on a synthetic test split: each test identity in each of the 6 re-id cameras."""
    n = (identities // 2) * 6
    clips, pids, cams = synthetic_clips(n, seq_len, height, width, seed=123, identities=identities)
    out = {}
    for label, embedder in embedders.items():
        embedder.max_batch = 16
        f = embedder.embed(clips)
        out[label] = 100 * evaluate_rank(1.0 - f @ f.T, pids, pids, cams, cams)["mAP"]
    return out


def bench_model(ckpt: Path, work: Path, args: argparse.Namespace) -> None:
    fp32 = export_onnx(ckpt, work / f"{ckpt.stem}.onnx")
    meta = fp32.meta
    int8 = quantize_int8(fp32.path, work / f"{ckpt.stem}.int8.onnx", calib_clips=args.calib_clips)
    int8_cpu = quantize_int8(fp32.path, work / f"{ckpt.stem}.int8cpu.onnx", calib_clips=args.calib_clips,
                             target="cpu")
    print(f"\n== {meta['model']}  L={meta['seq_len']} {meta['height']}x{meta['width']} D={meta['embedding_dim']}  "
          f"threads={args.threads}")
    print(f"FP32 parity vs torch: {fp32.parity.line()}")
    print(f"INT8 (--target tensorrt) parity vs FP32: {int8.parity.line()}")
    print(f"INT8 (--target cpu)      parity vs FP32: {int8_cpu.parity.line()}")
    torch.set_num_threads(args.threads)
    backends: dict[str, Embedder] = {
        "torch eager": TorchEmbedder(ckpt, device="cpu"),
        "ORT FP32": OrtEmbedder(fp32.path, device="cpu", threads=args.threads),
        "ORT INT8 trt": OrtEmbedder(int8.path, device="cpu", threads=args.threads),
        "ORT INT8 cpu": OrtEmbedder(int8_cpu.path, device="cpu", threads=args.threads),
    }
    shape = (meta["seq_len"], meta["height"], meta["width"])
    clips = synthetic_clips(max(args.batches), *shape, seed=5)[0]
    print("embeddings/s (and x torch eager)")
    print(f"{'batch':>5} | " + " | ".join(f"{k:>20}" for k in backends))
    for batch in args.batches:
        rates = [throughput(e, clips, batch, args.min_s) for e in backends.values()]
        print(f"{batch:>5} | " + " | ".join(f"{r:>12.1f} ({r / rates[0]:4.2f}x)" for r in rates))
    if args.eval_data:
        from streid.train.data import read_dataset
        from streid.train.eval.artifact import evaluate_embedder

        ds = read_dataset("synthetic", args.eval_data)
        maps = {k: 100 * evaluate_embedder(backends[k], ds)["mAP"] for k in list(backends)[1:]}
        print(f"mAP (%) on {args.eval_data} (torchreid protocol): " + ", ".join(
            f"{k} {v:.2f} ({v - maps['ORT FP32']:+.2f})" for k, v in maps.items()))
    elif args.map_identities:
        maps = synthetic_map({k: backends[k] for k in list(backends)[1:]}, *shape, args.map_identities)
        print("synthetic test split mAP (%): " + ", ".join(
            f"{k} {v:.2f} ({v - maps['ORT FP32']:+.2f})" for k, v in maps.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SMALL), choices=list(SMALL))
    parser.add_argument("--checkpoint", type=Path, action="append", help="trained checkpoint(s) instead of small ones")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--min-s", type=float, default=3.0, help="seconds timed per backend and batch")
    parser.add_argument("--calib-clips", type=int, default=32)
    parser.add_argument("--map-identities", type=int, default=40, help="identities of the mAP world (0: skip)")
    parser.add_argument("--eval-data", type=Path, help="synthetic reid/ folder: mAP on its test split instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="streid-export-bench-") as tmp:
        work = Path(tmp)
        checkpoints = args.checkpoint or []
        for name in [] if args.checkpoint else args.models:
            if importlib.util.find_spec(f"streid.train.models.{name}") is None:
                print(f"\n== {name}: not implemented in this checkout (streid.train.models.{name}); skipped")
                continue
            checkpoints.append(small_checkpoint(name, work))
        for ckpt in checkpoints:
            bench_model(ckpt, work, args)


if __name__ == "__main__":
    main()
