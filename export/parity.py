"""Numeric parity of an exported graph with PyTorch: cosine per embedding, at the batch sizes asked for.

The reference runs the model the way training and evaluation do (``streid.train.data.clips.to_tensor``:
BGR -> RGB, /255, mean/std), so the check also covers the preprocessing the graph carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from streid.train.data.clips import to_tensor


@dataclass
class ParityReport:
    """Minimum cosine per batch size (and overall) of artifact vs PyTorch embeddings."""

    min_cosine: dict[int, float] = field(default_factory=dict)

    @property
    def worst(self) -> float:
        return min(self.min_cosine.values())

    def line(self) -> str:
        per = ", ".join(f"batch {b}: {c:.6f}" for b, c in sorted(self.min_cosine.items()))
        return f"min cosine {self.worst:.6f} ({per})"


@torch.no_grad()
def torch_embeddings(model: torch.nn.Module, clips: np.ndarray, flip: bool = False) -> np.ndarray:
    """Reference embeddings of uint8 BGR clips (N, L, H, W, 3) through the training preprocessing; ``flip``:
    averaged with those of the mirrored clips (what a flip-averaged artifact computes)."""
    batch = torch.stack([to_tensor(np.ascontiguousarray(clip[..., ::-1])) for clip in clips])
    out = torch.nn.functional.normalize(model.eval()(batch), dim=1)
    if flip:
        out = out + torch.nn.functional.normalize(model(batch.flip(-1)), dim=1)  # (N, L, C, H, W): W is last
    return torch.nn.functional.normalize(out, dim=1).numpy()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.sum(a * b, axis=1)


def onnx_parity(session, reference: np.ndarray, clips: np.ndarray, batches: tuple[int, ...]) -> ParityReport:
    """Run ``session`` (ONNX Runtime) on ``clips`` in chunks of each batch size and compare with ``reference``."""
    input_name = session.get_inputs()[0].name
    report = ParityReport()
    for batch in batches:
        n = len(clips) // batch * batch
        if n == 0:
            raise ValueError(f"parity at batch {batch} needs at least {batch} clips, got {len(clips)}")
        outs = [session.run(None, {input_name: clips[s:s + batch]})[0] for s in range(0, n, batch)]
        got = np.concatenate(outs)
        if got.shape != reference[:n].shape:
            raise ValueError(f"batch {batch}: artifact returned {got.shape}, PyTorch {reference[:n].shape}")
        report.min_cosine[batch] = float(cosines(got, reference[:n]).min())
    return report
