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
