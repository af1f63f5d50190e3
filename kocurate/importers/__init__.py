"""Importers, one module per format, registered by kind (``kocurate import KIND …``)."""

from . import (
    alpaca,
    dolly,
    generic,
    guanaco,
    koalpaca_v11,
    messages,
    sharegpt,
    turnpairs,
)  # noqa: F401
from .base import REGISTRY, Importer, NormSample, NormTurn, register

__all__ = ["REGISTRY", "Importer", "NormSample", "NormTurn", "register", "get_importer"]


def get_importer(kind: str, options: dict | None = None) -> Importer:
    """An importer of ``kind``; an unknown kind raises UnknownName listing the kinds."""
    return REGISTRY[kind](options)
