"""A trainable ultralytics detector rebuilt from its exported ONNX (the built-in one ships as ONNX only).

Fine-tuning the built-in detector on a new site, or continuing its training chain when the stage checkpoints are
gone, needs a ``.pt``. The export folded every BatchNorm into its convolution, so each conv's weight and bias are
copied from the ONNX initialiser of the Conv node named after it, and each BatchNorm is rebuilt so that it computes
exactly what the fold did: its running mean and variance are the conv outputs' statistics on sample images (what
training-mode BatchNorm sees in its first batches) and gamma / beta undo them. ``parity`` checks the result
against ONNX Runtime. scripts/detector_pt_from_onnx.py is the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def module_path(node_name: str) -> str:
    """``/model.0/m.1/conv/conv.0/conv.0.0/Conv`` -> ``model.0.m.1.conv.0.0``: torch's export scopes repeat the
    parent's name inside a Sequential (``conv.0`` then ``conv.0.0``), so such a segment replaces the one before."""
    parts: list[str] = []
    for seg in node_name.strip("/").split("/")[:-1]:
        if parts and seg.startswith(parts[-1] + "."):
            parts[-1] = seg
        else:
            parts.append(seg)
    return ".".join(parts)


def onnx_graph(path: Path) -> tuple[dict[str, np.ndarray], Any]:
    """(initialiser name -> array, graph) of an ONNX file; a file that is none raises ValueError naming it."""
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:  # protobuf's DecodeError and friends: not an ONNX file
        raise ValueError(f"{path}: not an ONNX model ({type(exc).__name__})") from None
    return {i.name: numpy_helper.to_array(i) for i in graph.initializer}, graph


def onnx_convs(path: Path, loaded: tuple[dict[str, np.ndarray], Any] | None = None
               ) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Module path -> (weight, bias or None) of every Conv node of the exported graph (``loaded``: what
    :func:`onnx_graph` already read of it)."""
    inits, graph = loaded or onnx_graph(path)
    out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        weight = inits.get(node.input[1])
        if weight is None:
            raise ValueError(f"{path}: Conv node {node.name} has no weight initialiser")
        bias = inits.get(node.input[2]) if len(node.input) > 2 else None
        out[module_path(node.name)] = (weight, bias)
    return out


def batchnorm_after(model: Any, name: str) -> Any:
    """The BatchNorm2d that follows conv ``name`` in the unfused model (an ultralytics Conv's ``bn``, or the next
    child of a torchvision Sequential), or None for a conv with its own bias."""
    from torch import nn

    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name)
    if hasattr(parent, "bn") and getattr(parent, "conv", None) is model.get_submodule(name):
        return parent.bn
    if isinstance(parent, nn.Sequential) and child.isdigit() and int(child) + 1 < len(parent):
        nxt = parent[int(child) + 1]
        return nxt if isinstance(nxt, nn.BatchNorm2d) else None
    return None


def load_images(folder: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` images (BGR) of ``folder``; an unreadable one is an error naming it."""
    import cv2

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))[:count]
    if not files:
        raise FileNotFoundError(f"--images: no .jpg/.png under {folder}")
    images = [cv2.imread(str(f)) for f in files]
    bad = [f.name for f, im in zip(files, images, strict=True) if im is None]
    if bad:
        raise ValueError(f"--images: cannot read {', '.join(bad[:3])} under {folder}")
    return images


