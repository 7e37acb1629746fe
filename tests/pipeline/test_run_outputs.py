"""`streid run` outputs a new user reads: nothing written on a config error, one track id everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streid.cli import main


def test_config_error_leaves_nothing_in_the_output_folder(repo: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """offline_files.yaml names det files that do not exist: exit 2 naming them, and no identities.sqlite."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--config", str(repo / "configs/deploy/offline_files.yaml"), "--no-progress",
              "--set", f"pipeline.output.dir={out}"])
    assert exit_.value.code == 2
    assert not out.exists()


def test_track_ids_are_one_number_in_mot_rows_events_and_labels(scenes: dict[str, Any], tmp_path: Path,
                                                                 make_config: Any) -> None:
    """The MOT file's id column, the events' track_id and the video label '#N' come from one tracker_id, 1-based."""
    from streid.pipeline.events import read_events
    from streid.pipeline.runner import run_pipeline

    out = tmp_path / "run"
    result = run_pipeline(make_config(scenes, out, output={"dir": str(out), "video": False, "mot": True}))
    assert result.events_path is not None
    events = {(e["camera"], e["track_id"]) for e in read_events(result.events_path) if "track_id" in e}
    mot = {(cam, int(line.split(",")[1])) for cam in scenes for line in (out / f"{cam}.txt").read_text().splitlines()}
    assert events and events <= mot
    assert min(tid for _, tid in mot) == 1  # MOTChallenge ids count from 1; so do ours everywhere


@pytest.mark.parametrize(("keys", "named"), [
    ({"tracklets": {"seq_len": 4, "crop_height": 32, "crop_width": 16, "min_height": 500}},
     "min_height=500 rejected"),
    ({"tracker": {"params": {"track_activation_threshold": 1.5}}},
     "pipeline.tracker.params.track_activation_threshold"),
])
def test_a_run_that_detects_but_keeps_nothing_names_the_gate(scenes: dict[str, Any], tmp_path: Path, make_config: Any,
                                                            caplog: pytest.LogCaptureFixture, keys: dict[str, Any],
                                                            named: str) -> None:
    from streid.pipeline.runner import run_pipeline

    out = tmp_path / "run"
    cfg = make_config({"cam0": scenes["cam0"]}, out, max_frames=20, output={"dir": str(out), "video": False}, **keys)
    with caplog.at_level("WARNING", logger="streid.pipeline.runner"):
        run_pipeline(cfg)
    lines = [r.getMessage() for r in caplog.records if "no tracklet" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("camera cam0: ") and named in lines[0], caplog.text
    if "min_height" in named:
        assert "pipeline.tracklets.min_height" in lines[0]


def test_a_run_that_keeps_tracklets_says_nothing(scenes: dict[str, Any], tmp_path: Path, make_config: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from streid.pipeline.runner import run_pipeline

    out = tmp_path / "run"
    with caplog.at_level("WARNING", logger="streid.pipeline.runner"):
        run_pipeline(make_config({"cam0": scenes["cam0"]}, out, output={"dir": str(out), "video": False}))
    assert "no tracklet" not in caplog.text


def test_edge_fallback_from_the_config_gives_cut_tracks_an_end_tracklet(scenes: dict[str, Any], tmp_path: Path,
                                                                        make_config: Any) -> None:
    """An edge margin wider than the frame makes every box "cut": without the fallback no track emits anything;
    with ``pipeline.tracklets.edge_fallback`` each long enough track ends with exactly one tracklet."""
    from streid.pipeline.events import read_events
    from streid.pipeline.runner import run_pipeline

    states = {}
    for on in (False, True):
        out = tmp_path / f"run_{on}"
        tracklets = {"seq_len": 4, "crop_height": 32, "crop_width": 16, "min_height": 20, "edge_margin": 1000,
                     "edge_fallback": on}
        result = run_pipeline(make_config({"cam0": scenes["cam0"]}, out, output={"dir": str(out), "video": False},
                                          tracklets=tracklets))
        states[on] = [(e["track_id"], e["type"]) for e in read_events(result.events_path)
                      if e.get("type") in ("start", "update", "end")]
    assert states[False] == []
    assert states[True] and {s for _, s in states[True]} == {"end"}
    assert len({t for t, _ in states[True]}) == len(states[True])  # one tracklet per track
