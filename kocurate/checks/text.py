"""Small text helpers shared by the checks (precompiled patterns; nothing here touches the
database)."""

from __future__ import annotations

import re
from typing import Any

from ..hangul import JAMO, SYLLABLES

HANGUL = re.compile(r"[" + SYLLABLES + JAMO + r"]")
LATIN = re.compile(r"[A-Za-z]")
LATIN_RUN = re.compile(r"[A-Za-z]+")  # Latin words (cheaper to count than letters)
CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.S)
INLINE_CODE = re.compile(r"`[^`\n]+`")
URL = re.compile(r"https?://[^\s)\]>\"'`]+|www\.[^\s)\]>\"'`]+")
EMAIL = re.compile(
    r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,24}\b(?![.\w-]*\d)"
)  # ends in a letter TLD
NUMBER_ANY = re.compile(r"[0-9]+(?:[.,][0-9]+)*")  # ASCII digits: a fifth quicker than \d
PLACEHOLDER = re.compile(
    r"\{\{\s*[\w.]+\s*\}\}|\{[A-Za-z_][\w.]*\}|%(?:\(\w+\))?[sdif]|\$\{\w+\}|<[A-Za-z_][\w-]*>|\[\[\w+\]\]"
)


def strip_code(text: str) -> str:
    """Text without fenced code, inline code, URLs and e-mails (what should be Korean prose)."""
    if "`" in text:
        text = CODE_BLOCK.sub(" ", text)
        text = INLINE_CODE.sub(" ", text)
    if "http" in text or "www." in text:
        text = URL.sub(" ", text)
    if "@" in text:
        text = EMAIL.sub(" ", text)
    return text


def hangul_ratio(text: str) -> tuple[float, int]:
    """Share of Hangul among Hangul + Latin letters, and how many such letters there are."""
    h = _count(HANGUL_RUN, text)
    la = _count(LATIN_RUNS, text)
    n = h + la
    return (h / n if n else 1.0), n


HANGUL_RUN = re.compile(r"[" + SYLLABLES + JAMO + r"]+")
LATIN_RUNS = re.compile(r"[A-Za-z]+")


def _count(pattern: re.Pattern[str], text: str) -> int:
    """Characters matched by ``pattern`` (runs, so one match object per word, not per letter)."""
    return sum(map(len, pattern.findall(text)))


def norm_number(n: str) -> str:
    n = n.replace(",", "")
    if "." in n:
        n = n.rstrip("0").rstrip(".") or "0"
    return n


def literal_alternation(words: list[str] | set[str]) -> str:
    """A regex source matching any of ``words`` (literals), built as a trie: ``씨(?:발|팔)|병신``.

    The same matches as the words joined longest first (siblings start with different characters,
    so at each position the longest word that fits is the one found), but Python's ``re`` follows
    one branch per character instead of trying every word at each position that starts one: a
    list of 170 terms is scanned several times faster.
    """
    trie: dict[str, Any] = {}
    for w in words:
        if not w:
            continue
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here

    def emit(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:  # a word ends here and longer ones go on: the longer tried first (greedy)
            return body + "?" if len(branches) > 1 else "(?:" + body + ")?"
        return body

    return emit(trie)
