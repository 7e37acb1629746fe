"""The one training loop every model shares (nanoGPT-style: flat, with comments that say why).

Models return a dict of outputs in train mode and a criterion turns it into named losses, so the
loop knows nothing model-specific. The run folder holds ``last.pt`` (everything needed to resume
exactly at an epoch boundary), ``best.pt`` (best evaluation so far), ``metrics.jsonl`` and, at
the end, ``curves.png``. A stop (SIGINT/SIGTERM) inside an epoch keeps ``last.pt`` of the last epoch
boundary: resuming runs that epoch again from its start, so the final weights equal an uninterrupted run's.
"""

from __future__ import annotations

import gc
import json
import math
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from streid.config import Config
from streid.train import distributed as dist
from streid.train.checkpoint import load_weights, read_checkpoint, save_checkpoint
from streid.train.config import TrainConfig
from streid.train.curves import plot_curves
from streid.train.optim import build_optimizer, build_scheduler

Criterion = Callable[[dict[str, torch.Tensor], torch.Tensor], dict[str, torch.Tensor]]
Evaluator = Callable[[nn.Module], dict[str, Any]]


@dataclass
class TrainData:
    """What the loop needs from the data side."""

    loader: Iterable[Sequence[torch.Tensor]]  # (clips (B,L,3,H,W), pids (B,), ...)
    num_classes: int
    set_epoch: Callable[[int], None] = lambda epoch: None  # re-seeds the identity sampler
    refresh: Callable[[nn.Module], None] | None = None  # at each epoch start, before set_epoch (hard identities)
    evaluate: Evaluator | None = None


@dataclass
class RunState:
    epoch: int = 0  # next epoch to run
    step: int = 0
    best: float = -math.inf
    best_epoch: int = -1
    last_eval: dict[str, Any] = field(default_factory=dict)
    span_epochs: float = 0.0  # the schedule's length when schedule.fit_to_time fitted it (0: train.epochs)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("run.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


