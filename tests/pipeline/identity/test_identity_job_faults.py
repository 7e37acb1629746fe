"""`streid reid` against changed inputs and a second run into the same folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from streid.pipeline.identity.config import IdentityConfig
from streid.pipeline.identity.job import ReidJob, run_reid_job
from tests.pipeline.identity.conftest import CAMERAS, BandColourEmbedder, tiny_pipeline


def copied_job(site: Path, root: Path) -> ReidJob:
    videos = {}
    for c in CAMERAS:
        videos[c] = root / "videos" / f"{c}.mp4"
        videos[c].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(site / f"{c}.mp4", videos[c])
    files = {c: site / "gt" / f"{c}.txt" for c in CAMERAS}
    return ReidJob(videos, root / "out", tiny_pipeline(), IdentityConfig(), files, files)


def stopped() -> threading.Event:
    e = threading.Event()
    e.set()
    return e


def test_a_replaced_video_under_the_same_path_is_another_job(synth_site: Path, tmp_path: Path) -> None:
    job = copied_job(synth_site, tmp_path)
    run_reid_job(job, stop=stopped(), embedder=BandColourEmbedder())  # writes the job's fingerprint, stops at once
    run_reid_job(job, stop=stopped(), embedder=BandColourEmbedder())  # same files: accepted
    shutil.copyfile(synth_site / f"{CAMERAS[1]}.mp4", job.videos[CAMERAS[0]])  # same path, other video
    with pytest.raises(ValueError, match=r"other content.*--overwrite"):
        run_reid_job(job, embedder=BandColourEmbedder())


def test_a_second_run_into_a_held_folder_is_refused_naming_the_holder(synth_site: Path, tmp_path: Path) -> None:
    job = copied_job(synth_site, tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom streid.lock import output_lock\n"
                               f"with output_lock({str(job.out)!r}):\n    print('held', flush=True)\n"
                               "    time.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match=rf"in use by pid {holder.pid}"):
            run_reid_job(job, embedder=BandColourEmbedder())
        assert not (job.out / "identities.sqlite").exists()  # nothing of the holder's was touched
    finally:
        holder.kill()
        holder.wait()
    run_reid_job(job, stop=stopped(), embedder=BandColourEmbedder())  # a killed holder leaves no stale lock


def test_a_model_replaced_under_the_same_path_is_another_job(synth_site: Path, tmp_path: Path) -> None:
    from streid.defaults import models_dir

    builtin = models_dir() / "reid_small.onnx"
    if not builtin.is_file():
        pytest.skip("built-in re-id model not made here")
    model = tmp_path / "reid.onnx"
    shutil.copyfile(builtin, model)
    job = copied_job(synth_site, tmp_path)
    job.pipeline = tiny_pipeline(embedder={"path": str(model)})
    run_reid_job(job, stop=stopped(), embedder=BandColourEmbedder())  # writes the job's fingerprint, stops at once
    run_reid_job(job, stop=stopped(), embedder=BandColourEmbedder())  # same model: accepted
    with model.open("ab") as fh:  # recalibrated / retrained in place
        fh.write(b"\0")
    with pytest.raises(ValueError, match=r"other models.*--overwrite"):
        run_reid_job(job, embedder=BandColourEmbedder())
