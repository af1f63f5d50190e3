"""OpenAssistant-guanaco-ko with guanaco as source: one ``text`` field of ``### Human: … ###
Assistant: …`` turns."""

from __future__ import annotations

import re
from typing import Any

from ..i18n import N_
from .base import Importer, NormSample, NormTurn, RecordContext, register

_MARK = re.compile(r"###\s*(Human|Assistant|인간|사람|어시스턴트|조수)\s*[:：]", re.IGNORECASE)
_ROLE = {
    "human": "user",
    "인간": "user",
    "사람": "user",
    "assistant": "assistant",
    "어시스턴트": "assistant",
    "조수": "assistant",
}


def split_turns(text: str) -> list[NormTurn]:
    marks = list(_MARK.finditer(text))
    turns = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        turns.append(NormTurn(_ROLE[m.group(1).lower()], text[m.end() : end].strip()))
    return turns


@register
class GuanacoImporter(Importer):
    kind = "guanaco"
    title = "OpenAssistant-guanaco-ko + guanaco"
    licence = "Apache-2.0"
    known_files = ("guanaco-ko*.jsonl*", "guanaco_ko*.jsonl*", "openassistant-guanaco-ko*.jsonl*")
    align_by = "position"
    pair_turns_by = "index"

    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        text = ctx.text(rec, "text")
        if text.strip() and not _MARK.search(text):
            raise ctx.fail("text", N_("no '### Human:' / '### Assistant:' turn markers"))
        turns = split_turns(text)
        if not turns:
            raise ctx.fail("text", N_("empty conversation"))
        return NormSample(str(index), turns)
