"""STREID checkpoints: one file carries the model, its config and (for resume) the training state.

Format (``torch.save`` dict): ``format="streid-checkpoint"``, ``version``, ``config`` (the full
resolved config as a plain dict, so export and eval need nothing else), ``model`` (state_dict),
``num_classes``, ``epoch``, ``metrics`` and, in ``last.pt``, ``optimizer``, ``scheduler``, ``rng``,
``history``. Writes go to a temporary file that is renamed, so a crash never leaves a truncated
checkpoint under the final name.

Reading never runs code from the file: ``torch.load(weights_only=True)`` accepts tensors and plain types only,
so a crafted pickle given as ``--embedder evil.pt`` is refused. What is saved is made plain first (numpy arrays
and scalars become lists and numbers); checkpoints of older versions, which pickled numpy's RNG state, still load
because the few numpy types that rebuild an array are allow-listed (they construct data, they call nothing else).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = "streid-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Atomically write a checkpoint (temp file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    data = plain({"format": FORMAT, "version": VERSION, **payload})
    try:
        with open(tmp, "wb") as fh:
            torch.save(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU, with a clear error for missing, corrupt or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    with path.open("rb") as f:
        head = f.read(2)
    if not zipfile.is_zipfile(path) and head[:1] != b"\x80":  # neither torch's zip format nor a legacy pickle
        raise CheckpointError(f"{path}: not a readable torch checkpoint (truncated or corrupt?)")
    try:
        with torch.serialization.safe_globals(_OLD_NUMPY_GLOBALS):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError) as exc:
        if "Weights only load failed" in str(exc):
            raise CheckpointError(f"{path}: refused: the file holds objects other than tensors and plain values, "
                                  "which could run code when loaded") from None
        raise CheckpointError(f"{path}: not a readable torch checkpoint (truncated or corrupt?): {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a STREID checkpoint (no format='{FORMAT}' key)")
    if int(data.get("version", 0)) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {data['version']} is newer than this STREID ({VERSION})")
    for key in ("config", "model", "num_classes"):
        if key not in data:
            raise CheckpointError(f"{path}: checkpoint has no '{key}'")
    return data


def plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into lists and Python numbers (``weights_only`` loads those)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [plain(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


_OLD_NUMPY_GLOBALS: list[Any] = [np.ndarray, np.dtype, np.dtypes.UInt32DType, np.dtypes.Float64DType,
                                 np.dtypes.Float32DType, np.dtypes.Int64DType]
for _mod in ("numpy._core.multiarray", "numpy.core.multiarray"):
    try:
        _multiarray = __import__(_mod, fromlist=["_reconstruct", "scalar"])
        _OLD_NUMPY_GLOBALS += [_multiarray._reconstruct, _multiarray.scalar]
        break
    except ImportError:
        continue


def load_weights(
    model: torch.nn.Module, state: dict[str, torch.Tensor], *, skip_heads: bool, source: str
) -> list[str]:
    """Copy matching weights into ``model``; classifier heads (or any shape mismatch) are skipped
    when ``skip_heads`` (transfer to other identities). Returns the names skipped."""
    own = model.state_dict()
    skipped: list[str] = []
    filtered: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if name not in own:
            skipped.append(name)
        elif own[name].shape != tensor.shape or (skip_heads and _is_head(name)):
            if not skip_heads:
                raise CheckpointError(
                    f"{source}: weight '{name}' has shape {tuple(tensor.shape)}, model expects {tuple(own[name].shape)}"
                )
            skipped.append(name)
        else:
            filtered[name] = tensor
    missing = [n for n in own if n not in filtered and not (skip_heads and _is_head(n))]
    if missing and not skip_heads:
        raise CheckpointError(f"{source}: checkpoint lacks {len(missing)} weights, e.g. '{missing[0]}'")
    model.load_state_dict(filtered, strict=False)
    return skipped


def _is_head(name: str) -> bool:
    """Classifier heads are the identity-specific layers (named *classifier* by every model)."""
    return "classifier" in name
