"""`report.html` and its figures keep everything inside: timeline bars in their card, whole axis labels.

A real store, a real report (figures drawn by the real child process), looked at in headless Chromium.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from streid.pipeline.identity.records import Decision, TrackletObs
from streid.pipeline.identity.report import write_report
from streid.pipeline.identity.store import SqliteStore
from tests.web_client import headless_chromium

LONG = [f"entrance_north_lobby_cam_{i:02d}" for i in range(7)]


def make_report(out: Path, cameras: list[str], spans: list[tuple[str, float, float, int]], t_video: float,
                crop_hw: tuple[int, int]) -> Path:
    """A store with ``spans`` = (camera, start, end, global id), each tracklet with a crop, and its report."""
    store = SqliteStore(out)
    rng = np.random.default_rng(0)
    obs = [TrackletObs(cam, i, a, b, rng.standard_normal(8)) for i, (cam, a, b, _) in enumerate(spans)]
    store.put_tracklets(obs, [rng.integers(0, 255, (2, *crop_hw, 3), dtype=np.uint8) for _ in obs])
    store.put_decisions([Decision(t.camera, t.track_id, g, "new" if i == 0 else "match", None if i == 0 else 0.1 * i,
                                  None, None, t.t_start, t.t_end)
                         for i, (t, (*_, g)) in enumerate(zip(obs, spans, strict=True))])
    done = {c: {"frames": int(t_video * 10), "fps": 10.0} for c in cameras}
    try:
        return write_report(out, store, cameras, done, {}, None, 0.35)
    finally:
        store.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("reports")
    # two cameras, 16 s: a span starting before 0 (a refreshed tracklet) and one ending at the last frame
    short = make_report(base / "short", ["cam1", "cam2"],
                        [("cam1", -1.0, 3.0, 1), ("cam2", 5.0, 16.0, 1), ("cam1", 12.0, 16.0, 2)], 16.0, (64, 32))
    # seven cameras with long names, two hours, wide crops (three of them are wider than a card)
    spans = [(LONG[i % 7], 1000.0 * i, 1000.0 * i + 300, 1 + i % 3) for i in range(8)] + [
        (LONG[6], 7100.0, 7200.0, 1), (LONG[6], 7150.0, 7200.0, 1), (LONG[6], 7190.0, 7200.0, 1)]
    wide = make_report(base / "wide", LONG, spans, 7200.0, (40, 220))
    return [short, wide]


def test_cards_hold_their_timeline_and_crops(reports: list[Path], tmp_path: Path) -> None:
    driver = headless_chromium(tmp_path / "profile")
    outside = ("const out = []; let bars = 0;"
               "for (const card of document.querySelectorAll('.card')) { const c = card.getBoundingClientRect();"
               "  bars += card.querySelectorAll('svg rect').length;"
               "  for (const e of card.querySelectorAll('*')) { const r = e.getBoundingClientRect();"
               "    if (r.width === 0 && r.height === 0) continue;"  # <title>: a tooltip, not drawn
               "    if (r.left < c.left - 0.5 || r.right > c.right + 0.5 || r.top < c.top - 0.5 ||"
               "        r.bottom > c.bottom + 0.5) out.push(card.id + ' ' + e.tagName + ' ' +"
               "        [r.left, r.right, c.left, c.right].map(Math.round).join(',')); } }"
               "return [bars, out];")
    try:
        for page, n_bars in zip(reports, (3, 11), strict=True):
            driver.get(page.resolve().as_uri())
            driver.execute_script("return document.readyState")
            bars, out = driver.execute_script(outside)
            assert bars == n_bars, page
            assert out == [], f"{page}: outside their card: {out[:8]}"
    finally:
        driver.quit()


def test_figures_leave_no_label_cut_off(reports: list[Path]) -> None:
    """Nothing drawn touches a PNG's border (a cut label does); everything drawn lies inside its figure."""
    for page in reports:
        assets = page.parent / "report_assets"
        names = sorted(p.name for p in assets.glob("*.png"))
        assert names == ["decisions.png", "per_camera.png", "timeline.png"], names
        for name in names:
            image = cv2.imread(str(assets / name), cv2.IMREAD_GRAYSCALE)
            border = np.concatenate([image[:2].ravel(), image[-2:].ravel(), image[:, :2].ravel(),
                                     image[:, -2:].ravel()])
            assert border.min() > 200, f"{assets / name}: something drawn reaches the picture's edge"
    # the same figures in matplotlib's own coordinates (a child: matplotlib next to GStreamer aborts)
    data = json.loads((reports[1].parent / "report_assets" / "figures.json").read_text())
    data["spans"] = {str(g): [[LONG[g % 7], g, g + 50.0]] for g in range(1, 90)}  # more ids than the ticks name
    # everything drawn (tick labels, axis labels, titles, legends): its tight box in the figure's box, in inches
    check = ("import json, sys, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
             "from streid.pipeline.identity.figures import FIGURES\n"
             "data, bad = json.loads(sys.stdin.read()), []\n"
             "for name, make in FIGURES.items():\n"
             "    fig = make(plt, data)\n    fig.canvas.draw()\n"
             "    t, box = fig.get_tightbbox(fig.canvas.get_renderer()), fig.bbox_inches\n"
             "    if not (box.x0 <= t.x0 and t.x1 <= box.x1 and box.y0 <= t.y0 and t.y1 <= box.y1):\n"
             "        bad.append([name, t.bounds, box.bounds])\n"
             "print(json.dumps(bad))\n")
    proc = subprocess.run([sys.executable, "-c", check], input=json.dumps(data), capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(proc.stdout) == []
