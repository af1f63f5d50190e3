"""CLI commands of the review area (registered on the shared app)."""

from __future__ import annotations

from .app import app  # noqa: F401
