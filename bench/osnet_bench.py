"""OSNet (our implementation, random weights in torchreid's layout) as a clip embedder: parity and speed.

1. Writes a random ``osnet_x0_25`` (or ``--arch``) state dict the way torchreid saves it, exports it like
   ``streid export onnx --image-model`` at L=8 and 128x64 (our small clips) and 256x128 (torchreid's input),
   and prints each export's own parity check: min cosine of ONNX Runtime vs PyTorch embeddings at batch 1
   and batch 8 (synthetic clips).
2. Clips/s at L=8, batch 8, ONNX Runtime CPU with ``--threads`` intra-op threads, for the built-in small
   nl3d (``deploy/models/reid_small.onnx``, L=8 at 128x64) and for each OSNet artifact. One warm-up call,
   then at least ``--min-s`` seconds each.

    nice -n 5 .venv/bin/python bench/osnet_bench.py [--arch osnet_x0_25] [--threads 2] [--min-s 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from streid.defaults import default_embedder
from streid.export.image_model import export_image_model
from streid.pipeline.embedder import OrtEmbedder
from streid.train.models.osnet import OSNet
from streid.train.models.torchreid_weights import save_torchreid


def clips_per_second(path: Path, threads: int, min_s: float, batch: int = 8) -> float:
    emb = OrtEmbedder(path, device="cpu", threads=threads)
    clips = np.random.default_rng(0).integers(0, 255, (batch, *emb.input_shape), dtype=np.uint8)
    emb.embed(clips)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_s:
        emb.embed(clips)
        n += batch
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="osnet_x0_25")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-s", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="osnet_bench") as tmp:
        root = Path(tmp)
        torch.manual_seed(0)
        model = OSNet(args.arch, num_classes=751)
        for m in model.modules():  # vary BN statistics so parity is not measured on a trivial map
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        weights = save_torchreid(model, root / f"{args.arch}.pth")
        print(f"clips/s at L=8, batch 8, ONNX Runtime CPU, {args.threads} threads:", flush=True)
        speed = f"{clips_per_second(default_embedder(), args.threads, args.min_s):.1f}"
        print(f"  nl3d small (built-in) 128x64: {speed}", flush=True)
        for height, width in ((128, 64), (256, 128)):  # the small clip size first: it is the cheap one
            result = export_image_model(args.arch, weights, root / f"{height}x{width}.onnx", 8, height, width)
            print(f"{args.arch} random weights, L=8 {height}x{width}, ONNX Runtime vs PyTorch: "
                  f"{result.parity.line()}", flush=True)
            speed = f"{clips_per_second(result.path, args.threads, args.min_s):.1f}"
            print(f"  {args.arch} {height}x{width}: {speed}", flush=True)


if __name__ == "__main__":
    main()
