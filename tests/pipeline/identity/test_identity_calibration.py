"""Matching thresholds fitted from distance distributions (hand-made distance sets) and refined per site."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from streid.pipeline.identity.calibration import (
    FALLBACK_GATE,
    Calibration,
    fit_calibration,
    fit_threshold,
    pair_distances,
    resolve_thresholds,
)
from streid.pipeline.identity.records import TrackletObs
from streid.pipeline.identity.site_calibration import SiteCalibrator

NEG = np.linspace(0.40, 1.00, 121)  # quantiles by hand: q05 = 0.43, q10 = 0.46, q20 = 0.52


def test_gate_is_a_low_quantile_of_the_negatives() -> None:
    c = fit_calibration(NEG)
    assert c.gate == pytest.approx(0.43) and c.offline_threshold == pytest.approx(0.46)
    assert c.n_neg == 121 and c.n_pos == 0 and c.quantiles["neg"]["q05"] == pytest.approx(0.43)


def test_separated_cross_camera_positives_put_the_gate_in_the_middle_of_the_gap() -> None:
    pos = np.linspace(0.05, 0.25, 21)  # q90 = 0.23, all below the negatives' q05
    assert fit_threshold(NEG, pos, 0.05, "cross") == pytest.approx(0.5 * (0.23 + 0.43))


def test_overlapping_cross_camera_positives_keep_the_precision_bound() -> None:
    pos = np.linspace(0.25, 0.65, 41)  # true cross-camera pairs reach into the negatives (the case)
    assert fit_threshold(NEG, pos, 0.05, "cross") == pytest.approx(0.43)


def test_within_track_positives_only_bound_the_gate_from_below() -> None:
    neg = np.linspace(0.10, 1.00, 91)  # q05 = 0.145, q10 = 0.19
    # a gate below the typical same-track distance would split one track: raised to their median ...
    assert fit_threshold(neg, np.full(30, 0.17), 0.05) == pytest.approx(0.17)
    # ... but never past Q_neg(2 alpha), however far the same-track tracklets are
    assert fit_threshold(neg, np.full(30, 0.60), 0.05) == pytest.approx(0.19)
    # tiny same-track distances (easy pairs) never pull the gate down to their level
    assert fit_threshold(neg, np.full(30, 0.01), 0.05) == pytest.approx(0.145)


def test_too_few_negatives_is_an_error() -> None:
    with pytest.raises(ValueError, match="negative pairs"):
        fit_threshold(np.array([0.5, 0.6]), None, 0.05)


def test_entry_round_trip_and_validation() -> None:
    c = fit_calibration(NEG, np.linspace(0.05, 0.25, 21), "cross", source="unit test")
    again = Calibration.from_entry(c.entry())
    assert again == c
    with pytest.raises(ValueError, match="version"):
        Calibration.from_entry({**c.entry(), "version": 99})
    with pytest.raises(ValueError, match="gate"):
        Calibration.from_entry({**c.entry(), "gate": -1})


def test_precedence_config_then_artifact_then_fallback() -> None:
    cal = fit_calibration(NEG)
    t = resolve_thresholds(0.3, None, cal)
    assert (t.gate, t.gate_source) == (0.3, "config")
    assert (t.offline_threshold, t.offline_source) == (cal.offline_threshold, "artifact")
    t = resolve_thresholds(None, None, None)
    assert (t.gate, t.gate_source) == (FALLBACK_GATE, "fallback")


def test_pair_distances_from_labels() -> None:
    emb = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], np.float32)
    labels, cams = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    neg, pos = pair_distances(emb, labels, cams)
    assert len(neg) == 4 and len(pos) == 2
    assert pos.max() < 0.01 and neg.min() > 0.75


def _site(calibrator: SiteCalibrator, rounds: int, spread: float, seed: int = 0) -> None:
    """Rounds of 4 people in one camera at once, each tracklet a noisy view of its person's vector."""
    rng = np.random.default_rng(seed)
    people = rng.normal(size=(4, 16))
    people /= np.linalg.norm(people, axis=1, keepdims=True)
    for r in range(rounds):
        keys = [("cam", 4 * (r // 3) + i) for i in range(4)]  # a new group of tracks every 3 rounds
        calibrator.seen(keys)
        obs = [TrackletObs(k[0], k[1], r, r + 1, (p + spread * rng.normal(size=16)).astype(np.float32))
               for k, p in zip(keys, people, strict=True)]
        calibrator.add(obs)


def test_site_refit_follows_the_site_within_a_band() -> None:
    prior = resolve_thresholds(None, None, Calibration(0.30, 0.30, 0, 0))  # artifact prior 0.30
    cal = SiteCalibrator(prior, band=0.25, refit_every=30, max_pairs=500)
    _site(cal, 40, spread=0.05)  # very distinct people: the site alone would allow a much larger gate
    assert cal.history, "no refit after hundreds of negative pairs"
    assert cal.current.gate == pytest.approx(0.30 * 1.25)  # clipped to the band, not the raw site fit
    assert cal.current.gate_source.startswith("site (prior artifact")
    assert len(cal.neg) <= 500 and len(cal.last) <= cal.max_tracks


def test_artifact_offline_threshold_is_kept_unless_asked_and_the_site_value_is_recorded() -> None:
    prior = resolve_thresholds(None, None, Calibration(0.30, 0.30, 0, 0))
    kept, refined = (SiteCalibrator(prior, refit_every=30, refine_offline=r) for r in (False, True))
    for cal in (kept, refined):
        _site(cal, 40, spread=0.05)
    assert kept.current.offline_threshold == 0.30 and kept.current.offline_source == "artifact"
    assert kept.history[-1]["site_offline_threshold"] == pytest.approx(0.30 * 1.25)  # what the site would set
    assert kept.current.gate == pytest.approx(0.30 * 1.25)  # the gate is refined either way
    assert refined.current.offline_threshold == pytest.approx(0.30 * 1.25)
    assert refined.current.offline_source.startswith("site (prior artifact")


def test_site_never_refines_a_config_value() -> None:
    cal = SiteCalibrator(resolve_thresholds(0.12, None, None), refit_every=10)
    _site(cal, 20, spread=0.05)
    assert cal.history and cal.current.gate == 0.12 and cal.current.gate_source == "config"
    assert cal.current.offline_source.startswith("site (prior fallback")  # the unset one is refined


def test_job_refines_on_the_site_and_records_it(synth_site: Any, tmp_path: Any) -> None:
    """The offline job: refits from the replayed site, one ``calibration`` event each, the values in eval.json."""
    import json

    from streid.pipeline.identity.config import CalibrationConfig, IdentityConfig
    from streid.pipeline.identity.job import ReidJob, run_reid_job
    from tests.pipeline.identity.conftest import CAMERAS, BandColourEmbedder, tiny_pipeline

    files = {c: synth_site / "gt" / f"{c}.txt" for c in CAMERAS}
    videos = {c: synth_site / f"{c}.mp4" for c in CAMERAS}
    cfg = IdentityConfig(offline_threshold=0.15, calibration=CalibrationConfig(refit_every=5))
    patient = tiny_pipeline(live={"connect_timeout_s": 120, "stall_timeout_s": 120})  # a busy CI machine
    result = run_reid_job(ReidJob(videos, tmp_path, patient, cfg, files, files),
                          embedder=BandColourEmbedder(), videos=False)
    used = json.loads((tmp_path / "eval.json").read_text())["thresholds"]
    assert used == result.thresholds and used["refits"] >= 1
    assert used["start"]["gate_source"] == "fallback" and used["gate_source"].startswith("site (prior fallback")
    assert used["offline_threshold"] == 0.15 and used["offline_source"] == "config"
    assert 0.1 <= used["gate"] <= 0.3  # within the band around the fallback 0.2
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    refits = [e for e in events if e["type"] == "calibration"]
    assert len(refits) == used["refits"] and refits[-1]["gate"] == used["gate"]
    assert refits[-1]["n_neg"] >= 5 and "q05" in refits[-1]["quantiles"]["neg"]
