"""Fold the input normalisation (BGR -> RGB, /255, mean/std) into the model's first convolution.

Elementwise ops on the raw (N, L, H, W, 3) input are slow in ONNX Runtime (its transpose optimiser moves
them onto the channel-last layout, where a flip and a per-channel broadcast run element by element), and
they cost a pass over the biggest tensor of the graph. A convolution is linear, so

    conv(W, s * (flip(x) - m)) = conv(W', x) + conv(W, -s * m)       with W' = flip(W * s) over input channels

is exact with zero padding as well, because ``conv(W, -s * m)`` is computed on the padded constant image
(a fixed map, since H and W are fixed) rather than as a bias. The graph then only casts and transposes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

CONVS = (nn.Conv2d, nn.Conv3d)


class FoldedInputConv(nn.Module):
    """The first convolution taking raw BGR 0..255 input: flipped, scaled weights plus a constant offset map."""

    def __init__(self, conv: nn.Conv2d | nn.Conv3d, offset: Tensor, scale: Tensor) -> None:
        super().__init__()
        shape = (1, 3) + (1,) * (conv.weight.dim() - 2)
        self.conv = type(conv)(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                               conv.dilation, conv.groups, False, conv.padding_mode)
        self.conv.weight.data = (conv.weight.data * scale.view(shape)).flip(1).clone()
        self.register_buffer("offset", offset)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x) + self.offset


@torch.no_grad()
def first_conv(model: nn.Module, sample: Tensor) -> tuple[str, nn.Module, tuple[int, ...]] | None:
    """(name, module, input shape) of the first 3-channel convolution ``model(sample)`` runs, if any."""
    seen: list[tuple[str, nn.Module, tuple[int, ...]]] = []
    hooks = [
        module.register_forward_hook(lambda m, args, _out, n=name: seen.append((n, m, tuple(args[0].shape))))
        for name, module in model.named_modules()
        if isinstance(module, CONVS) and module.in_channels == 3 and module.groups == 1
    ]
    try:
        model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    return seen[0] if seen else None


@torch.no_grad()
def fold_input_norm(model: nn.Module, sample: Tensor, mean: Tensor, std: Tensor) -> nn.Module | None:
    """``model`` (changed in place) taking raw BGR 0..255 float clips, or None when no first conv is found.

    ``sample`` is one normalised clip batch of the exported size; the caller checks the result numerically.
    """
    found = first_conv(model, sample)
    if found is None:
        return None
    name, conv, in_shape = found
    scale = 1.0 / (255.0 * std)
    view = (1, 3) + (1,) * (len(in_shape) - 2)
    constant = (-mean / std).view(view).expand(1, *in_shape[1:])  # the normalised image of an all-zero input
    offset = conv(constant.contiguous())
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, FoldedInputConv(conv, offset, scale).eval())
    return model


BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@torch.no_grad()
def fold_batchnorm(model: nn.Module, sample: Tensor) -> int:
    """Fold every eval-mode BatchNorm that directly consumes a convolution's output into that convolution.

    Pairs are found by running ``model(sample)`` with hooks (the BN's input *is* the conv's output tensor),
    so no symbolic tracing is needed. Changes ``model`` in place (folded BNs become Identity); returns the
    number of pairs folded. The caller checks the folded model numerically against the original.
    """
    outputs: list[tuple[nn.Module, Tensor]] = []
    pairs: list[tuple[nn.Module, str, nn.Module]] = []
    names = {module: name for name, module in model.named_modules()}

    def after_conv(module: nn.Module, _args: tuple, out: Tensor) -> None:
        outputs.append((module, out))

    def before_bn(module: nn.Module, args: tuple) -> None:
        conv = next((c for c, out in reversed(outputs) if out is args[0]), None)
        if conv is not None and conv.out_channels == module.num_features:
            pairs.append((conv, names[module], module))

    hooks = [m.register_forward_hook(after_conv) for m in model.modules() if isinstance(m, CONVS)]
    hooks += [m.register_forward_pre_hook(before_bn) for m in model.modules()
              if isinstance(m, BATCHNORMS) and not m.training and m.track_running_stats]
    try:
        model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    convs = [conv for conv, _, _ in pairs]
    folded = 0
    for conv, bn_name, bn in pairs:
        if convs.count(conv) != 1:  # one conv feeding two BNs: leave both as they are
            continue
        factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shape = (-1,) + (1,) * (conv.weight.dim() - 1)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight.data = conv.weight.data * factor.view(shape)
        conv.bias = nn.Parameter((bias - bn.running_mean) * factor + bn.bias)
        parent_name, _, attr = bn_name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, attr, nn.Identity())
        folded += 1
    return folded
