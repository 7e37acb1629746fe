"""``streid models list|pull|import``: thin commands over ``streid.models.manage``.

Bad input (a name that is not one, an unknown model, a file STREID cannot use) prints one line and exits 2;
a failed download (offline, HTTP error, interrupted, checksum mismatch) exits 1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from streid.export.metadata import TRAINED_ON

models_app = typer.Typer(help="Public and imported models: list, pull (download when online), import a file.",
                         no_args_is_help=True)
T = TypeVar("T")

SeqLen = Annotated[int, typer.Option("--seq-len", min=1, help="re-id: frames per clip of the artifact")]
Height = Annotated[int, typer.Option("--height", min=32, help="re-id: crop height of the artifact")]
Width = Annotated[int, typer.Option("--width", min=32, help="re-id: crop width of the artifact")]


def _run(step: Callable[[], T]) -> T:
    from streid.models.download import DownloadError
    from streid.models.registry import ModelError

    try:
        return step()
    except DownloadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except (ModelError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@models_app.command("list")
def list_cmd() -> None:
    """Built-in, public and imported models: task, architecture, training data, licence, source, cache state."""
    from rich.console import Console
    from rich.table import Table

    from streid.models.known import NOTES
    from streid.models.manage import rows
    from streid.models.registry import models_home

    table = Table(title=f"models (cache: {models_home()})", show_lines=False)
    for col in ("name", "task", "arch", "training data", "trained on", "licence", "size", "source", "sha256",
                "cached"):
        table.add_column(col, overflow="fold", max_width=40 if col == "source" else None)
    for r in _run(rows):
        table.add_row(r.name, r.task, r.arch, r.data, r.trained_on, r.licence, r.size, r.source, r.sha256, r.cached)
    console = Console()
    console.print(table)
    for note in NOTES:
        console.print(f"- {note}")


@models_app.command("pull")
def pull_cmd(
    name: Annotated[str, typer.Argument(help="a public model from `streid models list`")],
    url: Annotated[str | None, typer.Option("--url", help="fetch from this mirror instead of the source")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="expected sha256 of the file")] = None,
    force: Annotated[bool, typer.Option("--force", help="download again even if cached")] = False,
    seq_len: SeqLen = 8,
    height: Height = 256,
    width: Width = 128,
) -> None:
    """Download NAME into $STREID_HOME/models (resumable, checksum-verified), ready to use by name."""
    from streid.models.manage import ClipShape, pull

    entry, fetched = _run(lambda: pull(name, url, sha256, ClipShape(seq_len, height, width), force))
    typer.echo(f"{'pulled' if fetched else 'already cached'}: {entry.name} ({entry.task}, {entry.kind}"
               f"{' ' + entry.arch if entry.arch else ''}) sha256 {entry.sha256} -> {entry.artifact}")
    typer.echo(f"use it as --{'detector' if entry.task == 'detector' else 'embedder'} {entry.name}")


@models_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="ultralytics .pt/.onnx, torchreid OSNet weights, STREID checkpoint "
                                              "or ONNX artifact")],
    name: Annotated[str | None, typer.Option("--name", help="name to use it by (default: the file's stem)")] = None,
    trained_on: Annotated[
        str | None, typer.Option("--trained-on", help=f"what the weights learned from: {', '.join(TRAINED_ON)}")
    ] = None,
    seq_len: SeqLen = 8,
    height: Height = 256,
    width: Width = 128,
) -> None:
    """Register a model file you brought (copied into the cache, sha256 recorded); re-id weights are exported."""
    from streid.models.manage import ClipShape, import_model

    if trained_on is not None and trained_on not in TRAINED_ON:
        raise typer.BadParameter(f"'{trained_on}' (choices: {', '.join(TRAINED_ON)})", param_hint="--trained-on")
    entry = _run(lambda: import_model(file, name, trained_on, ClipShape(seq_len, height, width)))
    typer.echo(f"imported: {entry.name} ({entry.task}, {entry.kind}{' ' + entry.arch if entry.arch else ''}, "
               f"trained on {entry.trained_on}) sha256 {entry.sha256} -> {entry.artifact}")
    typer.echo(f"use it as --{'detector' if entry.task == 'detector' else 'embedder'} {entry.name}")
