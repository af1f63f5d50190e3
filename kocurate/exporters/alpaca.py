"""Alpaca JSONL: ``{"instruction", "input", "output"}``, single-turn.

Instruction data keeps its own fields (Dolly's ``context`` becomes ``input``). A conversation with
one exchange becomes instruction = the user turn, input = "". A system turn goes to ``system``
(LLaMA-Factory's alpaca reads it). Several exchanges: refused (``multi_turn``, counted in the
manifest) unless ``history=True``, which writes the earlier exchanges as ``history: [[q, a], …]``
(LLaMA-Factory's convention) and the last one as instruction/output.
"""

from __future__ import annotations

from typing import Any

from .base import Chat, ExportFormat, Refused
from .messages import META_FEATURES
from .registry import register


@register
class AlpacaFormat(ExportFormat):
    name = "alpaca"
    title = "Alpaca JSONL (instruction/input/output, single-turn)"

    def convert(self, chat: Chat, meta: dict[str, Any] | None) -> dict[str, Any]:
        history = bool(self.options.get("history"))
        if len(chat.exchanges) > 1 and not history:
            raise Refused("multi_turn")
        if chat.fields is not None:
            rec: dict[str, Any] = dict(chat.fields)
        else:
            user, answer = chat.exchanges[-1]
            rec = {"instruction": user, "input": "", "output": answer}
        if chat.system:
            rec["system"] = chat.system
        if history:
            rec["history"] = [[u, a] for u, a in chat.exchanges[:-1]]
        if meta is not None:
            rec["kocurate"] = meta
        return rec

    def features(self, meta: bool) -> dict[str, Any] | None:
        if self.options.get("history"):
            return None  # nested lists of strings: let the loader infer
        return {
            "instruction": "string",
            "input": "string",
            "output": "string",
            **(META_FEATURES if meta else {}),
        }
