"""OSNet: torchreid's state-dict layout exactly, the clip contract, and strict loading of torchreid files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from streid.train.models.config import OSNET_ARCHS
from streid.train.models.osnet import ARCHS, OSNet, OSNetClip
from streid.train.models.torchreid_weights import (
    TorchreidWeightsError,
    detect_arch,
    load_torchreid_file,
    osnet_from_file,
    read_state,
)
from tests.torchreid_files import write_torchreid_osnet

# Number of state-dict entries and parameters (classifier excluded) of torchreid 0.2.5's models, and keys of
# each layout: osnet.py (stage pools inside conv2/conv3), IBN (IN after the stage-1 sums), osnet_ain.py
# (pool2/pool3 apart, streams as conv2.T.layers.N, IN inside some residuals without conv3's BN).
TORCHREID = {
    "osnet_x1_0": (567, 2_169_508, ["conv2.0.conv2d.3.bn.running_var", "conv3.2.0.conv.weight", "fc.1.weight"]),
    "osnet_x0_25": (567, 201_864, ["conv2.0.conv2a.conv1.weight", "conv2.0.downsample.bn.bias",
                                   "conv4.1.gate.fc1.weight", "conv5.conv.weight", "fc.0.weight"]),
    "osnet_ibn_x1_0": (568, 2_170_532, ["conv1.bn.weight", "conv2.0.IN.weight", "conv2.1.IN.bias"]),
    "osnet_ain_x1_0": (552, 2_169_508, ["pool2.0.conv.weight", "conv2.0.conv2.3.layers.3.bn.weight",
                                        "conv2.0.IN.weight", "conv3.0.conv3.bn.weight", "conv3.1.IN.bias",
                                        "conv4.0.IN.bias"]),
    "osnet_ain_x0_25": (552, 201_864, ["pool3.0.bn.running_mean", "conv4.0.conv2.0.layers.0.conv2.weight"]),
}


def test_config_and_model_name_the_same_family() -> None:
    assert tuple(ARCHS) == OSNET_ARCHS


@pytest.mark.parametrize("arch", sorted(TORCHREID))
def test_layout_is_torchreids(arch: str) -> None:
    entries, params, keys = TORCHREID[arch]
    state = OSNet(arch, num_classes=5).state_dict()
    assert len(state) == entries
    assert sum(v.numel() for k, v in OSNet(arch).named_parameters() if not k.startswith("classifier")) == params
    assert all(k in state for k in keys), [k for k in keys if k not in state]
    if "ain" in arch:
        assert "conv2.0.conv3.bn.weight" not in state  # IN inside the residual replaces conv3's BN
        assert "conv1.bn.running_mean" not in state  # the stem is instance-normalised


def test_clip_model_averages_frame_features() -> None:
    torch.manual_seed(0)
    model = OSNetClip("osnet_x0_25", num_classes=3).eval()
    clips = torch.randn(2, 3, 3, 64, 32)
    with torch.no_grad():
        emb = model(clips)
        frames = model.features(clips.flatten(0, 1)).view(2, 3, -1).mean(1)
    torch.testing.assert_close(emb, torch.nn.functional.normalize(frames, dim=1))
    out = model.train()(clips)
    assert out["embedding"].shape == (2, 512) and out["logits"].shape == (2, 3)


@pytest.mark.parametrize("arch", ["osnet_x0_25", "osnet_ain_x0_25"])
def test_torchreid_file_loads_back_through_the_public_path(tmp_path: Path, arch: str) -> None:
    path = write_torchreid_osnet(tmp_path / f"{arch}.pth", arch, num_classes=9)
    reference = OSNet(arch, 9)
    reference.load_state_dict(read_state(path))
    reference.eval()
    model, found = osnet_from_file(path)
    assert found == arch
    images = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.features(images), reference(images))
    bare = write_torchreid_osnet(tmp_path / "bare.pth", arch, wrapped=False)  # a plain state dict works too
    assert osnet_from_file(bare)[1] == arch


def test_architecture_is_told_from_the_keys(tmp_path: Path) -> None:
    for arch in ("osnet_x0_5", "osnet_ibn_x1_0", "osnet_ain_x0_75"):
        assert detect_arch(OSNet(arch).state_dict()) == arch
    with pytest.raises(TorchreidWeightsError, match="not an OSNet"):
        detect_arch({"weight": torch.zeros(3)})


def _save_state(path: Path, state: dict[str, torch.Tensor]) -> Path:
    torch.save(state, path)
    return path


def test_unknown_and_missing_keys_are_named(tmp_path: Path) -> None:
    state = OSNet("osnet_x0_25").state_dict()
    extra = _save_state(tmp_path / "extra.pth", {**state, "head.bnneck.weight": torch.zeros(512)})
    with pytest.raises(TorchreidWeightsError, match=r"unknown keys: head\.bnneck\.weight"):
        osnet_from_file(extra)
    lacking = dict(state)
    del lacking["conv3.1.gate.fc2.bias"]
    with pytest.raises(TorchreidWeightsError, match=r"missing keys: conv3\.1\.gate\.fc2\.bias"):
        osnet_from_file(_save_state(tmp_path / "lacking.pth", lacking))
    no_head = {k: v for k, v in state.items() if not k.startswith("classifier")}  # the classifier is optional
    assert osnet_from_file(_save_state(tmp_path / "no_head.pth", no_head))[1] == "osnet_x0_25"


def test_wrong_architecture_and_foreign_files_fail_naming_the_file(tmp_path: Path) -> None:
    path = write_torchreid_osnet(tmp_path / "x025.pth")
    with pytest.raises(TorchreidWeightsError, match="holds osnet_x0_25 weights, not osnet_x1_0"):
        osnet_from_file(path, "osnet_x1_0")
    with pytest.raises(TorchreidWeightsError, match="the model is osnet_x0_5"):
        load_torchreid_file(OSNet("osnet_x0_5"), path)
    junk = tmp_path / "page.pth"
    junk.write_text("<html>quota exceeded</html>")
    with pytest.raises(TorchreidWeightsError, match=r"page\.pth: not a PyTorch weights file"):
        read_state(junk)


def test_training_starts_from_torchreid_weights(tmp_path: Path) -> None:
    from pydantic import TypeAdapter

    from streid.train.models import build_model
    from streid.train.models.config import ModelConfig

    path = write_torchreid_osnet(tmp_path / "x025.pth", num_classes=100)
    cfg = TypeAdapter(ModelConfig).validate_python({"name": "osnet", "arch": "osnet_x0_25", "pretrained": str(path)})
    model = build_model(cfg, num_classes=4)
    assert model.classifier.out_features == 4  # its own head for the new identities; the backbone is the file's
    torch.testing.assert_close(model.conv1.conv.weight, read_state(path)["conv1.conv.weight"])
