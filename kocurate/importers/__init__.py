"""Importers, one module per format, registered by kind (``kocurate import KIND …``)."""

from pathlib import Path
from typing import Any

from ..errors import ImportFailed
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
from .base import REGISTRY, Importer, NormSample, NormTurn, RecordContext, register
from .readers import iter_records

__all__ = [
    "REGISTRY",
    "Importer",
    "NormSample",
    "NormTurn",
    "register",
    "get_importer",
    "kinds_for_file",
]


def get_importer(kind: str, options: dict | None = None) -> Importer:
    """An importer of ``kind``; an unknown kind raises UnknownName listing the kinds."""
    return REGISTRY[kind](options)


def kinds_for_file(
    path: str | Path, current: str, *, source: bool = False, options: dict[str, Any] | None = None
) -> list[str]:
    """Other kinds whose parser takes the file's first record, when the ``current`` kind refuses
    it: what to suggest when a file is refused for its shape (``sharegpt`` given a file of turn
    pairs). Empty when the first record suits ``current`` (the refusal is a bad record, not the
    wrong kind) or cannot be read. ``generic`` takes anything with a mapping, so it is not
    suggested."""
    fmt = None if source else (options or {}).get("format")
    try:
        place, rec = next(iter(iter_records(path, fmt)))
    except (StopIteration, ImportFailed, OSError, ValueError):
        return []
    if isinstance(rec, ImportFailed):
        return []
    ctx = RecordContext(Path(path).name, place)

    def takes(kind: str, opts: dict[str, Any] | None) -> bool:
        imp = REGISTRY[kind](opts)
        try:
            (imp.parse_source if source else imp.parse)(rec, 0, ctx)
        except Exception:  # noqa: BLE001 — any refusal means "not this kind"
            return False
        return True

    if current in REGISTRY and takes(current, options):
        return []
    return [k for k in sorted(REGISTRY) if k not in (current, "generic") and takes(k, None)]
