"""How to make the data a config points at, for an error that says it is missing.

The synthetic configs say in their own comment which ``streid synth`` line writes their data; real data sets
are never downloaded, so their hint is to point ``data.root`` at a copy.
"""

from __future__ import annotations

from pathlib import Path


def missing_data_hint(config: Path | None, fmt: str, root: str | Path) -> str:
    """One sentence: the config's ``streid synth`` comment line that writes ``root``, else the command (synthetic
    format) or where to point ``data.root``."""
    if config is not None and Path(config).is_file():
        for line in Path(config).read_text(encoding="utf-8").splitlines():
            text = line.strip().lstrip("#").strip()
            words = text.split()
            out = words[words.index("--out") + 1] if "--out" in words[:-1] else None
            if line.lstrip().startswith("#") and text.startswith("streid synth") and out is not None \
                    and Path(out) / "reid" == Path(root):
                return f"make it with: {text}"
    if fmt == "synthetic":
        world = Path(root).parent
        return (f"make it with: streid synth --config configs/synth/target.yaml --out {world} --only reid "
                f"(or point data.root at a world's reid/ folder)")
    return f"point data.root at your copy of the {fmt} data set in its official layout (nothing is downloaded)"
