"""torchreid OSNet weights: read a checkpoint file, tell its architecture from its keys, load it strictly.

torchreid saves either a bare state dict or ``{"state_dict": ..., "epoch": ...}``, with ``module.`` in
front of every key when the model ran under DataParallel. Files are read with ``weights_only=True`` (no
arbitrary pickle). A key this layout does not have, or one it needs and the file lacks, is an error that
names them: a half-loaded model embeds nonsense without saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from streid.train.models.osnet import ARCHS, OSNet

CLASSIFIER_KEYS = ("classifier.weight", "classifier.bias")
WIDTHS = {64: "x1_0", 48: "x0_75", 32: "x0_5", 16: "x0_25"}


class TorchreidWeightsError(ValueError):
    """A file that is not (or does not fit) a torchreid OSNet state dict; the message names the file."""


def _numpy_scalars() -> list:
    """numpy scalars and dtypes, which torchreid's ``save_checkpoint`` stores (``rank1``): plain data, no code."""
    import numpy as np

    core = getattr(np, "_core", None) or np.core
    dtypes = [getattr(np.dtypes, n) for n in ("Float64DType", "Float32DType", "Int64DType") if hasattr(np, "dtypes")]
    return [(core.multiarray.scalar, "numpy.core.multiarray.scalar"), core.multiarray.scalar, np.dtype, *dtypes]


def read_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict inside a torchreid checkpoint, ``module.`` prefixes removed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights file not found")
    try:
        with torch.serialization.safe_globals(_numpy_scalars()):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TorchreidWeightsError(f"{path}: not a PyTorch weights file ({type(exc).__name__}: {exc})") from None
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise TorchreidWeightsError(f"{path}: no state dict of tensors inside (torchreid saves one, or "
                                    "{'state_dict': ...})")
    return {k.removeprefix("module."): v for k, v in data.items()}


def detect_arch(state: dict[str, torch.Tensor], source: str = "weights") -> str:
    """The OSNet architecture a state dict was saved from (stem width, AIN/IBN keys); raises if it is none."""
    stem = state.get("conv1.conv.weight")
    if stem is None or stem.ndim != 4 or stem.shape[1:] != (3, 7, 7):
        raise TorchreidWeightsError(f"{source}: not an OSNet state dict (no 7x7 'conv1.conv.weight' stem)")
    width = WIDTHS.get(int(stem.shape[0]))
    if width is None:
        raise TorchreidWeightsError(f"{source}: OSNet stem of {stem.shape[0]} channels fits no known width "
                                    f"({', '.join(f'{c}: {w}' for c, w in WIDTHS.items())})")
    variant = "ain_" if "pool2.0.conv.weight" in state else "ibn_" if "conv2.0.IN.weight" in state else ""
    arch = f"osnet_{variant}{width}"
    if arch not in ARCHS:
        raise TorchreidWeightsError(f"{source}: looks like {arch}, which torchreid does not define "
                                    f"(choices: {', '.join(ARCHS)})")
    return arch


def check_keys(model: OSNet, state: dict[str, torch.Tensor], source: str) -> None:
    """Every key of the file is one of the model's and every model key is in the file (classifier optional)."""
    own = model.state_dict()
    optional = set(CLASSIFIER_KEYS) | {k for k in own if k.endswith("num_batches_tracked")}
    missing = [k for k in own if k not in state and k not in optional]
    unknown = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} (model {tuple(own[k].shape)})" for k in own
              if k in state and k not in CLASSIFIER_KEYS and state[k].shape != own[k].shape]
    parts = []
    if unknown:
        parts.append(f"unknown keys: {', '.join(unknown[:6])}{' ...' if len(unknown) > 6 else ''}")
    if missing:
        parts.append(f"missing keys: {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}")
    if shapes:
        parts.append(f"other shapes: {', '.join(shapes[:3])}")
    if parts:
        raise TorchreidWeightsError(f"{source}: does not fit torchreid's {model.arch} layout; {'; '.join(parts)}")


def load_torchreid_state(model: OSNet, state: dict[str, torch.Tensor], source: str = "weights",
                         keep_classifier: bool = True) -> None:
    """Load ``state`` (torchreid layout) into ``model``; ``keep_classifier`` False leaves the model's own head."""
    check_keys(model, state, source)
    weights = dict(state)
    if not keep_classifier:
        for key in CLASSIFIER_KEYS:
            weights.pop(key, None)
    elif "classifier.weight" in weights:
        model.classifier = torch.nn.Linear(*reversed(weights["classifier.weight"].shape))
    result = model.load_state_dict(weights, strict=False)
    left = [k for k in result.missing_keys if k not in CLASSIFIER_KEYS and not k.endswith("num_batches_tracked")]
    if left or result.unexpected_keys:  # check_keys already said it; this guards the two from drifting apart
        raise TorchreidWeightsError(f"{source}: missing {left}, unknown {result.unexpected_keys}")


def load_torchreid_file(model: OSNet, path: str | Path, keep_classifier: bool = True) -> None:
    """``read_state`` + architecture check + ``load_torchreid_state``."""
    state = read_state(path)
    arch = detect_arch(state, str(path))
    if arch != model.arch:
        raise TorchreidWeightsError(f"{path}: holds {arch} weights, the model is {model.arch}")
    load_torchreid_state(model, state, str(path), keep_classifier)


def save_torchreid(model: OSNet, path: str | Path) -> Path:
    """Save ``model``'s weights the way torchreid's ``save_checkpoint`` does (``{"state_dict": ...}``)."""
    path = Path(path)
    torch.save({"state_dict": model.state_dict(), "arch": model.arch}, path)
    return path


def osnet_from_file(path: str | Path, arch: str | None = None) -> tuple[Any, str]:
    """(OSNetClip in eval mode with the file's weights, architecture); ``arch`` given = must match the file."""
    from streid.train.models.osnet import OSNetClip

    state = read_state(path)
    found = detect_arch(state, str(path))
    if arch is not None and arch != found:
        raise TorchreidWeightsError(f"{path}: holds {found} weights, not {arch}")
    model = OSNetClip(found)
    load_torchreid_state(model, state, str(path), keep_classifier=False)
    return model.eval(), found