class _StopFlag:
    """SIGINT/SIGTERM ask the loop to stop after the current step and write last.pt."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Outside the main thread signals cannot be caught: leave them alone there.
            if threading.current_thread() is threading.main_thread():
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
    """Runs ``fit`` for a model, a criterion and the data; owns the run folder."""

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        criterion: Criterion,
        data: TrainData,
        out_dir: Path,
        log: Callable[[str], None] = print,
    ) -> None:
        self.cfg = cfg
        self.tcfg: TrainConfig = cfg.train
        self.device = resolve_device(cfg.run.device)
        self.model = model.to(self.device)
        self.criterion = criterion
        self.data = data
        self.out = Path(out_dir)
        self.log = log
        self.optimizer = build_optimizer(self.model, self.tcfg.optim)
        self.state = RunState()
        self.scheduler = build_scheduler(self.optimizer, self.tcfg.schedule, lambda: self.span_epochs)
        self._planned: int | None = None  # the epoch count fit_to_time last logged
        self.use_amp = self.tcfg.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.ddp_model: nn.Module = dist.wrap(self.model, self.device)
        self.rank0 = dist.rank() == 0
        self.interrupted = False  # fit() ended by a signal: last.pt holds the last epoch boundary
        self.curves: Path | None = None  # curves.png, once written

    def close(self) -> None:
        """Leave the process group, dropping the DDP wrapper first.

        A DDP reducer that outlives its gloo group aborts the process at interpreter exit ("terminate called
        without an active exception"; torch 2.14, 13 of 30 two-process runs), after the run was saved.
        """
        self.ddp_model = self.model
        gc.collect()  # the reducer sits in reference cycles: free it now, while the group still exists
        dist.cleanup()

    # ------------------------------------------------------------------ checkpoints

    def _payload(self, full: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "num_classes": self.data.num_classes,
            "epoch": self.state.epoch,
            "metrics": self.state.last_eval,
        }
        if full:
            payload.update(
                optimizer=self.optimizer.state_dict(),
                scheduler=self.scheduler.state_dict(),
                scaler=self.scaler.state_dict(),
                rng=rng_state(),
                state=self.state.__dict__,
            )
        return payload

    def save(self, name: str, full: bool = True) -> Path | None:
        if not self.rank0:
            return None
        return save_checkpoint(self.out / name, self._payload(full))

    def resume(self, path: Path) -> None:
        """Restore everything ``last.pt`` holds so the next step is the one an uninterrupted run takes."""
        ckpt = read_checkpoint(path)
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        self.state = RunState(**ckpt["state"])
        self._trim_metrics()
        self.log(f"resumed from {path} at epoch {self.state.epoch} (step {self.state.step})")

    def _trim_metrics(self) -> None:
        """Drop rows logged after the checkpoint (the stopped epoch's steps): the resumed run logs them again."""
        path = self.out / "metrics.jsonl"
        if not self.rank0 or not path.is_file():
            return
        lines = [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        keep = [x for x in lines if int(json.loads(x).get("step", 0)) <= self.state.step]
        if len(keep) != len(lines):
            tmp = path.with_name(path.name + ".part")
            tmp.write_text("".join(x + "\n" for x in keep), encoding="utf-8")
            tmp.replace(path)

    def init_from(self, path: str, skip_heads: bool) -> None:
        """Transfer: every weight of another checkpoint but its classifier heads."""
        ckpt = read_checkpoint(path)
        skipped = load_weights(self.model, ckpt["model"], skip_heads=skip_heads, source=path)
        self.log(f"initialised from {path}; skipped {len(skipped)} tensors (heads: new identities)")

    # ------------------------------------------------------------------ loop

    def _log_metrics(self, row: dict[str, Any]) -> None:
        if not self.rank0:
            return
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    def train_step(self, clips: torch.Tensor, pids: torch.Tensor) -> dict[str, float]:
        self.ddp_model.train()
        clips = clips.to(self.device, non_blocking=True)
        pids = pids.to(self.device, non_blocking=True)
        autocast = torch.autocast("cuda", dtype=torch.float16) if self.use_amp else nullcontext()
        with autocast:
            outputs = self.ddp_model(clips)
            losses = self.criterion(outputs, pids)
        loss = losses["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {self.state.step}; lower train.optim.lr?")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.tcfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.tcfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.state.step += 1
        return {k: float(v.detach()) for k, v in losses.items()}

    def evaluate(self) -> dict[str, Any]:
        if self.data.evaluate is None or not self.rank0:
            return {}
        self.model.eval()
        with torch.no_grad():
            result = self.data.evaluate(self.model)
        self.model.train()
        return result

    def fit(self, progress: bool = True) -> RunState:
        from tqdm import tqdm

        self.out.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        first_epoch = self.state.epoch
        self.interrupted = False
        if not (self.out / "last.pt").exists():
            self.save("last.pt")  # the epoch-0 boundary, so a stop inside the first epoch can resume too
        with _StopFlag() as stop:
            while self.state.epoch < self.span_epochs:
                epoch = self.state.epoch
                if self.data.refresh is not None:
                    # From the weights of the epoch boundary, which last.pt holds: a resumed run refreshes alike.
                    self.data.refresh(self.model)
                self.data.set_epoch(epoch)
                total = self.tcfg.iters_per_epoch
                bar = tqdm(
                    total=total or _safe_len(self.data.loader),
                    desc=f"epoch {epoch + 1}/{math.ceil(self.span_epochs)}",
                    disable=not (progress and self.rank0),
                    leave=False,
                    unit="batch",
                )
                t0 = time.monotonic()
                clips_seen = 0
                for i, batch in enumerate(self.data.loader):
                    clips, pids = batch[0], batch[1]  # loaders may add more (e.g. camera ids)
                    if total is not None and i >= total:
                        break
                    losses = self.train_step(clips, pids)
                    clips_seen += len(pids)
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses['loss']:.3f}")
                    if self.state.step % self.tcfg.log_every == 0 or i == 0:
                        lr = self.optimizer.param_groups[0]["lr"]
                        row = {"kind": "train", "epoch": epoch, "step": self.state.step, "lr": lr, **losses}
                        self._log_metrics(row)
                    if stop.requested:
                        break
                bar.close()
                if stop.requested:
                    # Mid-epoch stop: last.pt stays at the end of the previous epoch (weights, optimiser,
                    # RNG). Saving the partial epoch's weights and re-running the epoch on resume would
                    # take its steps twice; resuming from the boundary makes the final weights exact.
                    self.interrupted = True
                    self.log(f"stopped by a signal during epoch {epoch + 1}: last.pt holds the end of epoch {epoch}; "
                             f"--resume runs epoch {epoch + 1} again from its start")
                    return self.state
                elapsed = time.monotonic() - t0
                if self.tcfg.schedule.fit_to_time:
                    self._fit_span(epoch + 1 - first_epoch, time.monotonic() - started)
                self.scheduler.step()
                self.state.epoch += 1
                self._log_metrics(
                    {"kind": "epoch", "epoch": epoch, "step": self.state.step, "seconds": elapsed,
                     "clips_per_s": clips_seen * dist.world_size() / max(elapsed, 1e-9)}
                )
                last_epoch = self.state.epoch >= self.span_epochs
                out_of_time = (
                    self.tcfg.max_minutes is not None and (time.monotonic() - started) / 60 >= self.tcfg.max_minutes
                )
                due = self.tcfg.eval_every and self.state.epoch % self.tcfg.eval_every == 0
                if due or last_epoch or out_of_time:
                    self._run_eval(epoch)
                self.save("last.pt")
                if out_of_time:
                    self.log(f"time budget train.max_minutes={self.tcfg.max_minutes} reached after epoch {epoch + 1}")
                    break
        if self.rank0:
            self.curves = plot_curves(self.out / "metrics.jsonl", self.out / "curves.png")
        return self.state

    @property
    def span_epochs(self) -> float:
        """The schedule's length: train.epochs, or what schedule.fit_to_time fitted (kept in the run state)."""
        return self.state.span_epochs or self.tcfg.epochs

    def _fit_span(self, done: int, seconds: float) -> None:
        """``schedule.fit_to_time``, after ``done`` epochs of this run in ``seconds``: the schedule's progress is the
        share of train.max_minutes spent, so the lr only falls, however the pace changes (a first epoch slowed by
        start-up, a machine shared for a while), and the run ends after the last epoch that fits in what is left at
        this pace (never past train.epochs). ``span_epochs`` is the length that puts the next epoch at that progress."""
        budget = 60.0 * float(self.tcfg.max_minutes or 0.0)
        finished, warm, pace = self.state.epoch + 1, self.tcfg.schedule.warmup_epochs, seconds / done
        if budget - seconds < pace:  # no room for another epoch at this pace: this one was the last
            span = float(finished)
        elif finished <= warm:
            return  # warming up: the schedule's length does not matter yet
        else:
            span = warm + (finished - warm) / min(seconds / budget, 1.0)
        span = min(float(self.tcfg.epochs), span)
        planned = min(self.tcfg.epochs, finished + int(max(0.0, budget - seconds) // pace))
        if planned != self._planned:
            self.log(f"schedule fitted to train.max_minutes={self.tcfg.max_minutes}: {planned} epochs at "
                     f"{pace:.1f} s an epoch")
        self._planned = planned
        self.state.span_epochs = span

    def _run_eval(self, epoch: int) -> None:
        result = self.evaluate()
        if not result:
            return
        self.state.last_eval = result
        self._log_metrics({"kind": "eval", "epoch": epoch + 1, "step": self.state.step, **_scalars(result)})
        score = float(result[self.tcfg.best_metric])
        self.log(f"epoch {epoch + 1}: mAP {100 * result['mAP']:.1f}  rank-1 {100 * result['R1']:.1f}")
        if score > self.state.best:
            self.state.best, self.state.best_epoch = score, epoch + 1
            self.save("best.pt", full=False)


def _safe_len(obj: object) -> int | None:
    try:
        return len(obj)  # type: ignore[arg-type]
    except TypeError:
        return None


def _scalars(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if isinstance(v, int | float | str)}
