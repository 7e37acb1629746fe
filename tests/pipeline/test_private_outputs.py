"""Stored people are private: output folders 0700, store/events/videos 0600 whatever the umask; search only reads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from streid.cli import main
from streid.pipeline.scene import SceneFiles


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_run_writes_private_files_under_a_permissive_umask(tmp_path: Path, scenes: dict[str, SceneFiles]) -> None:
    scene = scenes["cam1"]
    out = tmp_path / "site" / "out"
    cfg = tmp_path / "run.yaml"
    cfg.write_text("pipeline:\n  detector: {kind: motdet}\n  embedder: {path: default}\n  max_frames: 20\n"
                   f"  cameras: [{{name: cam1, uri: {scene.video}, det_file: {scene.gt}}}]\n"
                   f"  output: {{dir: {out}, video: true}}\n")
    old = os.umask(0)
    try:
        with pytest.raises(SystemExit) as exc:
            main(["run", "--config", str(cfg), "--no-progress"])
    finally:
        os.umask(old)
    assert exc.value.code == 0
    assert mode(out) == 0o700
    for name in ("identities.sqlite", "events.jsonl", "cam1.mp4", "metrics.json"):
        assert mode(out / name) == 0o600, name


def test_search_opens_the_store_read_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "identities.sqlite").write_bytes(b"")
    with pytest.raises(SystemExit) as exc:
        main(["search", "--store", str(tmp_path), "--query", "cam1:1"])
    assert exc.value.code == 2
    assert "not a usable identity store" in capsys.readouterr().err
    assert (tmp_path / "identities.sqlite").stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["identities.sqlite"]  # no -wal / -shm either


def test_a_huge_query_image_is_refused_before_decoding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    huge = tmp_path / "huge.png"  # a valid header promising 20000x20000 RGB (pixel data never needed)
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    from streid.pipeline.identity.store import SqliteStore

    SqliteStore(tmp_path).close()
    with pytest.raises(SystemExit) as exc:
        main(["search", "--store", str(tmp_path), "--query", str(huge), "--embedder",
              str(Path(__file__).resolve().parents[2] / "deploy/models/reid_small.onnx")])
    assert exc.value.code == 2
    assert "too large" in capsys.readouterr().err
