"""Body of ``streid search``: resolve the query, rank identities, print a table."""

from __future__ import annotations

from pathlib import Path

import typer

from streid.pipeline.identity.search import image_query, rank, tracklet_query
from streid.pipeline.identity.store import STORE_FILE, SqliteStore


def search_command(store_dir: Path, query: list[str], top: int, embedder: Path | None) -> int:
    """Exit code 0 on success, 2 on bad input (message on stderr naming the path)."""
    from rich.console import Console
    from rich.table import Table

    if not (store_dir / STORE_FILE).is_file():
        typer.echo(f"error: {store_dir}: no {STORE_FILE} here", err=True)
        return 2
    store = SqliteStore(store_dir)
    try:
        images = [Path(q) for q in query if Path(q).is_file()]
        if images and len(images) != len(query):
            typer.echo(f"error: not files: {[q for q in query if not Path(q).is_file()]}", err=True)
            return 2
        exclude = None
        if images:
            emb = image_query(store, images, embedder)
        elif len(query) == 1:
            emb, exclude = tracklet_query(store, query[0])
        else:
            typer.echo("error: give one tracklet (row id or camera:track_id) or image files", err=True)
            return 2
        hits = rank(store, emb, top=top, exclude=exclude)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    finally:
        store.close()
    table = Table(title=f"identities like {' '.join(query)}")
    for col in ("rank", "global id", "distance", "tracklets", "cameras (first-last s)"):
        table.add_column(col)
    for i, h in enumerate(hits, 1):
        cams = ", ".join(f"{c} {a:.1f}-{b:.1f}" for c, (a, b) in sorted(h.cameras.items()))
        table.add_row(str(i), str(h.global_id), f"{h.distance:.3f}", str(h.tracklets), cams)
    Console().print(table)
    return 0
