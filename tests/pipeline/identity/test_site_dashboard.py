"""One dashboard for a whole site, with the real parts: two edge devices (different names and cameras) publish
tracklets with crops through mosquitto to `streid identity serve --web`, which stores them in PostgreSQL; its
dashboard, and `streid serve --db` over the same database, show one card per person with crops from both devices.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from streid.cli import app
from streid.pipeline.identity.records import TrackletObs, normalise
from streid.pipeline.identity.remote import EdgeLink, RemoteIdentityStage
from tests.pipeline.identity.test_identity_remote import Service, wait_for
from tests.site_servers import MosquittoServer, free_port
from tests.web_client import headless_chromium, http_get

TOKEN = "site-tok"
SITE = "dash"
SHIRTS = {0: (40, 40, 210), 1: (40, 200, 40), 2: (210, 60, 40)}  # BGR: red, green, blue shirts
DEVICES = {"door": "edge-a", "lift": "edge-b"}  # camera -> the device it is on


def clip(shirt: tuple[int, int, int], seed: int) -> np.ndarray:
    """(4, 64, 32, 3) crops of a figure in a coloured shirt on grey."""
    rng = np.random.default_rng(seed)
    img = np.full((4, 64, 32, 3), 110, np.uint8)
    img[:, 14:34, 5:27] = shirt
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def get(url: str, token: str | None = TOKEN) -> tuple[int, bytes]:
    return http_get(url, token, timeout=30)


def get_json(url: str) -> Any:
    status, body = get(url)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


@dataclass
class Site:
    web: str  # the dashboard next to the identity service
    db: str
    log: Path


@pytest.fixture(scope="module")
def site(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Three people walk past `door` (device edge-a), then `lift` (device edge-b); every tracklet carries crops."""
    tmp = tmp_path_factory.mktemp("site_dashboard")
    broker = MosquittoServer()
    port = free_port()
    service = Service(broker.url, postgres.url, SITE, tmp / "service.log")
    service.argv += ["--flush-after", "0.3", "--web", f"127.0.0.1:{port}", "--web-token", TOKEN]
    stages: list[RemoteIdentityStage] = []
    try:
        service.start()
        rng = np.random.default_rng(5)
        centres = normalise(rng.standard_normal((len(SHIRTS), 32)))
        for n, (camera, edge) in enumerate(DEVICES.items()):
            stage = RemoteIdentityStage(EdgeLink(broker.url, SITE, edge, tmp / f"{edge}.outbox"))
            stages.append(stage)
            for p, shirt in SHIRTS.items():
                t = 100.0 * p + 30.0 * n
                emb = normalise(centres[p] + 0.05 * rng.standard_normal(32))
                stage.assign([TrackletObs(camera, p + 1, t, t + 5, emb)], [clip(shirt, 10 * p + n)])
        wait_for(lambda: all(len(s.link.ids) == 2 * len(SHIRTS) for s in stages), 60, "every decision")
        yield Site(f"http://127.0.0.1:{port}/", postgres.url, tmp / "service.log")
    finally:
        for stage in stages:
            stage.close()
        service.stop()
        broker.close()


def shirt_of(jpeg: bytes) -> int:
    """Which person a crop shows: the shirt colour nearest to the decoded crop's shirt."""
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    colour = img[18:30, 8:24].reshape(-1, 3).mean(axis=0)
    return min(SHIRTS, key=lambda p: float(np.abs(colour - SHIRTS[p]).sum()))


def check_cards(base: str) -> list[dict]:
    """One card per person, each with crops from both devices' cameras that show that person."""
    cards = get_json(base + "api/identities")
    assert len(cards) == len(SHIRTS), cards
    for card in cards:
        assert card["devices"] == DEVICES and set(card["crops"]) == set(DEVICES) and card["tracklets"] == 2
        people = {shirt_of(get(base + urls[0])[1]) for urls in card["crops"].values()}
        assert len(people) == 1, (card, people)  # door's crop and lift's crop: the same shirt
        full = get_json(base + f"api/identities/{card['global_id']}")
        assert [d["camera"] for d in full["decisions"]] == ["door", "lift"]
        assert [d["kind"] for d in full["decisions"]] == ["new", "match"]
    return cards


