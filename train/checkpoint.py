"""STREID checkpoints: one file carries the model, its config and (for resume) the training state.

Format (``torch.save`` dict): ``format="streid-checkpoint"``, ``version``, ``config`` (the full
resolved config as a plain dict, so export and eval need nothing else), ``model`` (state_dict),
``num_classes``, ``epoch``, ``metrics`` and, in ``last.pt``, ``optimizer``, ``scheduler``, ``rng``,
``history``. Writes go to a temporary file that is renamed, so a crash never leaves a truncated
checkpoint under the final name.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

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
    data = {"format": FORMAT, "version": VERSION, **payload}
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
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable torch checkpoint (truncated or corrupt?): {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a STREID checkpoint (no format='{FORMAT}' key)")
    if int(data.get("version", 0)) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {data['version']} is newer than this STREID ({VERSION})")
    for key in ("config", "model", "num_classes"):
        if key not in data:
            raise CheckpointError(f"{path}: checkpoint has no '{key}'")
    return data


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
