"""torchreid-layout OSNet weight files with random weights, written the way torchreid saves them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def write_torchreid_osnet(path: Path, arch: str = "osnet_x0_25", num_classes: int = 11, seed: int = 0,
                          wrapped: bool = True) -> Path:
    """Random OSNet of ``arch`` (BN statistics varied) saved as torchreid does: ``module.`` keys, checkpoint dict."""
    from streid.train.models.osnet import OSNet

    torch.manual_seed(seed)
    model = OSNet(arch, num_classes)
    for module in model.modules():  # untrained BN stats are 0/1; vary them so parity is not checked on a trivial map
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    rank1 = np.float64(0.5)  # torchreid stores its CMC value as a numpy scalar
    torch.save({"state_dict": state, "epoch": 60, "rank1": rank1} if wrapped else state, path)
    return path