def test_service_dashboard_spans_both_devices(site: Site) -> None:
    cards = check_cards(site.web)
    info = get_json(site.web + "api/info")
    assert info["mode"] == "site" and SITE in info["store"] and "streid@" not in info["store"]
    tracklet = cards[0]["crops"]["door"][0].split("/")[2]
    assert get_json(site.web + f"api/search?tracklet={tracklet}")[0]["global_id"] == cards[0]["global_id"]


def test_service_dashboard_token(site: Site) -> None:
    assert get(site.web, token=None)[0] == 401
    assert get(site.web + "api/identities", token=None)[0] == 401
    assert get(site.web + "api/identities", token="wrong")[0] == 401
    assert get(site.web + "api/tracklets/..%2f1/crop.jpg")[0] == 404


def test_streid_serve_db_reads_what_the_service_wrote(site: Site, tmp_path: Path) -> None:
    """`streid serve --db` (a child process, as a user runs it) over the service's database: the same cards.
    The URL carries a password (the test server trusts loopback, so it is ignored): no page or log shows it."""
    port = free_port()
    url = site.db.replace("streid@", "streid:pw-s3cret@")
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streid.cli", "serve", "--db", url, "--site", SITE,
                                 "--port", str(port), "--token", TOKEN], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: "dashboard:" in log.read_text() or proc.poll() is not None, 60, "streid serve to listen")
        assert proc.poll() is None, log.read_text()
        assert get_json(base + "api/identities") == check_cards(site.web)
        assert get(base + "api/identities", token=None)[0] == 401
        page = get(base)[1] + get(base + "api/info")[1]
        assert b"s3cret" not in page and b"streid@" not in page
    finally:
        proc.terminate()
        proc.wait(30)
    assert "s3cret" not in log.read_text() and "Traceback" not in log.read_text()


def test_serve_db_bad_input_is_one_line(site: Site) -> None:
    import psycopg

    res = CliRunner().invoke(app, ["serve", "--db", site.db, "--site", "nowhere", "--port", "0"])
    assert res.exit_code == 2 and "no such site" in res.output
    with psycopg.connect(site.db) as conn:  # looking did not create it
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'streid_nowhere'").fetchone() is None
    res = CliRunner().invoke(app, ["serve", "--db", site.db, "--store", "/tmp", "--port", "0"])
    assert res.exit_code == 2 and "not both" in res.output
    res = CliRunner().invoke(app, ["identity", "serve", "--broker", "mqtt://127.0.0.1:1", "--db", site.db,
                                   "--site", "x", "--web", "host:port"])
    assert res.exit_code == 2 and "--web" in res.output


def test_dashboard_answers_503_while_the_database_is_down(site: Site, postgres: Any) -> None:
    """A restarted database: 503 while it is away (the page says so and retries), the same cards once it is back."""
    assert get(site.web + "api/identities")[0] == 200
    postgres.stop()
    try:
        assert get(site.web + "api/identities")[0] == 503  # the open connection broke
        status, body = get(site.web + "api/identities")  # and cannot be opened again yet
        assert status == 503 and b"streid" not in body
    finally:
        postgres.start()
    wait_for(lambda: get(site.web + "api/identities")[0] == 200, 60, "the dashboard to reconnect")
    check_cards(site.web)


def test_site_dashboard_in_headless_chromium(site: Site, tmp_path: Path) -> None:
    """The page itself: cards appear with their crops loaded, each naming its camera's device."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver = headless_chromium(tmp_path / "profile", "1280,900")
    try:
        driver.get(f"{site.web}?token={TOKEN}")
        wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        loaded = ("return [...document.querySelectorAll('.card img.crop')]"
                  ".filter(i => i.complete && i.naturalWidth > 0).length")
        wait.until(lambda d: d.execute_script(loaded) == 2 * len(SHIRTS))
        labels = driver.execute_script("return [...document.querySelectorAll('.card .cam b')].map(b => b.textContent)")
        assert sorted(set(labels)) == ["door · edge-a", "lift · edge-b"]
        driver.save_screenshot(str(tmp_path / "site_dashboard.png"))
    finally:
        driver.quit()
    assert (tmp_path / "site_dashboard.png").stat().st_size > 10_000
