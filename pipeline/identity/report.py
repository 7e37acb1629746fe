"""HTML report of a re-id job: ``DIR/report.html`` with its pictures in ``DIR/report_assets/``.

One card per global identity (crops from each camera it was seen in, a timeline across cameras), summary
figures (identities and tracklets per camera, a timeline of every identity, the distances of the online
decisions against the gate) and, with ground truth, the evaluation table. Everything comes from the store and
the job's markers, so the report can be rebuilt at any time.
"""

from __future__ import annotations

import html
import json
import logging
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from streid.pipeline.identity.store import Store, StoredTracklet

log = logging.getLogger(__name__)

ASSETS = "report_assets"
CROPS_PER_CAMERA = 3
CROP_HEIGHT = 96
ROW_H, LABEL_W, TIMELINE_W = 14, 60, 520
CHAR_W = 7.0  # px per character of the 11 px camera label, rounded up (digits and wide letters)

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}
h1{margin-bottom:4px} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:8px 0 16px} td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#eee} td:first-child,th:first-child{text-align:left}
.figs img{max-width:48%;margin:4px;border:1px solid #ddd;background:#fff}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px;width:560px;max-width:100%;
box-sizing:border-box;overflow-wrap:anywhere}
.card h3{margin:0 0 4px} .meta{color:#555;font-size:13px;margin-bottom:6px}
.cam{display:flex;flex-wrap:wrap;align-items:center;gap:4px;margin:3px 0}
.cam b{flex:0 0 auto;min-width:60px;max-width:100%;font-size:13px}
.cam img{height:96px;max-width:100%;object-fit:contain;border:1px solid #ccc;box-sizing:border-box}
.card svg.timeline{display:block;width:100%;height:auto}
"""


PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _timeline_svg(spans: list[tuple[str, float, float]], cameras: list[str], t_max: float) -> str:
    """Cameras as rows, this identity's tracklets as bars on the job's time axis (seconds).

    The drawing has its own coordinates (``viewBox``) and takes the card's width, so long camera names or many
    cameras shrink it instead of pushing it out of the card; bars are clipped to ``[0, t_max]``.
    """
    label_w = max(LABEL_W, round(CHAR_W * max(len(c) for c in cameras)) + 8)
    width, h = label_w + TIMELINE_W + 4, ROW_H * len(cameras) + 16
    t_max = max(t_max, 1e-6)
    scale = TIMELINE_W / t_max
    parts = [f'<svg viewBox="0 0 {width} {h}" width="{width}" height="{h}" class="timeline" '
             'xmlns="http://www.w3.org/2000/svg">']
    for r, cam in enumerate(cameras):
        y = r * ROW_H
        parts.append(f'<text x="0" y="{y + 11}" font-size="11">{html.escape(cam)}</text>'
                     f'<line x1="{label_w}" y1="{y + 7}" x2="{label_w + TIMELINE_W}" y2="{y + 7}" stroke="#eee"/>')
    for cam, a, b in spans:
        r = cameras.index(cam)
        start, end = min(max(a, 0.0), t_max), min(max(b, a, 0.0), t_max)
        w = max((end - start) * scale, 2.0)
        x = min(label_w + start * scale, label_w + TIMELINE_W - w)  # a 2 px bar at t_max stays on the axis
        parts.append(f'<rect x="{x:.1f}" y="{r * ROW_H + 2}" width="{w:.1f}" height="{ROW_H - 4}" '
                     f'fill="{_colour(r)}"><title>{html.escape(cam)} {a:.1f}-{b:.1f}s</title></rect>')
    y = ROW_H * len(cameras) + 12
    parts.append(f'<text x="{label_w}" y="{y}" font-size="10">0 s</text>'
                 f'<text x="{label_w + TIMELINE_W}" y="{y}" font-size="10" text-anchor="end">{t_max:.0f} s</text>'
                 "</svg>")
    return "".join(parts)


def _save_crop(store: Store, t: StoredTracklet, dest: Path) -> bool:
    """The middle crop of the tracklet's last stored set, as a JPEG; False when crops were not kept."""
    import cv2

    sets = store.crops(t.id)
    if not sets:
        return False
    clip = sets[-1]
    image = clip[len(clip) // 2] if clip.ndim == 4 else clip
    h, w = image.shape[:2]
    image = cv2.resize(image, (max(1, round(w * CROP_HEIGHT / h)), CROP_HEIGHT), interpolation=cv2.INTER_LINEAR)
    return bool(cv2.imwrite(str(dest), image, [cv2.IMWRITE_JPEG_QUALITY, 85]))


def _figures(assets: Path, by_id: dict[int, list[StoredTracklet]], rows: list[StoredTracklet], cameras: list[str],
             decisions: list[dict[str, Any]], gate: float) -> list[str]:
    """Summary PNGs, drawn by matplotlib in a child process; returns their file names.

    Why a child: matplotlib's bundled FreeType aborts the process when it loads after GStreamer has brought in
    the system one (cairo), and the job has decoded videos by now.
    """
    data = {
        "cameras": cameras, "gate": gate,
        "ids_per_camera": [len({t.global_id for t in rows if t.camera == c and t.global_id is not None})
                           for c in cameras],
        "tracklets_per_camera": [sum(1 for t in rows if t.camera == c) for c in cameras],
        "spans": {str(g): [[t.camera, t.t_start, t.t_end] for t in ts] for g, ts in by_id.items()},
        "matched": [d["distance"] for d in decisions if d["kind"] in ("match", "refine") and d["distance"] is not None],
        "runner_up": [d["runner_up_distance"] for d in decisions if d["runner_up_distance"] is not None],
    }
    (assets / "figures.json").write_text(json.dumps(data), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "streid.pipeline.identity.figures", str(assets)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:  # the report is still useful without its figures; say why they are missing
        log.error("report figures failed (exit %d): %s", proc.returncode, proc.stderr.strip()[-2000:])
        return []
    return [line for line in proc.stdout.split() if line.endswith(".png")]


def _pct(value: float | None) -> str:
    """A score in percent; an undefined one (e.g. link precision with no predicted link) as n/a."""
    return "n/a" if value is None else f"{100 * value:.1f}"


def _eval_html(ev: dict[str, Any]) -> str:
    cols = ("idf1", "idp", "idr", "link_precision", "link_recall", "link_recall_tracked")
    rows = "".join(f"<tr><td>{m}</td>" + "".join(f"<td>{_pct(ev[m].get(c))}</td>" for c in cols) + "</tr>"
                   for m in ("offline", "online", "association_bound") if m in ev)
    out = ("<h2>Evaluation (ground truth)</h2><table><tr><th>ids</th><th>multi-camera IDF1</th><th>IDP</th>"
           f"<th>IDR</th><th>link precision</th><th>link recall</th><th>link recall (both ends tracked)</th></tr>"
           f"{rows}</table>"
           + ("<p>association_bound: the same tracks, each given the ground-truth person it follows most; the gap to "
              "offline is what cross-camera association lost, the gap to 100 what detection and tracking lost.</p>"
              if "association_bound" in ev else ""))
    per = ev.get("per_camera", {})
    if per:
        out += ("<table><tr><th>camera</th><th>IDF1 (final ids)</th><th>IDF1 (online ids)</th><th>tracker HOTA</th>"
                "<th>tracker IDF1</th><th>tracker MOTA</th></tr>")
        for cam, s in per.items():
            tr = s.get("tracker", {})
            cells = [s["idf1"], s["idf1_online"], tr.get("HOTA"), tr.get("IDF1"), tr.get("MOTA")]
            out += f"<tr><td>{html.escape(cam)}</td>" + "".join(
                f"<td>{'' if v is None else f'{100 * v:.1f}'}</td>" for v in cells) + "</tr>"
        out += "</table>"
    return out


def _camera_note(marker: dict[str, Any]) -> str:
    """"N frames", and the detector prefilter's end state when it filtered the camera (so a reader knows why)."""
    p = marker.get("prefilter") or {}
    return f"{marker['frames']} frames" + (f", low-passed: noise {p['noise']} grey levels" if p.get("on") else "")


def write_report(out: Path, store: Store, cameras: list[str], done: dict[str, dict[str, Any]],
                 online: dict[tuple[str, int], int], evaluation: dict[str, Any] | None, gate: float) -> Path:
    """Rebuild ``out/report.html`` and ``out/report_assets/`` from the store.

    ``done`` (a job's per-camera markers: frames, fps) may lack cameras: a site-wide store has no markers."""
    assets = out / ASSETS
    shutil.rmtree(assets, ignore_errors=True)
    (assets / "crops").mkdir(parents=True)
    rows = store.tracklets(with_embeddings=False)
    by_id: dict[int, list[StoredTracklet]] = defaultdict(list)
    for t in rows:
        if t.global_id is not None:
            by_id[t.global_id].append(t)
    decisions = [e for e in store.events() if e["kind"] in ("new", "match", "refine", "switch")]
    figures = _figures(assets, by_id, rows, cameras, decisions, gate)
    t_max = max([float(d["frames"]) / float(d["fps"] or 1.0) for d in done.values()] + [t.t_end for t in rows] + [1.0])
    cross = sum(1 for ts in by_id.values() if len({t.camera for t in ts}) > 1)
    cards = []
    for gid in sorted(by_id, key=lambda g: (-len({t.camera for t in by_id[g]}), g)):
        members = sorted(by_id[gid], key=lambda t: t.t_start)
        revised = sum(1 for t in members if online.get((t.camera, t.track_id), gid) != gid)
        cams_html = []
        for cam in cameras:
            mine = [t for t in members if t.camera == cam]
            if not mine:
                continue
            imgs = []
            for t in mine[:CROPS_PER_CAMERA]:
                name = f"crops/{t.id}.jpg"
                if _save_crop(store, t, assets / name):
                    imgs.append(f'<img src="{ASSETS}/{name}" title="track {t.track_id}, {t.t_start:.1f}-'
                                f'{t.t_end:.1f}s" alt="{html.escape(cam)} track {t.track_id}">')
            cams_html.append(f'<div class="cam"><b>{html.escape(cam)}</b>{"".join(imgs)}'
                             f'<span class="meta">{len(mine)} tracklet(s)</span></div>')
        meta = (f"{len({t.camera for t in members})} camera(s), {len(members)} tracklet(s), seen "
                f"{members[0].t_start:.1f}-{max(t.t_end for t in members):.1f} s"
                + (f", {revised} tracklet(s) re-assigned by offline clustering" if revised else ""))
        spans = [(t.camera, t.t_start, t.t_end) for t in members]
        cards.append(f'<div class="card" id="G{gid}"><h3>G{gid}</h3><div class="meta">{meta}</div>'
                     f'{"".join(cams_html)}{_timeline_svg(spans, cameras, t_max)}</div>')
    summary = (f"{len(by_id)} global identities ({cross} seen in more than one camera), {len(rows)} tracklets, "
               f"{len(cameras)} cameras: " + ", ".join(
                   html.escape(c) + (f" ({_camera_note(done[c])})" if c in done else "") for c in cameras))
    figs = "".join(f'<img src="{ASSETS}/{n}" alt="{n}">' for n in figures)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>streid reid report</title>"
            f"<style>{_CSS}</style></head><body><h1>Cross-camera identities</h1><p class='sub'>{summary}</p>"
            f"{_eval_html(evaluation) if evaluation else ''}<h2>Summary</h2><div class='figs'>{figs}</div>"
            f"<h2>Identities</h2><div class='cards'>{''.join(cards)}</div></body></html>")
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