def fold_back(model: Any, convs: dict[str, tuple[np.ndarray, np.ndarray | None]], run: Any) -> None:
    """Each conv of ``model`` named in ``convs`` takes its ONNX (weight, bias); the BatchNorm after it (if any) is
    rebuilt so that it computes what the export's fold did: first an exact identity (eval) adding the bias, then,
    with the conv outputs' statistics while ``run()`` feeds the model real inputs, running mean / variance set to
    them and gamma / beta undoing them. A conv without a BatchNorm keeps the bias itself, or must have none."""
    import torch

    modules = dict(model.named_modules())
    norms = {}
    with torch.no_grad():
        for name, (weight, bias) in convs.items():
            conv = modules[name]
            if tuple(conv.weight.shape) != weight.shape:
                raise ValueError(f"{name}: ONNX weight {weight.shape} vs model {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(weight.copy()))
            bn = batchnorm_after(model, name)
            b = torch.from_numpy(bias.copy()) if bias is not None else torch.zeros(weight.shape[0])
            if bn is None:
                if conv.bias is not None:
                    conv.bias.copy_(b)
                elif bias is not None and np.any(bias):
                    raise ValueError(f"{name}: ONNX has a bias the model's conv cannot hold")
                continue
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            bn.weight.fill_(1.0)
            bn.bias.copy_(b)
            norms[name] = (conv, bn, b)
        stats: dict[str, list[torch.Tensor]] = {n: [] for n in norms}
        hooks = [norms[n][0].register_forward_hook(lambda _m, _i, out, n=n: stats[n].append(out.detach()))
                 for n in norms]
        try:
            run()
        finally:
            for h in hooks:
                h.remove()
        for name, (_conv, bn, b) in norms.items():
            z = torch.cat(stats[name]).transpose(0, 1).flatten(1)
            mean, var = z.mean(1), z.var(1, unbiased=False)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(b + mean)


def rebuild(onnx_path: Path, model_yaml: str, images: list[np.ndarray], imgsz: int) -> Any:
    """The unfused model of ``model_yaml`` computing what ``onnx_path`` computes (see the module docstring);
    ``images`` (BGR, fed at ``imgsz`` as ``export.detector.to_input`` does) give the BatchNorm statistics."""
    import torch

    from streid.export.detector import to_input
    from streid.offline import import_ultralytics

    yolo = import_ultralytics().YOLO(model_yaml)
    model = yolo.model.eval()
    convs = onnx_convs(onnx_path)
    modules = dict(model.named_modules())
    torch_convs = [n for n, m in modules.items() if isinstance(m, torch.nn.Conv2d)]
    extra = sorted(set(convs) - set(torch_convs))
    if extra:
        raise ValueError(f"{onnx_path} does not fit {model_yaml}: its convs {extra[:5]} are not in the model")
    unused = [n for n in torch_convs if n not in convs]  # pruned from the graph: their output feeds nothing
    if len(unused) > len(torch_convs) // 10:
        raise ValueError(f"{onnx_path} does not fit {model_yaml}: {len(unused)} of its convs are not in the graph")
    fold_back(model, {n: convs[n] for n in torch_convs if n in convs},
              lambda: model(torch.from_numpy(to_input(images, imgsz))))
    return yolo


def parity(yolo: Any, onnx_path: Path, image: np.ndarray, imgsz: int) -> Any:
    """``export.detector.onnx_parity`` of the rebuilt model against ``onnx_path`` on ``image`` (BGR; batch 1 and 2,
    flipped views): the worst box (px) and score differences; ParityError beyond the FP32 export bar."""
    from streid.export.detector import onnx_parity

    return onnx_parity(yolo, onnx_path, image, imgsz, (1, 2), "fp32")


def provenance_path(weights: Path) -> Path:
    """Where a rebuilt checkpoint says what it was rebuilt from (``X.pt`` -> ``X.pt.source.json``): the model card
    of a detector fine-tuned from it names that ONNX instead of "local weights"."""
    return weights.with_name(weights.name + ".source.json")


def write_provenance(weights: Path, onnx_path: Path, difference: float) -> None:
    """Record the ONNX (name, SHA-256, its card's first line if there is one) ``weights`` was rebuilt from."""
    import json

    from streid.models.download import sha256_file

    card = onnx_path.with_suffix(".md")
    intro = card.read_text(encoding="utf-8").partition("\n\n")[2].partition("\n\n")[0] if card.is_file() else ""
    entry = {"onnx": str(onnx_path), "sha256": sha256_file(onnx_path), "max_difference": difference,
             "card": intro.strip()}
    provenance_path(weights).write_text(json.dumps(entry, indent=2), encoding="utf-8")


def rebuilt_from(weights: Path) -> str | None:
    """One line for a model card: the ONNX ``weights`` was rebuilt from, or None when it was not rebuilt."""
    import json

    path = provenance_path(weights)
    if not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        line = (f"weights rebuilt by scripts/detector_pt_from_onnx.py from `{Path(entry['onnx']).name}` "
                f"(sha256 {entry['sha256'][:12]}, largest raw-output difference {entry['max_difference']:.1e})")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a rebuilt checkpoint's source record ({exc!r})") from None
    return f"{line}, whose card says: {entry['card']}" if entry.get("card") else line
