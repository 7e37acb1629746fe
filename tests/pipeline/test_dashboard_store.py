"""``streid serve`` over a finished job's store: API, crops, search by image, the report, token, no escapes.

The store is filled with the built-in re-id model's embeddings of three synthetic people (two-colour figures
seen by two cameras), so a search by an uploaded picture must rank the right one first.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from streid.cli import app
from streid.defaults import resolve_embedder
from streid.pipeline.identity.records import Decision, TrackletObs
from streid.pipeline.identity.store import SqliteStore
from streid.pipeline.live.outputs import embedder_factory, sqlite_store_factory
from streid.pipeline.web.app import Backend, DashboardServer

TOKEN = "tok"
PEOPLE = {1: ((200, 40, 40), (40, 40, 40)), 2: ((40, 200, 40), (200, 200, 200)), 3: ((230, 230, 30), (30, 30, 200))}


def person(shirt: tuple[int, int, int], trousers: tuple[int, int, int], h: int, w: int, seed: int) -> np.ndarray:
    """A figure on a grey background: head, shirt, trousers (BGR), with a little noise."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 100, np.uint8)
    img[h // 10: h // 5, w // 3: 2 * w // 3] = (150, 170, 200)
    img[h // 5: h // 2, w // 6: 5 * w // 6] = shirt
    img[h // 2: 19 * h // 20, w // 4: 3 * w // 4] = trousers
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


@dataclass
class Served:
    url: str
    store: Path
    tracklet_of: dict[int, int]  # global id -> one of its stored tracklet ids

    def get(self, path: str, token: str | None = TOKEN, data: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        url = self.url + path + (("&" if "?" in path else "?") + f"token={token}" if token is not None else "")
        req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def upload(self, payload: bytes, name: str = "q.png") -> tuple[int, bytes]:
        boundary = "----streidtest"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n")
        body = head.encode() + payload + f"\r\n--{boundary}--\r\n".encode()
        return self.get("api/search", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from streid.pipeline.embedder import load_embedder

    root = tmp_path_factory.mktemp("served")
    job = root / "job"
    path = resolve_embedder("default")
    embedder = load_embedder(path)
    L, h, w = int(embedder.meta["seq_len"]), int(embedder.meta["height"]), int(embedder.meta["width"])
    store = SqliteStore(job)
    store.set_meta("embedder", str(path))
    tracklet_of: dict[int, int] = {}
    for gid, (shirt, trousers) in PEOPLE.items():
        for c, cam in enumerate(("door", "hall")):
            clip = np.stack([person(shirt, trousers, h, w, seed=100 * gid + 10 * c + k) for k in range(L)])
            emb = embedder.embed(clip[None])[0]
            t0 = 10.0 * gid + 5 * c
            obs = TrackletObs(cam, gid, t0, t0 + 3, emb)
            tracklet_of[gid] = store.put_tracklets([obs], [clip])[0]
            kind, dist = ("new", None) if c == 0 else ("match", 0.1 * gid)
            store.put_decisions([Decision(cam, gid, gid, kind, dist, None, None, t0, t0 + 3)])
    store.close()
    (job / "report.html").write_text("<html>report</html>")
    (job / "report_assets").mkdir()
    (job / "report_assets" / "fig.png").write_bytes(b"\x89PNG fake")
    (job / "secret.txt").write_text("not for the web")
    (root / "outside.txt").write_text("not for the web either")
    backend = Backend(sqlite_store_factory(job), embedder_factory(path))
    server = DashboardServer(backend, "127.0.0.1", 0, token=TOKEN, max_upload_kb=64, report_dir=job,
                             info={"store": str(job)}).start()
    try:
        yield Served(server.url, job, tracklet_of)
    finally:
        server.close()


def test_identity_cards_crops_and_decisions(served: Served) -> None:
    cards = served.json("api/identities")
    assert sorted(c["global_id"] for c in cards) == [1, 2, 3]
    assert all(set(c["crops"]) == {"door", "hall"} and c["tracklets"] == 2 for c in cards)
    card = served.json("api/identities/2")
    assert [d["kind"] for d in card["decisions"]] == ["new", "match"]
    assert card["decisions"][1]["distance"] == pytest.approx(0.2)
    status, jpeg = served.get(card["crops"]["hall"][0])
    crop = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert status == 200 and crop is not None and crop[crop.shape[0] // 3].mean(axis=0)[1] > 150  # green shirt
    assert served.get("api/identities/99")[0] == 404
    assert served.get("api/tracklets/999/crop.jpg")[0] == 404
    assert served.json("api/info")["mode"] == "store" and served.json("api/cameras") == []


def test_search_by_upload_and_by_tracklet_rank_the_right_identity_first(served: Served) -> None:
    for gid, (shirt, trousers) in PEOPLE.items():
        picture = person(shirt, trousers, 180, 80, seed=999 + gid)  # a new picture, another size
        png = cv2.imencode(".png", picture)[1]
        status, body = served.upload(png.tobytes())
        assert status == 200, body
        hits = json.loads(body)
        assert hits[0]["global_id"] == gid and hits[0]["distance"] < hits[1]["distance"]
        assert served.json(f"api/search?tracklet={served.tracklet_of[gid]}")[0]["global_id"] == gid


def test_token_limits_and_no_path_escapes(served: Served) -> None:
    assert served.get("", token=None)[0] == 401
    assert served.get("api/identities", token=None)[0] == 401
    assert served.get("api/identities", token="nope")[0] == 401
    assert served.get("api/identities", token=None, headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert served.get("report/report.html") == (200, b"<html>report</html>")
    assert served.get("report/report_assets/fig.png")[0] == 200
    for path in ("report/secret.txt", "report/identities.sqlite", "report/..%2foutside.txt",
                 "report/report_assets/..%2fsecret.txt", "report/report_assets/..%2f..%2foutside.txt",
                 "report/report_assets/%2e%2e/secret.txt", "static/..%2f..%2fapp.py", "static/data.py",
                 "api/tracklets/..%2f1/crop.jpg"):
        assert served.get(path)[0] == 404, path
    assert served.upload(b"\x89PNG\r\n\x1a\n" + bytes(100 * 1024))[0] == 413  # over max_upload_kb
    assert served.upload(b"GIF89a not an image we decode")[0] == 400
    assert served.get("api/search?tracklet=../1")[0] == 400


def test_serve_refuses_a_folder_without_a_store(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["serve", "--store", str(tmp_path), "--port", "0"])
    assert res.exit_code == 2 and "no identities.sqlite" in res.output
    assert not (tmp_path / "identities.sqlite").exists()


def test_a_dashboard_port_in_use_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import socket

    import yaml

    from streid.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = tmp_path / "live.yaml"
        config.write_text(yaml.safe_dump({"pipeline": {
            "mode": "live", "cameras": [{"name": "t", "kind": "test"}],
            "output": {"dir": str(tmp_path / "out"), "web": {"port": busy.getsockname()[1]}}}}))
        with pytest.raises(SystemExit) as done:
            main(["run", "--config", str(config), "--no-progress"])
    assert done.value.code == 2
    assert "pipeline.output.web.port" in capsys.readouterr().err
