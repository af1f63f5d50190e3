"""kocurate command line: a thin layer over kocurate.services, importers, checks and exporters."""

from __future__ import annotations

import os

# Nothing may fetch models or datasets from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from . import (  # noqa: E402,F401 — each module registers its commands
    backup,
    checks,
    corpus,
    curate,
    datasets,
    db,
    export,
    gold,
    guidance,
    korean,
    llm,
    review,
    serve,
    stats,
    translate,
    users,
)
from .app import app  # noqa: E402


def main() -> None:
    import sys

    import typer

    from ..errors import KocurateError

    # files the CLI creates (databases, backups, exports, reports) hold password hashes and
    # unreviewed data: readable by the owner only
    os.umask(0o077)
    try:
        app()
    except (
        KocurateError
    ) as exc:  # e.g. a corrupt or read-only database outside a command's own errors()
        # printed here and ended with sys.exit: a typer.Exit raised outside typer's own main would
        # print a traceback after the message
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(exc.exit_code)


__all__ = ["app", "main"]
