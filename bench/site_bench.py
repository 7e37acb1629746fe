"""Site-wide mode figures: 64 simulated cameras (recorded tracklets replayed at real rate) on 8 edges, through a
real mosquitto into one `streid identity serve` with a real PostgreSQL.

    .venv/bin/python bench/site_bench.py [--cameras 64] [--seconds 60] [--rate 0.5] [--backlog 5000]

Prints: decision latency p50/p99 (tracklet sent -> decision back at the edge, including the --lateness wait),
sustained tracklets/s (a backlog decided as fast as the service can), broker and service peak RSS.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from tests.site_servers import MosquittoServer, PostgresServer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=64)
    ap.add_argument("--edges", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=0.5, help="tracklet updates per camera per second")
    ap.add_argument("--backlog", type=int, default=5000)
    ap.add_argument("--dim", type=int, default=256)
    args = ap.parse_args()

    broker, db = MosquittoServer(), PostgresServer()
    args.procs = []
    try:
        run(args, broker, db)
    finally:
        for proc in args.procs:
            proc.kill()
        broker.close()
        db.close()


def run(args: argparse.Namespace, broker: Any, db: Any) -> None:
    import paho.mqtt.client as mqtt
    import psycopg

    from streid.pipeline.identity.messages import decision_topic, decode_decision
    from streid.pipeline.identity.records import TrackletObs, normalise
    from streid.pipeline.identity.remote import EdgeLink

    tmp = Path(tempfile.mkdtemp(prefix="streid-site-bench-"))
    site = "bench"
    service = subprocess.Popen([sys.executable, "-m", "streid.pipeline.identity.service", "--broker", broker.url,
                                "--db", db.url, "--site", site, "--lateness", "1.0", "--flush-after", "0.5"],
                               stdout=(tmp / "service.log").open("w"), stderr=subprocess.STDOUT)
    args.procs.append(service)
    log = tmp / "service.log"
    deadline = time.time() + 300
    while "consuming" not in log.read_text() and time.time() < deadline:  # the broker keeps messages for a
        time.sleep(0.2)  # subscribed session only
    arrived: dict[tuple[str, int], float] = {}
    watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-watch")
    watcher.on_connect = lambda c, u, f, r, p: c.subscribe(decision_topic(site), qos=1)

    def on_message(c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        d = decode_decision(msg.payload)
        arrived.setdefault((d["camera"], d["track_id"]), time.time())

    watcher.on_message = on_message
    watcher.connect("127.0.0.1", broker.port)
    watcher.loop_start()
    links = [EdgeLink(broker.url, site, f"edge{e}", tmp / f"outbox{e}.sqlite") for e in range(args.edges)]
    rng = np.random.default_rng(0)
    people = normalise(rng.standard_normal((2000, args.dim)))
    sent: dict[tuple[str, int], float] = {}
    lock = threading.Lock()

    def camera(c: int, n: int, real_time: bool, track0: int) -> None:
        link = links[c % args.edges]
        start = time.time()
        for k in range(n):
            if real_time:
                delay = start + k / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            now = time.time()
            emb = normalise(people[rng.integers(len(people))] + 0.3 * rng.standard_normal(args.dim) / np.sqrt(args.dim))
            obs = TrackletObs(f"cam{c:02d}", track0 + k, now - 5.0, now, emb)
            with lock:
                sent[obs.key] = now
            link.send([obs])

    per_cam = int(args.seconds * args.rate)
    threads = [threading.Thread(target=camera, args=(c, per_cam, True, 0)) for c in range(args.cameras)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.time() + 120
    while len(arrived) < len(sent) and time.time() < deadline:
        time.sleep(0.2)
    lat = np.array([arrived[k] - sent[k] for k in sent if k in arrived] or [np.nan])
    print(f"site: {args.cameras} cameras on {args.edges} edges, {args.rate} tracklets/s each, {args.seconds:.0f} s: "
          f"{len(lat)}/{len(sent)} decided, decision latency p50 {np.percentile(lat, 50) * 1000:.0f} ms, "
          f"p99 {np.percentile(lat, 99) * 1000:.0f} ms (includes the 1.0 s lateness window)", flush=True)

    # Sustained rate: a backlog sent while the service is stopped, then decided as fast as it can.
    service.terminate()
    service.wait(300)
    per_cam = max(1, args.backlog // args.cameras)
    threads = [threading.Thread(target=camera, args=(c, per_cam, False, 10_000_000)) for c in range(args.cameras)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for link in links:
        link.flush(120)
    backlog = per_cam * args.cameras
    restart = time.time()
    service = subprocess.Popen(service.args, stdout=(tmp / "service2.log").open("w"), stderr=subprocess.STDOUT)
    args.procs.append(service)
    query = (f"SELECT count(*) FILTER (WHERE done), min(received), max(decided) FROM streid_{site}.inbox"
             " WHERE received >= %s")
    with psycopg.connect(db.url, autocommit=True) as conn:
        deadline = time.time() + 600
        while time.time() < deadline:
            done, first, last = conn.execute(query, (restart,)).fetchone()
            if done >= backlog:
                break
            time.sleep(0.5)
    print(f"site: backlog of {backlog} tracklets decided at {done / max(last - first, 1e-6):.0f} tracklets/s "
          f"(service on this 2-core machine, PostgreSQL commits per batch)", flush=True)
    print(f"site: peak RSS broker {peak_rss_mb(broker.proc.pid):.0f} MB, service {peak_rss_mb(service.pid):.0f} MB",
          flush=True)
    service.terminate()
    service.wait(300)
    for link in links:
        link.close(1.0)
    watcher.loop_stop()


if __name__ == "__main__":
    main()
