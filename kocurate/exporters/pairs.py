"""Parallel corpus JSONL: ``{"en": …, "ko": …}`` per turn pair, plus the provenance key
``kocurate``.

For datasets without speaker roles (``sharegpt_pairs``: one English turn and its DeepL Korean per
record), which no chat format can take. The Korean is the current (reviewed) text; ``mt`` is not
written. Samples with roles are refused (``has_roles``), turns without English (``no_source``).
"""

from __future__ import annotations

from typing import Any

from .base import ROLELESS_KINDS, Chat, ExportFormat, Refused
from .messages import META_FEATURES
from .registry import register


@register
class PairsFormat(ExportFormat):
    name = "pairs"
    title = "Parallel corpus JSONL (en/ko turn pairs, for speakerless datasets)"
    raw_turns = True

    def refuses_kind(self, kind: str) -> str | None:
        return None if kind in ROLELESS_KINDS else "has_roles"

    def convert(self, chat: Chat, meta: dict[str, Any] | None) -> dict[str, Any]:
        raise Refused("has_roles")

    def convert_turns(
        self, turns: list[tuple[str, str, str | None]], meta: dict[str, Any] | None
    ) -> dict[str, Any]:
        if len(turns) != 1 or turns[0][0] != "turn":
            raise Refused("has_roles")
        _, ko, en = turns[0]
        if not en or en.isspace():
            raise Refused("no_source")
        if not ko or ko.isspace():
            raise Refused("empty_turn")
        rec: dict[str, Any] = {"en": en, "ko": ko}
        if meta is not None:
            rec["kocurate"] = meta
        return rec

    def features(self, meta: bool) -> dict[str, Any] | None:
        return {"en": "string", "ko": "string", **(META_FEATURES if meta else {})}
