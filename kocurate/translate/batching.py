"""Options, cache keys, the translation cache, and packing texts into DeepL-sized requests."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import TranslationCache
from .client import DeepL, RequestRejected
from .protect import billable_chars

MAX_TEXTS = 50  # DeepL: at most 50 texts per request
MAX_BODY = 128 * 1024  # DeepL: at most 128 KiB per request body
BODY_MARGIN = (
    4096  # room for the other parameters (options, glossary id, context, JSON punctuation)
)

# EN→KO with placeholders as XML; never "formality" (Korean has none: DeepL answers 400).
BASE_OPTIONS: dict[str, Any] = {
    "source_lang": "EN",
    "target_lang": "KO",
    "tag_handling": "xml",
    # DeepL's documented recipe for custom structure: newlines never split, our <l> elements do
    "split_sentences": "nonewlines",
    "outline_detection": False,
    "splitting_tags": ["l"],
}


MAX_INSTRUCTIONS = 10  # DeepL: at most 10 custom instructions of at most 300 characters each
MAX_INSTRUCTION_CHARS = 300


def custom_instructions() -> list[str] | None:
    """Optional ``custom_instructions`` (supported for KO), one per line in
    KOCURATE_DEEPL_INSTRUCTIONS, e.g. "Keep code identifiers in English". DeepL then uses its
    quality_optimized model."""
    raw = os.environ.get("KOCURATE_DEEPL_INSTRUCTIONS", "")
    lines = [line.strip()[:MAX_INSTRUCTION_CHARS] for line in raw.splitlines() if line.strip()]
    return lines[:MAX_INSTRUCTIONS] or None


def make_options(
    glossary: dict[str, Any] | None = None,
    context: str | None = None,
    instructions: list[str] | None = None,
) -> dict[str, Any]:
    """Request options; ``glossary`` is the synced glossary state ({id, hash, n}) or None;
    ``instructions`` defaults to ``custom_instructions()``."""
    opts = dict(BASE_OPTIONS)
    if glossary:
        opts["glossary"] = glossary["id"]
        opts["glossary_hash"] = glossary["hash"]
    if context:
        opts["context"] = context
    instructions = instructions if instructions is not None else custom_instructions()
    if instructions:
        opts["custom_instructions"] = list(instructions)
    return opts


def cache_key(xml: str, options: dict[str, Any]) -> str:
    """sha256 over (what is sent, the options that change the answer); the glossary counts by
    content, not by its DeepL id, so a re-created glossary with the same terms keeps the cache
    valid."""
    key_opts = {k: v for k, v in options.items() if k != "glossary"}
    blob = json.dumps({"src": xml, "opts": key_opts}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def request_bytes(xml: str) -> int:
    """What one text adds to the JSON body (as the client encodes it: json.dumps, ASCII escapes)."""
    return len(json.dumps(xml)) + 2


@dataclass
class Item:
    key: str
    xml: str

    @property
    def chars(self) -> int:
        return billable_chars(self.xml)


def pack(
    items: Sequence[Item],
    max_texts: int = MAX_TEXTS,
    max_bytes: int = MAX_BODY,
    overhead: int = BODY_MARGIN,
) -> tuple[list[list[Item]], list[Item]]:
    """Greedy packing in order: each batch ≤ ``max_texts`` texts and ≤ ``max_bytes`` body bytes.

    Returns (batches, too_big): a single text larger than a whole request cannot be sent.
    """
    budget = max_bytes - overhead
    batches: list[list[Item]] = []
    too_big: list[Item] = []
    cur: list[Item] = []
    size = 0
    for it in items:
        b = request_bytes(it.xml)
        if b > budget:
            too_big.append(it)
            continue
        if cur and (len(cur) >= max_texts or size + b > budget):
            batches.append(cur)
            cur, size = [], 0
        cur.append(it)
        size += b
    if cur:
        batches.append(cur)
    return batches, too_big


def cache_get(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """Cached target XML by key (IN lists of ≤ 500 keys on the unique index)."""
    keys = list(dict.fromkeys(keys))
    out: dict[str, str] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        out.update(
            session.execute(
                select(TranslationCache.key, TranslationCache.target).where(
                    TranslationCache.key.in_(chunk)
                )
            )
            .tuples()
            .all()
        )
    return out


def cache_put(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert cache rows; a key someone else stored meanwhile is kept (same answer, paid once)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TranslationCache)
    session.execute(ins.on_conflict_do_nothing(index_elements=["key"]), rows)


@dataclass
class RequestStats:
    requests: int = 0
    texts: int = 0
    billed_characters: int = 0


def send_batches(
    deepl: DeepL,
    batches: list[list[Item]],
    options: dict[str, Any],
    save: Callable[[list[dict[str, Any]]], None],
    should_stop: Callable[[list[Item]], bool] | None = None,
    rejected: Callable[[Item, str], None] | None = None,
) -> RequestStats:
    """One request per batch; each answer is saved (``save``) before the next request is made,
    so a crash or a stop later never loses what was paid for. A 400/413 for one batch is retried
    text by text once, so one bad text does not sink its 49 neighbours. ``should_stop(batch)`` is
    asked before each request (a budget: stop before a request that would pass it)."""
    stats = RequestStats()
    send_opts = {k: v for k, v in options.items() if k != "glossary_hash"}
    stored_opts = {k: v for k, v in options.items() if k != "context"}
    for batch in batches:
        if should_stop is not None and should_stop(batch):
            break
        try:
            outs = deepl.translate([it.xml for it in batch], send_opts)
            pairs = list(zip(batch, outs, strict=True))
        except RequestRejected as exc:
            if len(batch) == 1:
                if rejected:
                    rejected(batch[0], str(exc))
                continue
            pairs = []
            for it in batch:
                try:
                    pairs.append((it, deepl.translate([it.xml], send_opts)[0]))
                except RequestRejected as exc1:
                    if rejected:
                        rejected(it, str(exc1))
        rows = [
            {
                "key": it.key,
                "source": it.xml,
                "target": out.text,
                "engine": "deepl",
                "options": stored_opts,
                "billed_characters": out.billed_characters,
            }
            for it, out in pairs
        ]
        save(rows)
        stats.requests += 1
        stats.texts += len(rows)
        stats.billed_characters += sum(r["billed_characters"] for r in rows)
    return stats
