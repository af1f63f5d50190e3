"""Chat JSONL as kocurate exports it: ``{"messages": [{role, content}]}`` or ``{"conversations":
[...]}``.

Lets an exported corpus come back in after an outside cleaning pass (round trip). Provenance under
``kocurate`` (dataset, key) is kept as metadata.
"""

from __future__ import annotations

from typing import Any

from .base import Importer, NormSample, RecordContext, conversation_turns, register


@register
class MessagesImporter(Importer):
    kind = "messages"
    title = "Chat JSONL (messages / conversations), e.g. a kocurate export"
    align_by = "none"
    pair_turns_by = "index"

    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        field = "messages" if "messages" in rec else "conversations"
        turns = conversation_turns(ctx.list_of_dicts(rec, field), ctx, field)
        prov = rec.get("kocurate") if isinstance(rec.get("kocurate"), dict) else {}
        key = ctx.key(rec, "id", index) if "id" in rec else str(index)
        meta = {"origin": prov} if prov else {}
        return NormSample(key, turns, meta)
