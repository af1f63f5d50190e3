"""ShareGPT JSONL: ``{"conversations": [{"from": "system|human|gpt", "value": …}]}`` (FastChat,
Axolotl, LLaMA-Factory). The same turn mapping as ``messages``."""

from __future__ import annotations

from typing import Any

from .base import Chat, ExportFormat
from .messages import META_FEATURES
from .registry import register

FROM = {"system": "system", "user": "human", "assistant": "gpt"}


@register
class ShareGPTFormat(ExportFormat):
    name = "sharegpt"
    title = "ShareGPT JSONL (conversations: from/value)"

    def convert(self, chat: Chat, meta: dict[str, Any] | None) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "conversations": [
                {"from": FROM[m["role"]], "value": m["content"]} for m in chat.messages()
            ]
        }
        if meta is not None:
            rec["kocurate"] = meta
        return rec

    def features(self, meta: bool) -> dict[str, Any] | None:
        return {
            "conversations": [{"from": "string", "value": "string"}],
            **(META_FEATURES if meta else {}),
        }
