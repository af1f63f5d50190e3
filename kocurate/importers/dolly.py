"""Dolly-ko with databricks-dolly-15k as source (JSONL ``instruction/context/response/category``).

Joined by ``id`` when both files carry one, otherwise by position with drift repair (the category
must match).
"""

from __future__ import annotations

from typing import Any

from .base import Importer, NormSample, NormTurn, RecordContext, register


@register
class DollyImporter(Importer):
    kind = "dolly"
    title = "Dolly-ko + databricks-dolly-15k"
    licence = "CC-BY-SA-3.0"
    known_files = ("dolly-ko*.jsonl*", "dolly_ko*.jsonl*", "databricks-dolly-15k-ko*.jsonl*")
    align_by = "position"

    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        turns = [
            NormTurn("instruction", ctx.text(rec, "instruction")),
            NormTurn("context", ctx.text(rec, "context", required=False)),
            NormTurn("response", ctx.text(rec, "response")),
        ]
        meta: dict[str, Any] = {}
        if rec.get("category") is not None:
            meta["category"] = ctx.text(rec, "category")
        key = ctx.key(rec, "id", index) if "id" in rec else str(index)
        return NormSample(key, turns, meta)
