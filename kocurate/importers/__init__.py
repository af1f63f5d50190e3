"""Importers, one module per format, registered by kind (``kocurate import KIND …``)."""

from . import alpaca, dolly, generic, guanaco, koalpaca_v11, messages, sharegpt, turnpairs  # noqa: F401
from .base import REGISTRY, Importer, NormSample, NormTurn, register

__all__ = ["REGISTRY", "Importer", "NormSample", "NormTurn", "register", "get_importer"]


def get_importer(kind: str, options: dict | None = None) -> Importer:
    if kind not in REGISTRY:
        raise KeyError(f"unknown import kind {kind!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[kind](options)
