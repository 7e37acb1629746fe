// STREID dashboard: plain JS, no build step. Reads the JSON API, refreshes camera snapshots, listens to
// server-sent events for new decisions. The token (if any) comes from this page's own URL (?token=...).
"use strict";
const TOKEN = new URLSearchParams(location.search).get("token") || "";
const SNAPSHOT_MS = 500;

function withToken(url) {
  if (!TOKEN) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}
async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = Object.assign({}, opts.headers || {}, TOKEN ? {Authorization: "Bearer " + TOKEN} : {});
  const r = await fetch(path, opts);
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
  return r.json();
}
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}
function when(t) {  // live stores hold UNIX times, offline jobs seconds of video
  return t > 1e9 ? new Date(t * 1000).toLocaleTimeString() : t.toFixed(1) + " s";
}

// ---------------------------------------------------------------- cameras
const previews = {};
function renderCameras(cams) {
  const grid = document.getElementById("camera-grid");
  document.getElementById("no-cameras").hidden = cams.length > 0;
  for (const c of cams) {
    let box = document.getElementById("camera-" + c.name);
    if (!box) {
      const img = el("img", {id: "preview-" + c.name, alt: c.name, "data-loads": "0"});
      img.addEventListener("load", () => img.dataset.loads = String(Number(img.dataset.loads) + 1));
      box = el("div", {class: "camera", id: "camera-" + c.name}, el("b", {text: c.name}), img,
               el("div", {class: "stats"}));
      grid.append(box);
      previews[c.name] = img;
    }
    const rtsp = c.rtsp ? ` · RTSP ${c.rtsp.url} (dropped ${c.rtsp.dropped})` : "";
    const err = c.last_error ? ` · last error: ${c.last_error}` : "";
    box.querySelector(".stats").innerHTML = "";
    box.querySelector(".stats").append(el("span", {class: "state-" + c.state, text: c.state}),
      ` · ${c.fps} frames/s · in ${c.frames_in} · processed ${c.processed} · dropped ${c.dropped}` +
      ` · errors ${c.errors} · tracks ${c.tracks}${rtsp}${err}`);
  }
}
function refreshSnapshots() {
  for (const [name, img] of Object.entries(previews)) {
    img.src = withToken(`api/cameras/${encodeURIComponent(name)}/snapshot.jpg?t=${Date.now()}`);
  }
}

// ---------------------------------------------------------------- tracks
async function refreshTracks() {
  const rows = document.getElementById("track-rows");
  const tracks = await api("api/tracks");
  rows.innerHTML = "";
  for (const t of tracks) {
    rows.append(el("tr", {}, el("td", {text: t.camera}), el("td", {text: "#" + t.track_id}),
      el("td", {text: t.global_id === null ? "–" : "G" + t.global_id}),
      el("td", {text: t.box.map(v => v.toFixed(0)).join(", ")}), el("td", {text: t.confidence.toFixed(2)})));
  }
}

