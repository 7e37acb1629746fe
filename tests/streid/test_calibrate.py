"""`streid calibrate`: thresholds fitted on a labelled MARS-layout split land in the artifact and drive the runtime."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streid.cli import app
from streid.defaults import models_dir

BUILTIN = models_dir() / "reid_small.onnx"


@pytest.fixture(scope="module")
def reid_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny world's MARS-layout re-id split (6 test identities in 3 cameras)."""
    from streid.config import load_config
    from streid.train.synth.build import synthesize

    root = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("calib")
    cfg = load_config(root / "configs/synth/tiny.yaml", ["synth.reid.tracklets_per_camera=[2,2]"])
    synthesize(cfg.synth, 5, out, ["reid"], workers=0)
    return out / "reid"


@pytest.mark.skipif(not BUILTIN.is_file(), reason="built-in re-id model not made here")
def test_calibrate_writes_the_entry_and_the_runtime_uses_it(reid_split: Path, tmp_path: Path) -> None:
    from streid.export.metadata import read_onnx_meta
    from streid.pipeline.identity.build import thresholds_from_config
    from streid.pipeline.identity.config import IdentityConfig

    model = Path(shutil.copy(BUILTIN, tmp_path / "reid.onnx"))
    res = CliRunner().invoke(app, ["calibrate", "--embedder", str(model), "--data", str(reid_split)])
    assert res.exit_code == 0, res.output
    entry = read_onnx_meta(model)["calibration"]
    assert entry["version"] == 1 and entry["positives"] == "cross" and entry["n_neg"] > entry["n_pos"] > 0
    assert 0.0 < entry["gate"] <= entry["quantiles"]["neg"]["q05"] + 1e-9  # never above the precision bound
    assert f"gate {entry['gate']:.3f}" in res.output
    start = thresholds_from_config(IdentityConfig(), model)
    assert (start.gate, start.gate_source) == (entry["gate"], "artifact")
    assert thresholds_from_config(IdentityConfig(gate=0.11), model).gate_source == "config"
    assert read_onnx_meta(model)["embedding_dim"] == read_onnx_meta(BUILTIN)["embedding_dim"]  # rest intact


def test_calibrate_bad_data_is_one_line_and_exit_2(tmp_path: Path) -> None:
    model = tmp_path / "reid.onnx"
    model.write_bytes(b"not onnx")
    res = CliRunner().invoke(app, ["calibrate", "--embedder", str(model), "--data", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "not a folder" in res.output
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(app, ["calibrate", "--embedder", str(model), "--data", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "neither synthetic scenes" in res.output
    assert model.read_bytes() == b"not onnx"  # nothing written


def test_tracks_are_labelled_by_the_ground_truth_they_follow(tmp_path: Path) -> None:
    """Scenes calibration labels each local track by the ground-truth person whose boxes it follows; the track ids
    of the MOT file are the events' ids (both from 1), so a cross-camera positive pair is one person, not a
    neighbour's track (an off-by-one here made the positives random pairs: median distance that of negatives)."""
    import numpy as np

    from streid.calibrate import _gt_ids
    from streid.pipeline.motfile import MotWriter
    from streid.pipeline.tracker import CameraTrackers
    from streid.records import Detections

    gt, tracks = tmp_path / "gt.txt", tmp_path / "tracks.txt"
    people = {7: (10.0, 20.0), 9: (200.0, 40.0)}  # gt id -> box origin; two walkers, far apart
    rows, writer, trackers = [], MotWriter(tracks), CameraTrackers("bytetrack", 10.0, 30)
    for f in range(12):
        boxes = [(x + 3 * f, y, x + 3 * f + 20, y + 60) for x, y in people.values()]
        rows += [f"{f + 1},{gid},{b[0]},{b[1]},20,60,1,1,1.0" for gid, b in zip(people, boxes, strict=True)]
        dets = Detections(np.array(boxes, np.float32), np.full(2, 0.9, np.float32), np.zeros(2, np.int64))
        writer.write(f, trackers.update("cam1", dets))
    writer.close()
    gt.write_text("\n".join(rows) + "\n")
    by_track = {int(line.split(",")[1]): float(line.split(",")[2]) for line in tracks.read_text().splitlines()}
    labels = _gt_ids(tracks, gt)
    assert sorted(labels) == sorted(by_track) and sorted(labels.values()) == [7, 9]
    for tid, gid in labels.items():  # the track that starts left follows 7, the one on the right 9
        assert (gid == 7) == (by_track[tid] < 100)
