"""Checkpoint files: atomic writes, clear refusals of unusable files, weight transfer with and without heads."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from torch import nn

from streid.train.checkpoint import FORMAT, VERSION, CheckpointError, load_weights, read_checkpoint, save_checkpoint

PAYLOAD = {"config": {"model": {"name": "tiny"}}, "num_classes": 3, "epoch": 2, "metrics": {"mAP": 0.5}}


class Net(nn.Module):
    def __init__(self, classes: int = 3, width: int = 4) -> None:
        super().__init__()
        self.backbone = nn.Linear(2, width)
        self.classifier = nn.Linear(width, classes)


def test_save_then_read_round_trips_and_leaves_no_temporary(tmp_path: Path) -> None:
    net = Net()
    path = save_checkpoint(tmp_path / "sub" / "c.pt", {**PAYLOAD, "model": net.state_dict()})
    assert path == tmp_path / "sub" / "c.pt" and sorted(p.name for p in path.parent.iterdir()) == ["c.pt"]
    data = read_checkpoint(path)
    assert data["format"] == FORMAT and data["version"] == VERSION and data["epoch"] == 2
    assert data["metrics"] == {"mAP": 0.5} and data["num_classes"] == 3
    for name, tensor in net.state_dict().items():
        assert torch.equal(data["model"][name], tensor)


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", {**PAYLOAD, "model": Net().state_dict()})
    before = path.read_bytes()
    with pytest.raises((AttributeError, pickle.PicklingError)):  # a lambda cannot be pickled
        save_checkpoint(path, {**PAYLOAD, "model": {}, "unpicklable": lambda: None})
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not a zip at all", "not a readable torch checkpoint"),
        ({"model": {}}, "not a STREID checkpoint"),
        ([1, 2], "not a STREID checkpoint"),
        ({"format": FORMAT, "version": VERSION + 1, "config": {}, "model": {}, "num_classes": 1}, "is newer than"),
        ({"format": FORMAT, "version": VERSION, "model": {}, "num_classes": 1}, "has no 'config'"),
        ({"format": FORMAT, "version": VERSION, "config": {}, "num_classes": 1}, "has no 'model'"),
        ({"format": FORMAT, "version": VERSION, "config": {}, "model": {}}, "has no 'num_classes'"),
    ],
)
def test_unusable_files_are_refused_naming_the_file(tmp_path: Path, payload: object, message: str) -> None:
    path = tmp_path / "c.pt"
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        torch.save(payload, path)
    with pytest.raises(CheckpointError, match=message) as err:
        read_checkpoint(path)
    assert str(err.value).startswith(str(path))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"nope\.pt: checkpoint not found"):
        read_checkpoint(tmp_path / "nope.pt")


def test_transfer_skips_heads_and_keeps_everything_else() -> None:
    source, target = Net(classes=5), Net(classes=3)
    head = target.classifier.weight.detach().clone()
    skipped = load_weights(target, {**source.state_dict(), "extra.bias": torch.zeros(1)}, skip_heads=True,
                           source="pre.pt")
    assert sorted(skipped) == ["classifier.bias", "classifier.weight", "extra.bias"]
    assert torch.equal(target.backbone.weight, source.backbone.weight)
    assert torch.equal(target.classifier.weight, head)  # the new identities' head is left as built


def test_transfer_of_a_same_shaped_head_is_still_skipped() -> None:
    source, target = Net(), Net()
    skipped = load_weights(target, source.state_dict(), skip_heads=True, source="pre.pt")
    assert sorted(skipped) == ["classifier.bias", "classifier.weight"]
    assert not torch.equal(target.classifier.weight, source.classifier.weight)


def test_exact_loading_refuses_shape_mismatches_and_missing_weights() -> None:
    wide = Net(width=6).state_dict()
    with pytest.raises(CheckpointError, match=r"pre\.pt: weight 'backbone.weight' has shape \(6, 2\), model expects "
                                              r"\(4, 2\)"):
        load_weights(Net(), wide, skip_heads=False, source="pre.pt")
    partial = {k: v for k, v in Net().state_dict().items() if k != "backbone.bias"}
    with pytest.raises(CheckpointError, match=r"pre\.pt: checkpoint lacks 1 weights, e\.g\. 'backbone.bias'"):
        load_weights(Net(), partial, skip_heads=False, source="pre.pt")
    source, target = Net(), Net()
    assert load_weights(target, source.state_dict(), skip_heads=False, source="pre.pt") == []
    assert all(torch.equal(a, b) for a, b in zip(target.state_dict().values(), source.state_dict().values(),
                                                 strict=True))
