"""CLI commands of the team area (registered on the shared app)."""

from __future__ import annotations

from .app import app  # noqa: F401
