"""Cache keys, token estimates and packing several turns into one request.

One request per turn repeats the instructions (the system message) for every turn; packing up to
``MAX_ITEMS`` turns (at most ``MAX_CHARS`` characters of data) into one request pays for them once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import prompts

MAX_ITEMS = 20
MAX_CHARS = 12_000
# output tokens to expect per item: a grade is short JSON; a suggestion is about as long as its
# source
GRADE_OUTPUT_TOKENS = 40


def max_items() -> int:
    """Turns per request (KOCURATE_LLM_BATCH; 1 = one request per turn)."""
    try:
        return max(1, int(os.environ.get("KOCURATE_LLM_BATCH", MAX_ITEMS)))
    except ValueError:
        return MAX_ITEMS


def cache_key(task: str, model: str, payload: dict[str, Any]) -> str:
    """sha256 over (prompt version, task, model, the item's text without its id)."""
    data = {k: v for k, v in payload.items() if k != "id"}
    blob = json.dumps(
        {"v": prompts.PROMPT_VERSION, "task": task, "model": model, "item": data},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: ~4 ASCII characters per token, ~1 token per other character
    (Hangul)."""
    ascii_n = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_n / 4 + (len(text) - ascii_n))


@dataclass
class Item:
    key: str
    payload: dict[str, Any]  # what is sent (its "id" is set per request)

    @property
    def chars(self) -> int:
        return sum(len(v) for v in self.payload.values() if isinstance(v, str))


def pack(
    items: Sequence[Item], n: int | None = None, max_chars: int = MAX_CHARS
) -> list[list[Item]]:
    """Greedy packing in order: each request ≤ ``n`` items and ≤ ``max_chars`` characters (a longer
    item goes alone)."""
    n = n or max_items()
    out: list[list[Item]] = []
    cur: list[Item] = []
    size = 0
    for it in items:
        if cur and (len(cur) >= n or size + it.chars > max_chars):
            out.append(cur)
            cur, size = [], 0
        cur.append(it)
        size += it.chars
    if cur:
        out.append(cur)
    return out


def request_items(batch: Sequence[Item]) -> list[dict[str, Any]]:
    """The payloads of a request with short ids t1…tN (the answer is matched back by them)."""
    return [{**it.payload, "id": f"t{i + 1}"} for i, it in enumerate(batch)]


def estimate_request(task: str, batch: Sequence[Item]) -> tuple[int, int]:
    """(input, output) tokens a request for ``batch`` will probably use."""
    items = request_items(batch)
    tin = (
        estimate_tokens(prompts.system_message(task))
        + estimate_tokens(prompts.data_message(items))
        + 8
    )
    if task == "grade":
        tout = 10 + GRADE_OUTPUT_TOKENS * len(batch)
    else:
        tout = 10 + sum(estimate_tokens(str(i["source_xml"])) * 2 + 10 for i in items)
    return tin, tout
