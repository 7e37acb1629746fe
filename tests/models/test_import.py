"""``streid models import``: what a file is (from its contents), its sha256, and its name working as a model path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streid.cli import app
from streid.models.kinds import detect_kind
from streid.models.registry import ModelError, read_registry, resolve
from tests.torchreid_files import write_torchreid_osnet


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STREID_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "models"


def test_kinds_are_read_from_contents(tmp_path: Path, repo: Path, no_network: None) -> None:
    import torch

    from streid.offline import import_ultralytics

    import_ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    yolo = tmp_path / "detector.weights"  # no telling suffix: the contents decide
    torch.save({"model": DetectionModel("yolo11n.yaml", verbose=False), "train_args": {}}, yolo)
    assert detect_kind(yolo).kind == "ultralytics"
    osnet = write_torchreid_osnet(tmp_path / "yolo_not_really.pt", "osnet_ain_x0_25")
    assert (detect_kind(osnet).kind, detect_kind(osnet).arch) == ("torchreid", "osnet_ain_x0_25")
    legacy = tmp_path / "zoo.pth"  # torchreid's model zoo predates PyTorch's zip format
    torch.save(torch.load(osnet, weights_only=False)["state_dict"], legacy, _use_new_zipfile_serialization=False)
    assert detect_kind(legacy).arch == "osnet_ain_x0_25"
    builtin = detect_kind(repo / "deploy/models/person_detector.onnx")
    assert (builtin.kind, builtin.task) == ("onnx-detector", "detector")
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(ModelError, match=r"notes\.pt: not a model file STREID reads"):
        detect_kind(text)


def test_import_torchreid_weights_exports_a_clip_artifact(tmp_path: Path, home: Path) -> None:
    from streid.pipeline.embedder import load_embedder

    src = write_torchreid_osnet(tmp_path / "my_osnet.pth")
    result = CliRunner().invoke(app, ["models", "import", str(src), "--name", "site_osnet", "--trained-on", "real",
                                      "--seq-len", "2", "--height", "64", "--width", "32"])
    assert result.exit_code == 0, result.output
    entry = read_registry(home)["site_osnet"]
    assert (entry.task, entry.kind, entry.arch, entry.trained_on) == ("reid", "torchreid", "osnet_x0_25", "real")
    assert entry.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    emb = load_embedder(resolve("site_osnet", "reid"), device="cpu")
    assert (emb.meta["model"], emb.meta["trained_on"], emb.input_shape) == ("osnet_x0_25", "real", (2, 64, 32, 3))
    assert entry.sha256 in emb.meta["origin"]
    src.unlink()  # the cache holds its own copy
    assert Path(resolve("site_osnet", "reid")).is_file()


def test_import_a_detector_and_use_it_by_name(tmp_path: Path, home: Path, repo: Path) -> None:
    from streid.defaults import resolve_detector

    result = CliRunner().invoke(app, ["models", "import", str(repo / "deploy/models/person_detector.onnx"),
                                      "--name", "lobby-det"])
    assert result.exit_code == 0, result.output
    builtin = repo / "deploy/models/person_detector.onnx"
    assert Path(resolve_detector("lobby-det")).read_bytes() == builtin.read_bytes()
    with pytest.raises(ModelError, match="is a detector model, not a reid model"):
        resolve("lobby-det", "reid")


def test_bad_imports_exit_2_and_write_nothing(tmp_path: Path, home: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 100)
    runner = CliRunner()
    bad_file = runner.invoke(app, ["models", "import", str(junk)])
    assert bad_file.exit_code == 2 and "junk.pt" in bad_file.output
    weights = write_torchreid_osnet(tmp_path / "w.pth")
    bad_name = runner.invoke(app, ["models", "import", str(weights), "--name", "../escape"])
    assert bad_name.exit_code == 2 and "not a model name" in bad_name.output
    taken = runner.invoke(app, ["models", "import", str(weights), "--name", "yolo11n"])
    assert taken.exit_code == 2 and "public detector model" in taken.output
    assert read_registry(home) == {} and not list(home.glob("*.onnx"))
