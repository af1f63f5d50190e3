"""Export formats by name (``kocurate export --format NAME``)."""

from __future__ import annotations

from typing import Any

from .base import ExportFormat

FORMATS: dict[str, type[ExportFormat]] = {}


def register(cls: type[ExportFormat]) -> type[ExportFormat]:
    FORMATS[cls.name] = cls
    return cls


def get_format(name: str, options: dict[str, Any] | None = None) -> ExportFormat:
    if name not in FORMATS:
        raise KeyError(f"unknown export format {name!r}; one of: {', '.join(sorted(FORMATS))}")
    return FORMATS[name](options)
