"""Export formats by name (``kocurate export --format NAME``)."""

from __future__ import annotations

from typing import Any

from ..registry import Registry
from .base import ExportFormat

FORMATS: Registry[type[ExportFormat]] = Registry("export format")


def register(cls: type[ExportFormat]) -> type[ExportFormat]:
    return FORMATS.register(cls.name, cls)


def get_format(name: str, options: dict[str, Any] | None = None) -> ExportFormat:
    """An export format by name; an unknown name raises UnknownName listing the formats."""
    return FORMATS[name](options)
