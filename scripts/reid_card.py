"""Write the model card of an exported re-id artifact: command, config, data, metrics, size, speed.

    .venv/bin/python scripts/reid_card.py --onnx deploy/models/reid_small.onnx --checkpoint RUN/best.pt \
        --eval-data runs/synth/pretrain/reid runs/synth/target/reid --out deploy/models/reid_small.md

Metrics are measured on the artifact itself (ONNX Runtime, uint8 BGR clips in, as the pipeline runs it) on
each named synthetic test split; speed is embeddings/s at batch 8 on this machine's CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from streid.export.checkpoint import load_checkpoint
from streid.pipeline.embedder import load_embedder
from streid.train.data import read_dataset
from streid.train.eval.artifact import evaluate_embedder


def speed(path: Path, batch: int = 8, seconds: float = 5.0) -> float:
    emb = load_embedder(path, device="cpu")
    seq, h, w, _ = emb.input_shape
    clips = np.random.default_rng(0).integers(0, 255, (batch, seq, h, w, 3), dtype=np.uint8)
    emb.embed(clips)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        emb.embed(clips)
        n += batch
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--eval-data", type=Path, nargs="+", required=True, help="synthetic reid/ folders")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--command", default="scripts/make_default_models.sh reid")
    args = ap.parse_args()
    _, config, meta = load_checkpoint(args.checkpoint)
    emb = load_embedder(args.onnx, device="cpu")
    rows = []
    for root in args.eval_data:
        r = evaluate_embedder(emb, read_dataset("synthetic", root))
        rows.append(f"| `{root}` | {100 * r['mAP']:.1f} | {100 * r['R1']:.1f} | {100 * r['R5']:.1f} | "
                    f"{r['num_query']} / {r['num_gallery']} |")
    size_mb = args.onnx.stat().st_size / 2**20
    eps = speed(args.onnx)
    m = config["model"]
    card = f"""# `{args.onnx.name}`: the built-in re-id model

- **Model:** `{m['name']}` (depth {m.get('depth')}, width {m.get('width')}, embedding {meta['embedding_dim']}),
  {meta['seq_len']}-frame clips at {meta['height']}x{meta['width']}; uint8 BGR clips in, L2-normalised
  embedding out (preprocessing inside the graph; metadata in the ONNX file).
- **Made by:** `{args.command}`, i.e. `streid train --config configs/train/nl3d_synthetic_pretrain.yaml`
  on the synthetic `pretrain` world (`streid synth --config configs/synth/pretrain_small.yaml`), then
  `streid export onnx --checkpoint {args.checkpoint}` (parity vs PyTorch checked on export).
- **Trained:** {meta['epoch']} epochs, {meta['num_classes']} training identities, seed {config['run']['seed']}.
- **Trained on:** {emb.meta['trained_on']} data (`streid.trained_on` in the artifact's metadata).
- **Size:** {size_mb:.1f} MB. **Speed:** {eps:.0f} embeddings/s at batch 8 (ONNX Runtime, CPU,
  {platform.processor() or platform.machine()}, this machine).

## Metrics (ONNX artifact, torchreid protocol: queries not in the gallery)

| test split | mAP | rank-1 | rank-5 | queries / gallery |
|---|---|---|---|---|
{chr(10).join(rows)}

The `pretrain` split has identities never seen in training but the training world's style; `target` is a
differently styled world (indoor, warmer, lower cameras) the model never saw: the transfer case.

## Training config

```json
{json.dumps(config, indent=2)}
```
"""
    args.out.write_text(card, encoding="utf-8")
    print(card.split("## Training config")[0])


if __name__ == "__main__":
    main()
