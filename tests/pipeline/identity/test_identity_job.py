"""`streid reid`: an interrupted job resumes to the same result; the command writes store, videos, events, report."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from streid.pipeline.detector import MOTDetFileDetector
from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.job import ReidJob, run_reid_job
from streid.records import Detections, Frame
from tests.pipeline.identity.conftest import CAMERAS, BandColourEmbedder, tiny_pipeline


class StopAt:
    """GT boxes, and a stop (as SIGINT would set it) when ``camera`` reaches ``frame``: an interrupted run."""

    def __init__(self, files: dict[str, Path], stop: threading.Event, camera: str, frame: int) -> None:
        self.inner, self.stop, self.camera, self.frame = MOTDetFileDetector(files), stop, camera, frame

    def detect(self, frames: list[Frame]) -> list[Detections]:
        if any(f.camera == self.camera and f.index == self.frame for f in frames):
            self.stop.set()
        return self.inner.detect(frames)


class KillAt(StopAt):
    """GT boxes, and a SIGKILL of this very process when ``camera`` reaches ``frame``: no cleanup at all."""

    def __init__(self, files: dict[str, Path], camera: str, frame: int) -> None:
        super().__init__(files, threading.Event(), camera, frame)

    def detect(self, frames: list[Frame]) -> list[Detections]:
        if any(f.camera == self.camera and f.index == self.frame for f in frames):
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.detect(frames)


def job(site: Path, out: Path) -> ReidJob:
    files = {c: site / "gt" / f"{c}.txt" for c in CAMERAS}
    # The colour-band embedder has no camera bias to remove and this site has ~3 tracklets per camera, where a
    # camera's mean is mostly its people: camera centering (tested in test_identity_centering.py) stays off here.
    # It reads colour bands off the crop: MARS-style stretched boxes, not the aspect-kept crops with background.
    identity = IdentityConfig(camera_centering=False)
    pipe = tiny_pipeline()
    pipe = pipe.model_copy(update={"tracklets": pipe.tracklets.model_copy(update={"crop_mode": "stretch"})})
    return ReidJob({c: site / f"{c}.mp4" for c in CAMERAS}, out, pipe, identity, files, files)


def outputs(out: Path) -> dict[str, Any]:
    """What must not depend on interruptions: ids, tracks, events (minus wall-clock times), scores."""
    events = [{k: v for k, v in json.loads(line).items() if k != "time"}
              for line in (out / "events.jsonl").read_text().splitlines()]
    return {"ids": json.loads((out / "work/identities.json").read_text())["final"],
            "online": json.loads((out / "work/identities.json").read_text())["online"],
            "tracks": {c: (out / "tracks" / f"{c}.txt").read_text() for c in CAMERAS},
            "events": events, "eval": json.loads((out / "eval.json").read_text()), "store": store_rows(out)}


def store_rows(out: Path) -> dict[tuple[str, int], tuple[Any, ...]]:
    """Per tracklet: times, global id, embedding and how many crops the store holds (row ids may differ)."""
    from streid.pipeline.identity.store import SqliteStore

    store = SqliteStore(out)
    try:
        return {(t.camera, t.track_id): (t.t_start, t.t_end, t.global_id, t.embedding.tobytes(), len(store.crops(t.id)))
                for t in store.tracklets()}
    finally:
        store.close()


@pytest.fixture(scope="module")
def whole(synth_site: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """An uninterrupted job: what every interrupted one must end with."""
    out = tmp_path_factory.mktemp("whole")
    result = run_reid_job(job(synth_site, out), embedder=BandColourEmbedder())
    assert not result.interrupted and result.processed == list(CAMERAS)
    return out, result


def test_job_scores_stay_above_the_measured_floor(whole: tuple[Path, Any]) -> None:
    """Multi-camera IDF1 of the job (GT boxes, colour-band embedder, tiny site seed 3): measured offline 0.906,
    online 0.954, link precision and recall 1.0; a regression in replay, clustering or evaluation drops below."""
    evaluation = whole[1].evaluation
    assert evaluation["offline"]["idf1"] >= 0.8 and evaluation["online"]["idf1"] >= 0.85, evaluation
    # recall is over the ground truth's cross-camera links (a link through a person never tracklet-ed counts as
    # missed): measured 0.4 here after that change, precision 1.0
    assert evaluation["offline"]["link_precision"] >= 0.9 and evaluation["offline"]["link_recall"] >= 0.35
    # the same tracks each named after their best person: no labelling of them scores higher
    assert evaluation["offline"]["idf1"] <= evaluation["association_bound"]["idf1"] <= 1.0


def test_interrupted_job_resumes_to_the_same_result(synth_site: Path, tmp_path: Path, whole: tuple[Path, Any]) -> None:
    whole_out, whole = whole
    assert len({g for (c, _), g in whole.final.items() if c == "cam1"} & {g for (c, _), g in whole.final.items()
                                                                        if c == "cam2"}) >= 2  # cross-camera ids

    out, stop, emb = tmp_path / "resumed", threading.Event(), BandColourEmbedder()
    files = {c: synth_site / "gt" / f"{c}.txt" for c in CAMERAS}
    done: list[str] = []
    first = run_reid_job(job(synth_site, out), stop=stop, embedder=emb, detector=StopAt(files, stop, "cam2", 70),
                         on_camera_done=done.append)
    assert first.interrupted and done == ["cam1"]  # camera 1 finished, camera 2 stopped half-way
    assert (out / "work/cam1/done.json").is_file() and not (out / "work/cam2/done.json").exists()
    assert not (out / "report.html").exists()

    second = run_reid_job(job(synth_site, out), embedder=emb)
    assert not second.interrupted and second.processed == ["cam2"]  # camera 1 is not redone
    assert second.final == whole.final and second.online == whole.online
    assert outputs(out) == outputs(whole_out)

    third = run_reid_job(job(synth_site, out), embedder=emb)  # a finished job: nothing is redone
    assert third.processed == [] and third.final == whole.final


def test_a_job_killed_mid_camera_resumes_to_the_same_result(synth_site: Path, tmp_path: Path,
                                                             whole: tuple[Path, Any]) -> None:
    """SIGKILL half-way through camera 2 (no handler runs): its partial rows are dropped and it is redone."""
    whole_out, whole_result = whole
    out = tmp_path / "killed"
    code = ("import sys; from pathlib import Path; "
            "from tests.pipeline.identity.test_identity_job import KillAt, job, BandColourEmbedder, CAMERAS; "
            "from streid.pipeline.identity.job import run_reid_job; site = Path(sys.argv[1]); "
            "files = {c: site / 'gt' / f'{c}.txt' for c in CAMERAS}; "
            "run_reid_job(job(site, Path(sys.argv[2])), embedder=BandColourEmbedder(), "
            "detector=KillAt(files, 'cam2', 70))")
    proc = subprocess.run([sys.executable, "-c", code, str(synth_site), str(out)], cwd=Path(__file__).parents[3],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (out / "work/cam1/done.json").is_file() and not (out / "work/cam2/done.json").exists()
    partial = store_rows(out)
    assert any(cam == "cam2" for cam, _ in partial)  # the kill left rows of the unfinished camera behind

    resumed = run_reid_job(job(synth_site, out), embedder=BandColourEmbedder())
    assert not resumed.interrupted and resumed.processed == ["cam2"]
    assert resumed.final == whole_result.final
    assert outputs(out) == outputs(whole_out)


def test_new_identity_settings_recluster_and_redraw_without_redoing_cameras(synth_site: Path, tmp_path: Path,
                                                                           whole: tuple[Path, Any]) -> None:
    whole_out, whole_result = whole
    out = tmp_path / "copy"
    shutil.copytree(whole_out, out)
    drawn = {c: (out / f"{c}.mp4").stat().st_mtime_ns for c in CAMERAS}
    strict = job(synth_site, out)
    strict.identity = IdentityConfig(gate=1e-4, offline_threshold=1e-4)  # nothing is that close: more identities
    result = run_reid_job(strict, embedder=BandColourEmbedder())
    assert result.processed == []  # the cameras' tracklets are reused
    assert len(set(result.final.values())) > len(set(whole_result.final.values()))
    marker = json.loads((out / "work/identities.json").read_text())["final"]
    assert {(k.rpartition(":")[0], int(k.rpartition(":")[2])): g for k, g in marker.items()} == result.final
    tracks = {c: (out / "tracks" / f"{c}.txt").read_text() for c in CAMERAS}
    assert tracks != {c: (whole_out / "tracks" / f"{c}.txt").read_text() for c in CAMERAS}
    assert all((out / f"{c}.mp4").stat().st_mtime_ns != drawn[c] for c in CAMERAS)  # videos redrawn with the ids

    back = run_reid_job(job(synth_site, out), embedder=BandColourEmbedder())  # the first settings again
    assert back.processed == [] and back.final == whole_result.final


def test_overwrite_restarts_a_folder_made_with_other_inputs(synth_site: Path, tmp_path: Path,
                                                           whole: tuple[Path, Any]) -> None:
    whole_out, _ = whole
    out = tmp_path / "copy"
    shutil.copytree(whole_out, out)
    (out / "notes.txt").write_text("mine")
    other = job(synth_site, out)
    other.pipeline.tracklets.seq_len = 6  # another fingerprint; the embedder's L=4 decides the clips anyway
    with pytest.raises(ValueError, match="--overwrite"):
        run_reid_job(other, embedder=BandColourEmbedder())
    result = run_reid_job(other, embedder=BandColourEmbedder(), overwrite=True)
    assert result.processed == list(CAMERAS)  # every camera redone from scratch
    assert outputs(out) == outputs(whole_out)
    assert (out / "notes.txt").read_text() == "mine"  # not the job's: left alone


def test_other_inputs_are_refused_in_a_used_folder(synth_site: Path, tmp_path: Path) -> None:
    run_reid_job(job(synth_site, tmp_path), stop=_set(), embedder=BandColourEmbedder())  # stops at once
    other = job(synth_site, tmp_path)
    other.pipeline.tracklets.seq_len = 6
    with pytest.raises(ValueError, match="--overwrite"):
        run_reid_job(other, embedder=BandColourEmbedder())


def _set() -> threading.Event:
    e = threading.Event()
    e.set()
    return e


def test_reid_command_end_to_end(synth_site: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from streid.cli import app
    from streid.media import count_frames
    from streid.pipeline.identity.store import SqliteStore
    from tests.export.conftest import SMALL, model_available, write_checkpoint

    model_available("nl3d")
    ckpt = write_checkpoint(tmp_path / "small.pt", SMALL["nl3d"])
    config = tmp_path / "job.yaml"
    config.write_text(json.dumps({"pipeline": tiny_pipeline().model_dump(mode="json", include={"tracker",
                                                                                                 "tracklets"})}))
    out = tmp_path / "out"
    args = ["reid", "--config", str(config), "--embedder", str(ckpt), "--gt-dets", str(synth_site / "gt"),
            "--gt", str(synth_site / "gt"), "--out", str(out), "--no-progress"]
    for cam in CAMERAS:
        args += ["--video", f"{cam}={synth_site / f'{cam}.mp4'}"]
    # Ctrl-C while camera 1 is under way: exit 130, a hint to resume, no report yet
    proc = subprocess.Popen([sys.executable, "-m", "streid.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    started = out / "work" / "cam1" / "events.jsonl"  # the runner of camera 1 exists: signals are handled
    deadline = time.monotonic() + 300
    while not started.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "run the same command again to resume" in stderr and not (out / "report.html").exists()

    result = CliRunner().invoke(app, args)  # the same command resumes and finishes
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert summary["identities"] >= 1 and 0.0 <= summary["eval"]["offline"]["idf1"] <= 1.0

    html = (out / "report.html").read_text()
    assert html.count('class="card"') == summary["identities"] and "timeline.png" in html
    for name in ("per_camera.png", "timeline.png"):
        assert (out / "report_assets" / name).stat().st_size > 1000
    assert list((out / "report_assets/crops").glob("*.jpg"))
    assert {c: count_frames(out / f"{c}.mp4") for c in CAMERAS} == {"cam1": 128, "cam2": 128}
    store = SqliteStore(out)
    rows = store.tracklets()
    assert rows and all(t.global_id is not None and t.embedding is not None for t in rows)
    assert store.get_meta("embedder") == str(ckpt)
    store.close()
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["type"] == "start"]
    assert starts and all({"global_id", "distance", "runner_up_id", "runner_up_distance"} <= set(e) for e in starts)
    evaluation = json.loads((out / "eval.json").read_text())
    assert set(evaluation["per_camera"]) == set(CAMERAS) and "HOTA" in evaluation["per_camera"]["cam1"]["tracker"]

    search = CliRunner().invoke(app, ["search", "--store", str(out), "--query", f"cam1:{rows[0].track_id}"])
    assert search.exit_code == 0, search.output

    again = CliRunner().invoke(app, args)  # a finished job: resumes into nothing, same answer
    assert again.exit_code == 0 and json.loads(again.stdout[again.stdout.index("{"):]) == summary

    # image queries: crops of a stored tracklet as files, the model given by --embedder once it moved
    import cv2

    from streid.pipeline.identity.search import image_query, rank

    store = SqliteStore(out)
    crops = store.crops(rows[0].id)[:2]
    pictures = [tmp_path / f"q{i}.png" for i in range(len(crops))]
    for path, crop in zip(pictures, crops, strict=True):
        cv2.imwrite(str(path), crop[0] if crop.ndim == 4 else crop)
    moved = ckpt.rename(tmp_path / "moved.pt")
    query = [arg for p in pictures for arg in ("--query", str(p))]
    lost = CliRunner().invoke(app, ["search", "--store", str(out), *query])
    assert lost.exit_code == 2 and "--embedder" in lost.output  # the store's recorded model is gone
    found = CliRunner().invoke(app, ["search", "--store", str(out), *query, "--embedder", str(moved), "--top", "3"])
    assert found.exit_code == 0, found.output
    expected = [h.global_id for h in rank(store, image_query(store, pictures, moved), top=3)]
    store.close()
    cells = [[c.strip() for c in re.split(r"[│|]", line)] for line in found.output.splitlines()]  # table rows
    assert [int(c[2]) for c in cells if len(c) > 3 and c[1].isdigit()] == expected and expected


def test_reid_command_without_a_detector_says_how_to_get_one(synth_site: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from streid.cli import app

    monkeypatch.setenv("STREID_MODELS", str(tmp_path / "no_models"))
    (tmp_path / "m.onnx").write_bytes(b"")
    result = CliRunner().invoke(app, ["reid", "--video", f"cam1={synth_site / 'cam1.mp4'}", "--embedder",
                                      str(tmp_path / "m.onnx"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "person_detector.onnx" in result.output and "does not exist" in result.output
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_reid_command_with_a_missing_reid_model_says_which(synth_site: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from streid.cli import app

    result = CliRunner().invoke(app, ["reid", "--video", f"cam1={synth_site / 'cam1.mp4'}", "--gt-dets",
                                      str(synth_site / "gt"), "--embedder", str(tmp_path / "nowhere.onnx"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "re-id model not found" in result.output and "nowhere.onnx" in result.output
    assert not (tmp_path / "out").exists()  # refused before anything was written


RAY_DRIVER = ("import json, sys; from pathlib import Path; "
              "from tests.pipeline.identity.test_identity_job import job, BandColourEmbedder; "
              "from streid.pipeline.identity.job import run_reid_job; "
              "r = run_reid_job(job(Path(sys.argv[1]), Path(sys.argv[2])), embedder=BandColourEmbedder(), "
              "executor='ray', ray_address=sys.argv[3]); "
              "print(json.dumps({'processed': r.processed, 'interrupted': r.interrupted}))")


@pytest.mark.timeout(900)  # with the module's in-process job (fixture `whole`) on a starved machine
def test_ray_executor_gives_the_in_process_result(synth_site: Path, tmp_path: Path, whole: tuple[Path, Any]) -> None:
    """Phase 1 as Ray tasks on a local Ray head (2 CPUs, free loopback ports, private temp dir), driven by
    another process (``--ray-address``, the cluster case): the in-process job's ids, tracks, events and scores.
    Ray never enters this process (its core stays loaded after shutdown and crashed a later torch test)."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:  # a dev dependency: CI has it
        pytest.skip("ray is not installed (pip install 'streid[cluster]')")
    from tests.site_servers import RayHead, RayStartTimeout, ray_env

    try:
        head = RayHead(num_cpus=2)
    except RayStartTimeout as exc:  # Ray gives its own processes fixed seconds to start and register: a starved
        # machine misses them (seen here at load 15, nice 19: its dashboard agent took over a minute to import)
        pytest.skip(f"Ray could not start on this (starved) machine: {exc}")
    try:
        out = tmp_path / "ray"
        proc = subprocess.run([sys.executable, "-c", RAY_DRIVER, str(synth_site), str(out), head.address],
                              cwd=Path(__file__).parents[3], capture_output=True, text=True, timeout=480,
                              check=False, env=ray_env())
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert json.loads(proc.stdout.splitlines()[-1]) == {"processed": list(CAMERAS), "interrupted": False}
        assert head.processes(), "the head went away before the end"
    finally:
        head.close()
    assert head.processes() == []  # nothing of this Ray is left behind
    assert outputs(out) == outputs(whole[0])


def test_camera_tasks_written_back_give_the_in_process_result(synth_site: Path, tmp_path: Path) -> None:
    """What a Ray worker runs (``camera_task``) and what the driver writes back, called here directly: the job
    that finds those cameras done ends with the in-process executor's ids, tracks, events and scores."""
    from streid.pipeline.identity.build import store_from_config
    from streid.pipeline.identity.job import JobPaths
    from streid.pipeline.identity.ray_exec import _write_camera, camera_task

    split = job(synth_site, tmp_path / "tasks")
    paths = JobPaths(split.out)
    store = store_from_config(split.identity, split.out, split.pipeline.embedder.path or None)
    for cam in CAMERAS:
        _write_camera(cam, camera_task(split, cam, None, BandColourEmbedder()), paths, store)
    store.close()
    tasks = run_reid_job(split, embedder=BandColourEmbedder())
    assert tasks.processed == []  # phase 1 came from the tasks
    local = run_reid_job(job(synth_site, tmp_path / "local"), embedder=BandColourEmbedder())
    assert tasks.final == local.final and tasks.online == local.online
    assert outputs(tmp_path / "tasks") == outputs(tmp_path / "local")
