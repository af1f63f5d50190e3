"""KoAlpaca v1.1: Naver KiN questions with ChatGPT answers (JSONL ``instruction/output/url``),
Korean-native."""

from __future__ import annotations

from typing import Any

from .base import Importer, NormSample, NormTurn, RecordContext, register


@register
class KoAlpacaV11Importer(Importer):
    kind = "koalpaca_v11"
    title = "KoAlpaca v1.1 (Naver KiN, no English source)"
    licence = "CC-BY-NC-4.0"
    known_files = ("koalpaca_v1.1*.jsonl*", "koalpaca_v11*.jsonl*")
    align_by = "none"

    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        turns = [
            NormTurn("instruction", ctx.text(rec, "instruction")),
            NormTurn("output", ctx.text(rec, "output")),
        ]
        meta = {"url": ctx.text(rec, "url", required=False)} if rec.get("url") else {}
        return NormSample(str(index), turns, meta)
