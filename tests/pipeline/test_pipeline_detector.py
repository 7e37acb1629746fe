"""Detectors: MOTChallenge files, and the YOLO wrapper (batched, persons only) on an untrained net."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from streid.pipeline.detector import MOTDetFileDetector, YoloDetector, read_mot_file
from streid.records import Frame


def test_mot_file_rows_become_xyxy_boxes_per_zero_based_frame(tmp_path: Path) -> None:
    path = tmp_path / "det.txt"
    path.write_text("1,-1,10,20,30,60,0.9,-1,-1,-1\n1,-1,50,20,30,60,0.4,-1,-1,-1\n3,2,0,0,10,20,1,1,1\n"
                    "3,5,0,0,10,20,1,7,1\n")  # gt row of class 7 (not a pedestrian) is dropped
    table = read_mot_file(path)
    assert sorted(table) == [0, 2]
    assert table[0].xyxy.tolist() == [[10, 20, 40, 80], [50, 20, 80, 80]]
    assert table[0].confidence.tolist() == pytest.approx([0.9, 0.4])
    assert len(table[2]) == 1
    det = MOTDetFileDetector({"a": path}, min_conf=0.5)
    image = np.zeros((8, 8, 3), np.uint8)
    out = det.detect([Frame("a", 0.0, 0, image), Frame("a", 0.04, 1, image)])
    assert [len(d) for d in out] == [1, 0]


def test_mot_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"bad\.txt:1"):
        read_mot_file(path)
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        read_mot_file(tmp_path / "missing.txt")


def test_yolo_wrapper_batches_cameras_and_keeps_persons_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torch

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    # import_ultralytics exports YOLO_CONFIG_DIR; setting it here makes monkeypatch remove it after the test
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "ultralytics"))
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    detector = YoloDetector("yolo11n.yaml", imgsz=128, conf=0.25)  # untrained, built from the packaged yaml
    head = detector.model.model.model[-1]
    with torch.no_grad():  # make the untrained head sure of "car" (class 2) at stride 8 and "person" elsewhere
        head.cv3[0][-1].bias[2] = 4.0
        for branch in head.cv3[1:]:
            branch[-1].bias[0] = 4.0
    calls: list[int] = []
    predict = detector.model.predict
    monkeypatch.setattr(detector.model, "predict", lambda src, **kw: (calls.append(len(src)), predict(src, **kw))[1])
    rng = np.random.default_rng(0)
    frames = [Frame(f"cam{i}", 0.0, 0, rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)) for i in range(3)]
    out = detector.detect(frames)
    assert calls == [3]  # one predict call for all cameras
    assert len(out) == 3 and all(len(d) > 0 and set(d.class_id.tolist()) == {0} for d in out)
    assert all(d.xyxy.dtype == np.float32 and d.xyxy.shape[1] == 4 for d in out)
    raw = predict([f.image for f in frames], imgsz=128, conf=0.25, verbose=False)
    assert 2 in set(raw[0].boxes.cls.int().tolist())  # the filter removed real non-person boxes


def test_yolo_missing_weights_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="detector weights not found"):
        YoloDetector(tmp_path / "none.pt")
