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


def ray_env() -> dict[str, str]:
    """This process's environment for a test's Ray head and its drivers, cut off from the user's Ray settings: no
    token authentication (a ``~/.ray/auth_token`` left by another Ray makes the clients demand one), no usage stats."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")}
    return {**env, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


class RayStartTimeout(RuntimeError):
    """Ray gave up starting its own processes (it allows them fixed seconds: a starved machine misses them)."""


class RayHead:
    """``ray start --head --block`` with ``num_cpus`` CPUs, every port free and on loopback, in a private temp dir.

    Every Ray process (GCS, raylet, agents, workers) inherits the marker variable ``STREID_RAY_HEAD=<root>`` and
    writes its logs under ``root``: :meth:`processes` finds exactly this head's processes by either (a process that
    sets its title, ``ray::...``, overwrites its environment block, not its open files), and :meth:`close` ends
    those (by pid) after the head itself, so nothing is left behind and no other Ray on the machine is touched
    (``ray stop`` would be).
    """

    def __init__(self, num_cpus: int = 2, timeout: float = 120.0) -> None:
        import sys

        self.root = Path(tempfile.mkdtemp(prefix="streid-ray-"))  # short: Ray puts unix sockets under it
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        ports = {"--port": self.port, "--dashboard-agent-listen-port": free_port(),
                 "--dashboard-agent-grpc-port": free_port(), "--runtime-env-agent-port": free_port(),
                 "--metrics-export-port": free_port(), "--node-manager-port": free_port(),
                 "--object-manager-port": free_port()}
        self.env = {**ray_env(), "STREID_RAY_HEAD": str(self.root)}
        argv = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
                "--node-ip-address", "127.0.0.1", "--include-dashboard", "false", "--num-cpus", str(num_cpus),
                "--temp-dir", str(self.root), "--disable-usage-stats",
                *(str(a) for kv in ports.items() for a in kv)]
        self.log = self.root / "ray_start.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)
        try:
            self._wait_started(timeout)
        except BaseException:
            self.close()
            raise

    def _wait_started(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "Ray runtime started" in text:
                return
            if self.proc.poll() is not None:
                if "timed out during startup" in text:
                    raise RayStartTimeout(f"ray start timed out during startup: {text.strip()[-300:]}")
                raise RuntimeError(f"ray start exited with {self.proc.returncode}: {text.strip()[-1000:]}")
            time.sleep(0.2)
        raise RayStartTimeout(f"ray start not up after {timeout}s")

    def processes(self) -> list[int]:
        """Pids of the live processes started for this head (found by the marker in their environment)."""
        marker, under = f"STREID_RAY_HEAD={self.root}".encode(), f"{self.root}/"
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                ours = marker in (entry / "environ").read_bytes().split(b"\0") or any(
                    os.readlink(fd).startswith(under) for fd in (entry / "fd").iterdir())
                if ours and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found

    def close(self, grace: float = 20.0) -> None:
        """SIGTERM the head (Ray's processes share its fate), then SIGKILL whatever of this head is still alive."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace)
        deadline = time.monotonic() + grace
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
