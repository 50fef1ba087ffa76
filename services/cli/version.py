"""`haplan version`."""

from __future__ import annotations

from importlib.metadata import version as _dist_version

import typer

from services.cli.app import app
from services.cli.output import console, emit_json


@app.command()
def version(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Print haplan's version."""
    v = _dist_version("haplan")
    if as_json:
        emit_json({"version": v})
    else:
        console.print(f"haplan {v}")
