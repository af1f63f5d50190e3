"""The flat ShareGPT turn-pair form: one record per turn, ``input`` = English, ``output`` = Korean.

``instruction`` is a constant label upstream and is ignored.
"""

from __future__ import annotations

from typing import Any

from .base import Importer, NormSample, NormTurn, RecordContext, register


@register
class TurnPairsImporter(Importer):
    kind = "sharegpt_pairs"
    title = "ShareGPT DeepL turn pairs (input = English, output = Korean)"
    licence = None
    align_by = "inline"

    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        return NormSample(str(index), [NormTurn("turn", ctx.text(rec, "output"))])

    def inline_source(
        self, rec: dict[str, Any], index: int, ctx: RecordContext
    ) -> list[str | None]:
        return [ctx.text(rec, "input")]
