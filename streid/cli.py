"""The `streid` command. Subcommands import their heavy dependencies inside the command body."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from streid.config import ConfigError, load_config

app = typer.Typer(
    name="streid",
    help="STREID: video person re-identification across cameras (train, export, run).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(
    help="Show or validate a config (extends: merged, --set applied).", no_args_is_help=True
)
app.add_typer(config_app, name="config")

ConfigPath = Annotated[Path, typer.Argument(help="YAML config file")]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="override a key, e.g. --set train.optim.lr=3e-4 (repeatable)"),
]


@app.command()
def doctor() -> None:
    """Check Python, torch, ultralytics, ONNX Runtime, TensorRT, GStreamer and its elements."""
    from rich.console import Console
    from rich.table import Table

    from streid.doctor import collect, failures

    checks = collect()
    table = Table(title="streid doctor", show_lines=False)
    table.add_column("component")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    colours = {"ok": "green", "MISSING": "red", "absent (optional)": "yellow"}
    for check in checks:
        table.add_row(check.name, f"[{colours[check.status]}]{check.status}[/]", check.detail)
    console = Console()
    console.print(table)
    missing = failures(checks)
    if missing:
        for check in missing:
            console.print(f"[red]missing[/] {check.name.strip()}: {check.fix}")
        raise typer.Exit(1)
    console.print("[green]all required components present[/]")


@config_app.command("show")
def config_show(path: ConfigPath, overrides: Overrides = None) -> None:
    """Print the fully resolved config (defaults filled in) as YAML."""
    typer.echo(load_config(path, overrides or []).to_yaml(), nl=False)


@config_app.command("validate")
def config_validate(paths: Annotated[list[Path], typer.Argument(help="YAML config files")]) -> None:
    """Validate configs; exits 2 on the first bad one with the file, key and expectation."""
    for path in paths:
        load_config(path)
        typer.echo(f"ok: {path}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: config errors become one line on stderr and exit code 2."""
    try:
        app(args=argv, prog_name="streid")
    except ConfigError as exc:
        typer.echo(f"config error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
