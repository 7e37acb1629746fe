"""Per-stage latency and per-camera frame counters; a printed summary, JSON, and Prometheus (live)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class _Stat:
    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total_s += seconds
        self.max_s = max(self.max_s, seconds)


@dataclass
class Metrics:
    """Counters kept by the runner (single thread); ``frames_in``/``dropped`` are read from the sources."""

    stages: dict[str, _Stat] = field(default_factory=lambda: defaultdict(_Stat))
    processed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    frames_in: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    frame_age: _Stat = field(default_factory=_Stat)
    prefilter: dict[str, dict[str, Any]] = field(default_factory=dict)  # camera -> the detector prefilter's state
    started: float = field(default_factory=time.monotonic)
    prometheus: Any = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.stages[name].add(dt)
            if self.prometheus is not None:
                self.prometheus.latency.labels(stage=name).observe(dt)

    def frame_done(self, camera: str, age_s: float) -> None:
        self.processed[camera] += 1
        self.frame_age.add(age_s)
        if self.prometheus is not None:
            self.prometheus.processed.labels(camera=camera).inc()
            self.prometheus.age.observe(age_s)

    def set_source_counts(self, camera: str, frames_in: int, dropped: int) -> None:
        self.frames_in[camera], self.dropped[camera] = frames_in, dropped
        if self.prometheus is not None:
            self.prometheus.frames_in.labels(camera=camera).set(frames_in)
            self.prometheus.dropped.labels(camera=camera).set(dropped)

    def summary(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        total = sum(self.processed.values())
        cams = sorted(set(self.frames_in) | set(self.processed))
        return {
            "elapsed_s": round(elapsed, 3),
            "frames_processed": total,
            "fps": round(total / elapsed, 2) if elapsed > 0 else 0.0,
            "cameras": {c: {"frames_in": self.frames_in.get(c, 0), "processed": self.processed.get(c, 0),
                            "dropped": self.dropped.get(c, 0),
                            **({"prefilter": self.prefilter[c]} if c in self.prefilter else {})} for c in cams},
            "latency_ms": {n: {"mean": round(1000 * s.total_s / s.count, 3), "max": round(1000 * s.max_s, 3),
                               "calls": s.count} for n, s in sorted(self.stages.items()) if s.count},
            "frame_age_ms": {"mean": round(1000 * self.frame_age.total_s / max(1, self.frame_age.count), 3),
                             "max": round(1000 * self.frame_age.max_s, 3)},
        }

    def write_json(self, path: str | Path) -> dict[str, Any]:
        data = self.summary()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(path)
        return data


def format_summary(data: dict[str, Any]) -> str:
    lines = [f"{data['frames_processed']} frames in {data['elapsed_s']:.1f}s = {data['fps']:.1f} frames/s"]
    for cam, c in data["cameras"].items():
        lines.append(f"  {cam}: in {c['frames_in']}  processed {c['processed']}  dropped {c['dropped']}")
    for stage, s in data["latency_ms"].items():
        lines.append(f"  {stage:<10} mean {s['mean']:8.2f} ms  max {s['max']:8.2f} ms  ({s['calls']} calls)")
    lines.append(f"  frame age  mean {data['frame_age_ms']['mean']:8.2f} ms  max {data['frame_age_ms']['max']:8.2f} ms")
    return "\n".join(lines)


class PrometheusExporter:
    """Prometheus metrics on HOST:PORT, in their own registry (no process-wide global state)."""

    def __init__(self, host: str, port: int) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

        self.registry = CollectorRegistry()
        self.latency = Histogram("streid_stage_latency_seconds", "latency per pipeline stage", ["stage"],
                                 registry=self.registry)
        self.processed = Counter("streid_frames_processed", "frames processed per camera", ["camera"],
                                 registry=self.registry)
        self.frames_in = Gauge("streid_frames_in", "frames decoded per camera", ["camera"], registry=self.registry)
        self.dropped = Gauge("streid_frames_dropped", "stale frames dropped per camera", ["camera"],
                             registry=self.registry)
        self.age = Histogram("streid_frame_age_seconds", "frame age at processing", registry=self.registry)
        self.server, self.thread = start_http_server(port, addr=host, registry=self.registry)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