// ---------------------------------------------------------------- identities
function cropImg(url, title) {
  const tid = url.split("/")[2];
  return el("img", {class: "crop", src: withToken(url), title: title || "search like this tracklet",
                    "data-tracklet": tid, onclick: () => searchTracklet(tid, url)});
}
function timeline(cameras, t0, t1) {
  const W = 300, rowH = 12, names = Object.keys(cameras).sort();
  const svg = `<svg width="${W + 60}" height="${rowH * names.length + 4}">` + names.map((c, i) => {
    const [a, b] = cameras[c], s = W / Math.max(t1 - t0, 1e-6);
    return `<text x="0" y="${i * rowH + 10}" font-size="10">${c.replace(/[<&>"]/g, "")}</text>` +
      `<rect x="${60 + (a - t0) * s}" y="${i * rowH + 2}" width="${Math.max((b - a) * s, 2)}" height="8" fill="#4c78a8"/>`;
  }).join("") + "</svg>";
  const d = el("div"); d.innerHTML = svg; return d;
}
async function showDecisions(details, gid) {
  if (details.dataset.loaded) return;
  const card = await api(`api/identities/${gid}`);
  const table = el("table", {}, el("tr", {}, ...["kind", "camera", "track", "distance", "runner-up", "its distance"]
    .map(h => el("th", {text: h}))));
  for (const d of card.decisions) {
    const f = v => v === null || v === undefined ? "–" : (typeof v === "number" ? v.toFixed(3) : String(v));
    table.append(el("tr", {}, el("td", {text: d.kind}), el("td", {text: d.camera}), el("td", {text: d.track_id}),
      el("td", {text: f(d.distance)}), el("td", {text: d.runner_up_id === null ? "–" : "G" + d.runner_up_id}),
      el("td", {text: f(d.runner_up_distance)})));
  }
  details.append(table);
  details.dataset.loaded = "1";
}
let shownIdentities = "";
async function refreshIdentities() {
  const ids = await api("api/identities");
  const key = JSON.stringify(ids);
  if (key === shownIdentities) return;  // unchanged: keep the cards (and their loaded crops) as they are
  shownIdentities = key;
  document.getElementById("identity-count").textContent = `(${ids.length})`;
  const box = document.getElementById("identity-cards");
  const t0 = Math.min(...ids.map(i => i.first_seen)), t1 = Math.max(...ids.map(i => i.last_seen));
  box.innerHTML = "";
  for (const i of ids) {
    const cams = Object.entries(i.crops).map(([cam, urls]) =>
      el("div", {class: "cam"}, el("b", {text: i.devices[cam] ? `${cam} · ${i.devices[cam]}` : cam}),
         ...urls.map(u => cropImg(u))));
    const details = el("details", {}, el("summary", {text: "decisions"}));
    details.addEventListener("toggle", () => showDecisions(details, i.global_id));
    box.append(el("div", {class: "card", "data-gid": String(i.global_id)},
      el("h3", {text: "G" + i.global_id}),
      el("div", {class: "meta", text: `${i.tracklets} tracklets · ${Object.keys(i.cameras).length} camera(s) · ` +
                                      `first ${when(i.first_seen)} · last ${when(i.last_seen)}`}),
      ...cams, timeline(i.cameras, t0, t1), details));
  }
}

// ---------------------------------------------------------------- search
function showHits(hits) {
  const ol = document.getElementById("search-results");
  ol.innerHTML = "";
  for (const h of hits) {
    ol.append(el("li", {class: "hit", "data-gid": String(h.global_id)},
      el("b", {text: "G" + h.global_id}), ` distance ${h.distance.toFixed(3)} · ${h.tracklets} tracklets · ` +
      Object.keys(h.cameras).join(", "), cropImg(h.crop)));
  }
  if (!hits.length) ol.append(el("li", {text: "no identity with an embedding yet"}));
}
async function searchTracklet(tid, url) {
  document.getElementById("search-query").innerHTML = "";
  document.getElementById("search-query").append("query: tracklet " + tid, el("img", {class: "crop",
    src: withToken(url)}));
  showHits(await api(`api/search?tracklet=${tid}`));
  location.hash = "search";
}
document.getElementById("search-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const file = document.getElementById("search-file").files[0];
  if (!file) return;
  const form = new FormData(); form.append("image", file);
  document.getElementById("search-query").textContent = "query: " + file.name;
  try { showHits(await api("api/search", {method: "POST", body: form})); }
  catch (e) { document.getElementById("search-query").textContent = String(e); }
});

// ---------------------------------------------------------------- start
let identityTimer = null;
function identitiesSoon() {  // many decisions arrive together: one refresh for them
  if (identityTimer === null) identityTimer = setTimeout(() => { identityTimer = null; refreshIdentities(); }, 300);
}
async function start() {
  const info = await api("api/info");
  document.getElementById("status").textContent = `${info.mode} · store ${info.store || "–"}`;
  if (info.report) {
    document.getElementById("report").hidden = false; document.getElementById("report-nav").hidden = false;
    document.getElementById("report-link").href = withToken("report/report.html");
  }
  if (info.mode === "site") document.getElementById("no-cameras").textContent =
    "The site's cameras run on its devices; the identities below come from all of them.";
  renderCameras(await api("api/cameras"));
  await refreshIdentities();
  if (info.mode === "live") {
    setInterval(refreshSnapshots, SNAPSHOT_MS); refreshSnapshots();
    setInterval(() => refreshTracks().catch(() => {}), 1000);
  }
  const events = new EventSource(withToken("api/stream"));
  events.addEventListener("cameras", e => renderCameras(JSON.parse(e.data)));
  events.addEventListener("decision", identitiesSoon);
  events.onopen = () => document.getElementById("status").textContent = `${info.mode} · store ${info.store || "–"}`;
  events.onerror = () => document.getElementById("status").textContent = "disconnected (retrying)";
}
start().catch(e => { document.getElementById("status").textContent = String(e); });
