"""Do the identity heads learn? Per step: every loss term, and per head the input it sees and its gradient.

Trains a config with the training loop's own step (``Trainer.train_step``: its optimiser, schedule, clipping)
and prints, for every classifier head, per step:
- ``|x|``: mean norm of the head's input rows; ``|x-m|``: the same after subtracting the batch mean. A small
  ratio ``|x-m|/|x|`` means the input is mostly a component common to every clip, which the softmax gradient
  follows instead of what separates identities;
- ``lstd``: mean std of the logits over the classes (0 = the head says nothing; ln C loss);
- ``|g|``: norm of the head's weight gradient (after clipping), ``|W|`` its weight norm.

Issue 18 (1b), on the tiny world (``streid synth --config configs/synth/tiny.yaml --out W --only reid``):

    .venv/bin/python bench/head_learning.py --config configs/train/stt_gt_synthetic_small.yaml --steps 20 \\
        --set data.root=W/reid data.p=4 data.workers=0 data.seq_len=4 data.height=64 data.width=32 \\
        'model.input_size=[64,32]'
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import torch
from torch import Tensor, nn

from streid.config import load_config
from streid.train.engine import Trainer, seed_everything
from streid.train.models import build_model
from streid.train.models.criteria import build_criterion
from streid.train.run import build_train_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--every", type=int, default=1, help="print the per-head lines every N steps")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides KEY=VALUE")
    args = parser.parse_args()

    cfg = load_config(args.config, ["run.device=cpu", "train.log_every=1", *args.set])
    seed_everything(cfg.run.seed)
    data = build_train_data(cfg)
    model = build_model(cfg.model, data.num_classes)
    criterion = build_criterion(cfg.model, data.num_classes)
    trainer = Trainer(cfg, model, criterion, data, Path(tempfile.mkdtemp(prefix="heads_")), log=lambda _: None)
    print(f"{cfg.model.name}: C = {data.num_classes}, ln C = {math.log(data.num_classes):.3f}")

    heads = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear) and "classifier" in n}
    seen: dict[str, tuple[Tensor, Tensor]] = {}
    for name, head in heads.items():
        head.register_forward_hook(lambda _m, inp, out, n=name: seen.__setitem__(n, (inp[0].detach(), out.detach())))

    step, epoch = 0, 0
    while step < args.steps:
        data.set_epoch(epoch)
        for batch in data.loader:
            losses = trainer.train_step(batch[0], batch[1])
            lr = trainer.optimizer.param_groups[-1]["lr"]
            terms = " ".join(f"{k} {v:.3f}" for k, v in losses.items() if k != "loss")
            print(f"step {step + 1:3d}  head lr {lr:.1e}  {terms}")
            if step % args.every == 0:
                for name, head in heads.items():
                    x, logits = seen[name]
                    x = x.reshape(-1, x.shape[-1])
                    centred = (x - x.mean(dim=0)).norm(dim=1).mean()
                    grad = head.weight.grad.norm() if head.weight.grad is not None else torch.tensor(0.0)
                    print(
                        f"    {name:22s} |x| {x.norm(dim=1).mean():7.3f}  |x-m| {centred:7.3f}  "
                        f"lstd {logits.reshape(-1, logits.shape[-1]).std(dim=1).mean():.4f}  "
                        f"|g| {grad:.2e}  |W| {head.weight.norm():.4f}"
                    )
            step += 1
            if step >= args.steps:
                break
        trainer.scheduler.step()  # per epoch, as Trainer.fit
        epoch += 1


if __name__ == "__main__":
    main()
