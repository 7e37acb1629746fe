"""Glue between ``streid synth`` and the builder: progress bars and the final summary table."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from streid.config import Config
from streid.train.synth.build import PARTS, synthesize


def run_synth(cfg: Config, out: Path, *, seed: int, parts: list[str] | None, overwrite: bool) -> dict:
    """Write the world with one tqdm bar per part and print what was written or skipped."""
    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    with ExitStack() as stack:

        def bar(part: str, total: int) -> Callable[[int], None]:
            stack.close()  # one bar at a time: the previous part is finished
            return stack.enter_context(tqdm(total=total, desc=part, unit="item", dynamic_ncols=True)).update

        summary = synthesize(
            cfg.synth, seed, out, parts or PARTS, workers=cfg.run.workers, overwrite=overwrite, progress=bar
        )
    table = Table(title=f"synthetic world -> {out} (seed {seed})")
    table.add_column("part")
    table.add_column("status")
    table.add_column("details", overflow="fold")
    for part, info in summary.items():
        status = info.get("status", "")
        details = ", ".join(f"{k}={v}" for k, v in info.items() if k != "status")
        table.add_row(part, status, details)
    Console().print(table)
    return summary
