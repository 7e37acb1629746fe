"""Real PostgreSQL and mosquitto servers on free loopback ports, in temporary folders (tests and benches).

PostgreSQL refuses to run as root, and CI runs as root: initdb and the server then run as ``nobody`` through
``runuser``, in a data folder handed to that user. Binaries are found on PATH or under /usr/lib/postgresql/*/bin
(Debian's layout). Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_USER = "nobody"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def mosquitto_bin() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)


class PostgresServer:
    """``initdb`` + ``pg_ctl`` in a temp folder; ``url`` connects as the trust-authenticated user ``streid``."""

    def __init__(self) -> None:
        if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
            raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
        self.root = Path(tempfile.mkdtemp(prefix="streid-pg-"))
        os.chmod(self.root, 0o755)
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.port = free_port()
        self.url = f"postgresql://streid@127.0.0.1:{self.port}/postgres"
        self._as_user = os.geteuid() == 0
        if self._as_user:
            shutil.chown(self.root, PG_USER)
        self._run([pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "streid", "--no-sync", "-E", "UTF8"])
        self.start()

    def _run(self, cmd: list[str | None]) -> None:
        argv = [str(c) for c in cmd]
        if self._as_user:
            argv = ["runuser", "-u", PG_USER, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} -c fsync=off"
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start"])
        wait_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class MosquittoServer:
    """mosquitto on a free loopback port with persistence (queued QoS 1 messages survive a stop and start)."""

    def __init__(self, extra: str = "") -> None:
        if mosquitto_bin() is None:
            raise FileNotFoundError("mosquitto not found: apt-get install mosquitto")
        self.root = Path(tempfile.mkdtemp(prefix="streid-mqtt-"))
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.conf = self.root / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.root}/\nautosave_interval 1\nmax_queued_messages 0\n"
            f"max_inflight_messages 0\n{user}log_dest file {self.root}/mosquitto.log\n{extra}")
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([mosquitto_bin(), "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
