"""What people read about a check, in the current language: its label, its description, and a
pre-flag's note. Here rather than in ``kocurate.i18n`` because they look checks up in the registry
(the catalog module stays below every other module)."""

from __future__ import annotations

from typing import Any

from ..i18n import _, finding_text
from .base import REGISTRY


def check_label(name: str) -> str:
    """A check's short name for people (its registry ``label``), in the current language; unknown
    names (a check that is gone, an LLM judge) stay as they are."""
    cls = REGISTRY.get(name)
    label = getattr(cls, "label", "") if cls is not None else ""
    return _(label) if label else name


def check_description(name: str) -> str:
    """A check's description in the current language (empty for an unknown name)."""
    cls = REGISTRY.get(name)
    return _(cls.description) if cls is not None and cls.description else ""


def flag_note_text(note: str, findings: list[dict[str, Any]]) -> str:
    """A pre-flag's note (``"{check}: {message}"`` in English, as the check runner stores it) in
    the reader's language when the finding behind it is at hand; any other note as written."""
    for f in findings:
        if note == f"{f.get('check')}: {f.get('message')}"[:1000]:
            return f"{check_label(f['check'])}: {finding_text(f)}"
    return note
