"""``streid eval``: a checkpoint (which carries its config) on a data set's query/gallery split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def evaluate_checkpoint(
    checkpoint: Path,
    data: Path | None = None,
    out: Path | None = None,
    overrides: list[str] | None = None,
    rerank: bool = False,
    device: str = "auto",
    queries: int = 6,
) -> dict[str, Any]:
    """Print the table, write ``eval.json`` and ``ranked.png`` (default: next to the checkpoint)."""
    import torch

    from streid.config import apply_overrides, load_config, validate
    from streid.export.checkpoint import load_checkpoint
    from streid.train.data.datasets import build_dataloaders
    from streid.train.engine import resolve_device
    from streid.train.eval.features import extract_features
    from streid.train.eval.metrics import evaluate_rank
    from streid.train.eval.report import report
    from streid.train.eval.visualize import save_ranked

    model, config, _ = load_checkpoint(checkpoint)
    if data is not None:
        data_cfg = load_config(data, overrides or [])
        data_cfg.require("data")
        dcfg = data_cfg.data
    else:
        if "data" not in config:
            raise FileNotFoundError(f"{checkpoint}: carries no data section; pass --data CONFIG")
        raw, _ = apply_overrides({"data": dict(config["data"])}, overrides or [])
        dcfg = validate(raw, source=checkpoint).data
    dcfg = dcfg.model_copy(update={"extra_train": []})  # scoring reads root's query/gallery; extra sets train only
    dev = resolve_device(device)
    model = model.to(dev)
    loaders = build_dataloaders(dcfg, seed=0)
    with torch.no_grad():
        qf, qp, qc = extract_features(model, loaders.query, dev)
        gf, gp, gc = extract_features(model, loaders.gallery, dev)
    dist = 1.0 - qf @ gf.T
    if rerank:
        from streid.train.eval.rerank import re_ranking

        dist = re_ranking(qf, gf)
    r = evaluate_rank(dist, qp, gp, qc, gc, max_rank=20)
    cmc = r["cmc"]
    result: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "model": config["model"]["name"],
        "data": {"format": dcfg.format, "root": dcfg.root, "split": dcfg.split},
        "protocol": dcfg.protocol,
        "rerank": rerank,
        "mAP": r["mAP"],
        **{f"R{k}": float(cmc[k - 1]) for k in (1, 5, 10, 20)},
        "mINP": r["mINP"],
        "num_query": len(qp),
        "num_gallery": len(gp),
        "num_valid_queries": r["num_valid_queries"],
        "num_skipped": r["num_skipped"],
    }
    out_dir = Path(out) if out is not None else Path(checkpoint).parent
    report(result, out_dir / "eval.json")
    qrecs = loaders.query.dataset.records
    grecs = loaders.gallery.dataset.records
    picks = np.linspace(0, len(qrecs) - 1, num=min(queries, len(qrecs))).round().astype(int)
    png = save_ranked(out_dir / "ranked.png", dist, qrecs, grecs, queries=[int(i) for i in picks])
    print(f"wrote {out_dir / 'eval.json'} and {png}")
    return result
