"""Training throughput (clips/s) of a training config through the real loader, model, criterion and optimiser.

    .venv/bin/python bench/train_bench.py [--config configs/train/nl3d_synthetic_small.yaml] [--steps 30]
        [--threads 2] [--set data.root=...]

Runs ``--steps`` training steps (after 3 warm-up steps) of the config's model on its data (the synthetic
target world by default: ``streid synth --config configs/synth/target.yaml --out runs/synth/target --only reid``)
and prints clips/s and seconds per step, loading included.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from streid.config import load_config
from streid.train.engine import Trainer
from streid.train.models import build_model
from streid.train.models.criteria import build_criterion
from streid.train.run import build_train_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=Path("configs/train/nl3d_synthetic_small.yaml"))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, ["run.device=cpu", *args.overrides])
    data = build_train_data(cfg)
    model = build_model(cfg.model, data.num_classes)
    criterion = build_criterion(cfg.model, data.num_classes)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, model, criterion, data, Path(tmp))
        batches, clips, start, done = iter(data.loader), 0, 0.0, 0
        while done < args.steps + 3:
            try:
                batch = next(batches)
            except StopIteration:
                batches = iter(data.loader)
                continue
            if done == 3:
                start, clips = time.perf_counter(), 0
            trainer.train_step(batch[0], batch[1])
            clips += len(batch[1])
            done += 1
        elapsed = time.perf_counter() - start
    c = cfg.data
    print(f"{args.config}: model {cfg.model.name}, batch {c.p * c.k} clips x {c.seq_len} frames at "
          f"{c.height}x{c.width}, {args.threads} threads, {c.workers} loader workers")
    print(f"{clips / elapsed:.1f} clips/s, {elapsed / args.steps:.3f} s/step over {args.steps} steps")


if __name__ == "__main__":
    main()
