"""Print a result as a rich table and write it as JSON (temp file + rename, so no half-written JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def report(result: dict[str, Any], json_path: str | Path | None = None) -> None:
    """Show ``result`` (from ``evaluate_model``) and optionally save it."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"re-id evaluation (protocol: {result.get('protocol', '?')})")
    for key in ("mAP", "R1", "R5", "R10", "R20", "mINP"):
        table.add_column(key, justify="right")
    table.add_row(*(f"{100 * float(result[k]):.1f}" for k in ("mAP", "R1", "R5", "R10", "R20", "mINP")))
    console = Console()
    console.print(table)
    console.print(
        f"queries {result['num_query']} (valid {result['num_valid_queries']}, skipped {result['num_skipped']}), "
        f"gallery {result['num_gallery']}, rerank {result.get('rerank', False)}"
    )
    if json_path is not None:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
        os.replace(tmp, path)
