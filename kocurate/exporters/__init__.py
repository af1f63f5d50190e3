"""Exporters: one module per format, registered by name, plus selection (filters, mix, split),
the streaming runner and the manifest/dataset card."""

from . import alpaca, messages, pairs, parquet, sharegpt  # noqa: F401
from .base import REFUSALS, REPAIRS, Chat, ExportFormat, Refused, to_chat
from .registry import FORMATS, get_format, register

__all__ = [
    "FORMATS",
    "REFUSALS",
    "REPAIRS",
    "Chat",
    "ExportFormat",
    "Refused",
    "get_format",
    "register",
    "to_chat",
]
