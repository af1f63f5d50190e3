"""Any JSON/JSONL/CSV/Parquet file or saved HF dataset, with the column mapping given by the user.

Options (CLI ``--map ROLE=COLUMN`` repeated, ``--source-map ROLE=COLUMN``, ``--id-field``,
``--meta-field``, ``--conversations COLUMN``):

- ``fields``: ordered ``[(role, column)]`` for the Korean turns;
- ``source_fields``: ``{role: column}`` of English text in the same record (inline source);
- ``conversations``: a column holding a list of ``{from, value}`` / ``{role, content}`` turns;
- ``id_field``: the key column; ``meta_fields``: columns kept as metadata.
"""

from __future__ import annotations

from typing import Any

from .base import Importer, NormSample, NormTurn, RecordContext, conversation_turns, register


@register
class GenericImporter(Importer):
    kind = "generic"
    title = "Generic mapping (any JSON/JSONL/CSV/Parquet/HF dataset)"
    align_by = "none"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        opts = self.options
        self.fields: list[tuple[str, str]] = list(opts.get("fields") or [])
        self.source_fields: dict[str, str] = dict(opts.get("source_fields") or {})
        self.conversations: str | None = opts.get("conversations")
        self.id_field: str | None = opts.get("id_field")
        self.meta_fields: list[str] = list(opts.get("meta_fields") or [])
        if not self.fields and not self.conversations:
            raise ValueError(
                "generic import needs --map ROLE=COLUMN (repeatable) or --conversations COLUMN"
            )
        if self.source_fields:
            self.align_by = "inline"  # type: ignore[misc]
        if self.conversations:
            self.pair_turns_by = "index"  # type: ignore[misc]

    def parse(self, rec: dict[str, Any], index: int, ctx: RecordContext) -> NormSample:
        if self.conversations:
            turns = conversation_turns(
                ctx.list_of_dicts(rec, self.conversations), ctx, self.conversations
            )
        else:
            turns = [NormTurn(role, ctx.text(rec, col, required=True)) for role, col in self.fields]
        meta = {f: rec[f] for f in self.meta_fields if rec.get(f) is not None}
        key = ctx.key(rec, self.id_field, index) if self.id_field else str(index)
        return NormSample(key, turns, meta)

    def inline_source(
        self, rec: dict[str, Any], index: int, ctx: RecordContext
    ) -> list[str | None] | None:
        if not self.source_fields:
            return None
        roles = [role for role, _ in self.fields]
        return [
            (
                ctx.text(rec, self.source_fields[r], required=False)
                if r in self.source_fields
                else None
            )
            for r in roles
        ]
