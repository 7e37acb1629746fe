"""Determinism, resuming after an interruption, refusing a folder of another world, config errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from streid.cli import main
from streid.config import ConfigError, load_config
from streid.media import read_frames
from streid.train.synth.build import synthesize
from streid.train.synth.config import SynthConfig

Tiny = Callable[..., SynthConfig]

BYTE_EXACT = ("*.jpg", "*.txt", "*.json", "*.png")


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for pattern in BYTE_EXACT:
        for path in root.rglob(pattern):
            rel = path.relative_to(root).as_posix()
            if not rel.startswith("detection/data.yaml"):
                out[rel] = path.read_bytes()
    return out


def test_same_config_and_seed_give_identical_outputs(tiny_dir: Path, tmp_path: Path, tiny: Tiny) -> None:
    """A second run, with two worker processes instead of none, writes byte-identical images/labels/GT and
    videos whose decoded frames are identical byte for byte (the encoder's thread timing must not show)."""
    synthesize(tiny(), 3, tmp_path / "again", parts=("reid", "scenes", "detection"), workers=2)
    first = {k: v for k, v in _files(tiny_dir).items() if not k.startswith("preview/")}
    second = _files(tmp_path / "again")
    assert first.keys() == second.keys() and len(first) > 100
    assert [k for k in first if first[k] != second[k]] == []
    for name in ("tracks_train_info", "tracks_test_info", "query_IDX"):
        a = scipy.io.loadmat(tiny_dir / "reid" / "info" / f"{name}.mat")
        b = scipy.io.loadmat(tmp_path / "again" / "reid" / "info" / f"{name}.mat")
        key = {"tracks_train_info": "track_train_info", "tracks_test_info": "track_test_info"}.get(name, name)
        np.testing.assert_array_equal(a[key], b[key])
    for video in sorted((tiny_dir / "scenes").glob("*.mp4")):
        frames_a = list(read_frames(video))
        frames_b = list(read_frames(tmp_path / "again" / "scenes" / video.name))
        assert len(frames_a) == len(frames_b) > 0
        differing = [i for i, (a, b) in enumerate(zip(frames_a, frames_b, strict=True)) if not np.array_equal(a, b)]
        assert differing == [], f"{video.name}: decoded frames {differing[:5]} differ"


def test_another_seed_gives_another_world(tiny_dir: Path, tmp_path: Path, tiny: Tiny) -> None:
    synthesize(tiny(), 4, tmp_path / "other", parts=("scenes",))
    assert (tmp_path / "other/scenes/gt/cam1.txt").read_bytes() != (tiny_dir / "scenes/gt/cam1.txt").read_bytes()


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_without_corrupt_output(tiny_dir: Path, tmp_path: Path, tiny: Tiny) -> None:
    out = tmp_path / "w"

    def progress(part: str, total: int):
        seen = [0]

        def advance(n: int) -> None:
            seen[0] += n
            if part == "scenes" and seen[0] > total // 2:
                raise Interrupt  # as if the job were killed half way through the videos

        return advance

    with pytest.raises(Interrupt):
        synthesize(tiny(), 3, out, parts=("reid", "scenes"), progress=progress)
    assert (out / "reid" / "info" / "query_IDX.mat").is_file() and (out / ".done" / "reid").is_file()
    assert not (out / "scenes").exists() and not (out / ".done" / "scenes").exists()
    summary = synthesize(tiny(), 3, out, parts=("reid", "scenes"))
    assert summary["reid"]["status"].startswith("skipped")
    assert summary["scenes"]["status"] == "written"
    assert not (out / "scenes.tmp").exists()
    done = _files(out)
    reference = _files(tiny_dir)
    assert done and all(done[k] == reference[k] for k in done)
    # the resumed part's counts describe what is on disk (the same files as an uninterrupted run, above)
    from streid.media import count_frames

    scenes = summary["scenes"]
    videos = sorted((out / "scenes").glob("*.mp4"))
    gt_lines = sum(len(p.read_text().splitlines()) for p in (out / "scenes" / "gt").glob("*.txt"))
    assert (scenes["cameras"], scenes["gt_boxes"]) == (len(videos), gt_lines) and gt_lines > 0
    assert scenes["frames_per_camera"] == count_frames(videos[0])
    again = synthesize(tiny(), 3, out, parts=("reid", "scenes"))
    assert all(v["status"].startswith("skipped") for v in again.values())


def test_folder_of_another_config_is_refused(tiny_dir: Path, tmp_path: Path, tiny: Tiny) -> None:
    out = tmp_path / "w"
    synthesize(tiny(), 3, out, parts=("detection",))
    with pytest.raises(ConfigError, match="another config or seed"):
        synthesize(tiny("synth.detection.images=6"), 3, out, parts=("detection",))
    summary = synthesize(tiny("synth.detection.images=6"), 3, out, parts=("detection",), overwrite=True)
    assert summary["detection"]["train"] + summary["detection"]["val"] == 6
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        synthesize(tiny(), 3, tmp_path / "foreign", parts=("detection",))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("synth:\n  reid:\n    framez: [1, 2]\n", "synth.reid.framez"),
        ("synth:\n  reid:\n    cameras: 3\n    cameras_per_identity: [2, 5]\n", "synth.reid"),
        ("synth:\n  style:\n    brightness: [1.5, 0.5]\n", "synth.style"),
        ("synth:\n  population:\n    identities: two\n", "synth.population.identities"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key and str(path) in str(info.value)


def test_cli_writes_parts_and_fails_cleanly(
    tmp_path: Path, tiny_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    with pytest.raises(SystemExit) as ok:
        main(["synth", "--config", str(tiny_path), "--out", str(out), "--seed", "3", "--only", "detection"])
    assert ok.value.code in (0, None)
    assert (out / "detection" / "data.yaml").is_file() and not (out / "reid").exists()
    with pytest.raises(SystemExit) as bad:
        main(["synth", "--config", str(tiny_path), "--out", str(out), "--set", "synth.reid.framez=3"])
    assert bad.value.code == 2
    assert "synth.reid.framez" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_part:
        main(["synth", "--config", str(tiny_path), "--out", str(out), "--seed", "3", "--only", "videos"])
    assert bad_part.value.code == 2
