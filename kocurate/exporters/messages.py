"""OpenAI / TRL chat JSONL: ``{"messages": [{"role": "system|user|assistant", "content": …}]}``.

The default format: TRL's ``SFTTrainer`` and most trainers read it as is (roles alternate after an
optional system turn, no empty turn: see ``base`` for how stored turns are mapped).
"""

from __future__ import annotations

from typing import Any

from .base import Chat, ExportFormat
from .registry import register


@register
class MessagesFormat(ExportFormat):
    name = "messages"
    title = "OpenAI/TRL chat JSONL (messages)"

    def convert(self, chat: Chat, meta: dict[str, Any] | None) -> dict[str, Any]:
        rec: dict[str, Any] = {"messages": chat.messages()}
        if meta is not None:
            rec["kocurate"] = meta
        return rec

    def features(self, meta: bool) -> dict[str, Any] | None:
        return {
            "messages": [{"role": "string", "content": "string"}],
            **(META_FEATURES if meta else {}),
        }


# provenance: which dataset and record a line came from, and the flags still standing on it
META_FEATURES: dict[str, Any] = {
    "kocurate": {
        "dataset": "string",
        "key": "string",
        "sample_id": "int64",
        "status": "string",
        "flags": ["string"],
    },
}
