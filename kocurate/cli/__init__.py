"""kocurate command line: a thin layer over kocurate.services, importers, checks and exporters."""

from __future__ import annotations

import os

# Nothing may fetch models or datasets from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from . import checks, core, corpus, export, review, stats, team, translate  # noqa: E402,F401
from .app import app  # noqa: E402


def main() -> None:
    from ..errors import KocurateError
    from .app import fail

    try:
        app()
    except KocurateError as exc:  # e.g. a corrupt or read-only database outside a command's own errors()
        fail(str(exc))


__all__ = ["app", "main"]
