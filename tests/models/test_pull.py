"""``streid models pull`` against a real HTTP server on loopback: resume, checksum, offline, atomic, by name."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streid.cli import app
from streid.models.registry import read_registry, resolve
from tests.torchreid_files import write_torchreid_osnet

NAME = "osnet_x0_25_msmt17"
SMALL = ["--seq-len", "2", "--height", "64", "--width", "32"]


class Server:
    """Serves one payload at /model.pt with Range support; ``cut_first`` drops the connection mid-body once."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.cut_first = False
        self.ranges: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                header = self.headers.get("Range")
                outer.ranges.append(header)
                start = int(header.split("=")[1].split("-")[0]) if header else 0
                body = outer.payload[start:]
                self.send_response(206 if header else 200)
                if header:
                    self.send_header("Content-Range", f"bytes {start}-{len(outer.payload) - 1}/{len(outer.payload)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.cut_first:
                    outer.cut_first = False
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the transfer dies half way
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/model.pt"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_torchreid_osnet(tmp_path_factory.mktemp("w") / "x025.pth").read_bytes()


@pytest.fixture
def server(weights: bytes) -> Iterator[Server]:
    srv = Server(weights)
    yield srv
    srv.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STREID_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "models"


def pull(*args: str) -> object:
    return CliRunner().invoke(app, ["models", "pull", *args])


def test_pull_resumes_an_interrupted_download_and_registers_the_name(server: Server, home: Path,
                                                                     weights: bytes) -> None:
    server.cut_first = True
    first = pull(NAME, "--url", server.url, *SMALL)
    assert first.exit_code == 1
    assert "interrupted" in first.output and "again to resume" in first.output
    part = home / f"{NAME}.pt.part"
    assert 0 < part.stat().st_size < len(weights)
    assert not (home / f"{NAME}.pt").exists() and NAME not in read_registry(home)  # nothing half-finished is used

    cut = part.stat().st_size
    second = pull(NAME, "--url", server.url, *SMALL)
    assert second.exit_code == 0, second.output
    assert server.ranges == [None, f"bytes={cut}-"]  # only the rest was asked for
    assert (home / f"{NAME}.pt").read_bytes() == weights and not part.exists()
    entry = read_registry(home)[NAME]
    assert entry.sha256 == hashlib.sha256(weights).hexdigest() and entry.trained_on == "real"
    assert resolve(NAME, "reid") == str(home / entry.artifact)  # the name now works as an embedder
    assert "already cached" in pull(NAME, "--url", server.url).output  # and is not fetched again
    assert len(server.ranges) == 2


def test_checksum_mismatch_discards_the_file(server: Server, home: Path) -> None:
    result = pull(NAME, "--url", server.url, "--sha256", "0" * 64, *SMALL)
    assert result.exit_code == 1
    assert "checksum mismatch" in result.output and server.url in result.output
    assert not list(home.glob(f"{NAME}*")) and read_registry(home) == {}


def test_offline_is_one_line_naming_the_url(home: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/osnet.pt"
    result = pull(NAME, "--url", url)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "streid models import" in lines[0]


def test_a_file_that_is_not_the_model_is_refused(home: Path) -> None:
    srv = Server(b"<!DOCTYPE html><html>Google Drive - virus scan warning</html>")
    try:
        result = pull(NAME, "--url", srv.url)
    finally:
        srv.close()
    assert result.exit_code == 2 and "web page" in result.output
    assert not (home / f"{NAME}.pt").exists()


def test_names_are_identifiers_never_paths(home: Path) -> None:
    for bad in ("../../etc/passwd", "a/b", ".hidden", "x..y"):
        result = pull(bad)
        assert result.exit_code == 2 and "not a model name" in result.output, bad
    assert pull("resnet50_imagenet").exit_code == 2  # unknown: the message lists the known ones
    assert resolve("../deploy/x.onnx", "reid") == "../deploy/x.onnx"  # a path stays a path


def test_a_known_model_not_pulled_says_how_to_get_it(home: Path) -> None:
    from streid.models.registry import ModelError

    with pytest.raises(ModelError, match=f"streid models pull {NAME}"):
        resolve(NAME, "reid")
    with pytest.raises(ModelError, match="is a detector model, not a reid model"):
        resolve("yolo11n", "reid")


def test_list_shows_known_builtin_and_cache_state(home: Path) -> None:
    result = CliRunner().invoke(app, ["models", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for text in ("yolo11n", "osnet_ain_x1_0_msmt17", "AGPL-3.0", "MSMT17", "unpublished", "synthetic"):
        assert text in result.output, text
