"""sharegpt_deepl_ko / KoVicuna with ShareGPT as source: ``[{id, conversations:[{from, value}]}]``.

Multi-turn; the first turn may be ``gpt``. Korean and English conversations are joined by id.
"""

from __future__ import annotations

from typing import Any

from .base import Importer, NormSample, RecordContext, conversation_turns, register


@register
class ShareGPTImporter(Importer):
    kind = "sharegpt"
    title = "KoVicuna / sharegpt_deepl_ko + ShareGPT"
    licence = None  # scraped conversations; no licence stated upstream
    align_by = "id"
    pair_turns_by = "index"

    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        field = (
            "conversations"
            if "conversations" in rec
            else "items"
            if "items" in rec
            else "conversations"
        )
        turns = conversation_turns(ctx.list_of_dicts(rec, field), ctx, field)
        return NormSample(ctx.key(rec, "id", index), turns)
