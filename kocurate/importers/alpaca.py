"""KoAlpaca v1.0 (JSON array ``instruction/input/output``) with Stanford Alpaca as English source.

Upstream DeepL-translated instruction and input only; outputs were generated anew in Korean by
ChatGPT, so the English output is kept for reference, not as the translation source.
"""

from __future__ import annotations

from typing import Any

from .base import Importer, NormSample, NormTurn, RecordContext, register


@register
class AlpacaImporter(Importer):
    kind = "koalpaca"
    title = "KoAlpaca v1.0 + Stanford Alpaca"
    licence = "CC-BY-NC-4.0"
    known_files = ("ko_alpaca_data*.json*", "koalpaca_ko.json")
    align_by = "position"
    translated_roles = frozenset({"instruction", "input"})

    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        turns = [
            NormTurn(role, ctx.text(rec, role, required=role != "input"))
            for role in ("instruction", "input", "output")
        ]
        return NormSample(str(index), turns)
