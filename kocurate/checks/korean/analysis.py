"""The shared Korean analysis of the deep checks: one ``kiwipiepy`` analyser per process, sentences,
sentence-final endings classified into speech levels (cached by word), and spacing correction.

The analyser's model ships inside the ``kiwipiepy_model`` package (nothing is downloaded). It is
built lazily in the process that first needs it (each worker process of a parallel run builds its
own, about a second) and never before a fork.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ...hangul import SYLLABLES
from .. import text as tx

# speech levels, politest first; "polite" = 합쇼체 and 해요체 (존댓말), "plain" = 해체 and 해라체
# (반말)
LEVELS = ("hapsyo", "haeyo", "hae", "haera")
LEVEL_NAMES = {"hapsyo": "합쇼체", "haeyo": "해요체", "hae": "해체", "haera": "해라체"}
POLITE = frozenset({"hapsyo", "haeyo"})

_kiwi: Any = None
_kiwi_pid = 0
_lock = threading.Lock()


def kiwi() -> Any:
    """This process's analyser ('cong' model: about 2.5x faster than 'cong-global', same endings).

    One per process: an analyser inherited through fork() is not used (its worker threads did not
    survive the fork, and a call would wait for them forever).
    """
    global _kiwi, _kiwi_pid
    if _kiwi is None or _kiwi_pid != os.getpid():
        with _lock:
            if _kiwi is None or _kiwi_pid != os.getpid():
                import warnings

                from kiwipiepy import Kiwi

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    # single-threaded (num_workers=0): a process that holds analyser threads cannot
                    # fork safely (a forked worker's analyser would wait for them forever); the
                    # checks get their parallelism from worker processes instead. No typo or
                    # multi-word dictionaries: not used here, and they double the start-up.
                    _kiwi = Kiwi(
                        model_type="cong",
                        num_workers=0,
                        load_typo_dict=False,
                        load_multi_dict=False,
                    )
                    _kiwi_pid = os.getpid()
    return _kiwi


def polite(level: str | None) -> bool | None:
    return None if level is None else level in POLITE


# ---------------------------------------------------------------------------------------------
# sentences and their final word

# a sentence ends at . ! ? … (and runs of them) before white space, or at a line break
_SENT_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")
_TRAIL = re.compile(r"[^" + SYLLABLES + r"]+$")
_WORD = re.compile(r"\S+$")
# a line of a script: "레드: 저건 누구야?", "* CJ: ...", "[Narrator]:" (each speaker keeps their own
# level)
_SPEAKER = re.compile(
    r"[ \t]*(?:[-*•][ \t]*)?\[?([^\s:：\]]{1,12}(?: [^\s:：\]]{1,12})?)\]?[ \t]?[:：][ \t]"
)
_CLOSING_QUOTE = re.compile(r"^[\"'”’」』]")
HANGUL_SYL = re.compile(r"[" + SYLLABLES + r"]")
_HANGUL_TAIL = re.compile(r"[" + SYLLABLES + r"]+$")


def mask_code(text: str, fill: str = " ") -> str:
    """``text`` with fenced code, inline code and URLs replaced by ``fill`` (same length: offsets
    stay true)."""
    if "`" not in text and "http" not in text and "www." not in text:
        return text

    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", fill, m.group(0))

    text = tx.CODE_BLOCK.sub(blank, text)
    text = tx.INLINE_CODE.sub(blank, text)
    return tx.URL.sub(blank, text)


@dataclass(slots=True)
class Ending:
    """The final word of one sentence: its span in the turn's text and its speech level (None:
    none)."""

    start: int
    end: int
    word: str  # the final Hangul word (+ the sentence mark when there is one): the cache key
    level: str | None = None
    speaker: str = ""  # the "Name:" label of a script line the sentence is on ("" = the narrator)


def final_words(text: str) -> list[Ending]:
    """The final Hangul word of each sentence of ``text`` (code masked; quoted sentences left
    out)."""
    masked = mask_code(text)
    out: list[Ending] = []
    pos = 0
    quoted = _quote_depth(masked) if ('"' in masked or "“" in masked) else None
    n = len(masked)
    for m in _SENT_END.finditer(masked + "\n"):
        seg_start, seg_end = pos, min(m.start(), n)
        pos = m.end()
        seg = masked[seg_start:seg_end].rstrip()
        w = _WORD.search(seg)
        if not w:
            continue
        word = w.group(0)
        body = _TRAIL.sub("", word)
        if not body:
            continue  # ends with code, a number, English or a symbol
        tail = word[len(body) :]
        if _CLOSING_QUOTE.search(tail) or _CLOSING_QUOTE.search(masked[seg_end : seg_end + 1]):
            continue  # a quoted sentence (dialogue inside the answer) speaks its own level
        core = _HANGUL_TAIL.search(body).group(0)  # type: ignore[union-attr]  (Python입니다 -> 입니다)
        end = seg_start + w.start() + len(body)
        if quoted is not None and quoted(end):
            continue  # inside a quotation that spans sentences (a quoted web page, a letter)
        line_start = masked.rfind("\n", 0, seg_start) + 1
        sp = _SPEAKER.match(masked, line_start)
        # the analyser sees the sentence mark too: a connective ending before "." or "?" ends a
        # sentence
        mark = tail[:1] if tail[:1] in (".", "?", "!") else ""
        out.append(Ending(end - len(core), end, core + mark, speaker=sp.group(1) if sp else ""))
    return out


def _quote_depth(text: str):  # type: ignore[no-untyped-def]
    """A function telling whether a position is inside double quotes ("…" or “…”)."""
    marks = [(i, ch) for i, ch in enumerate(text) if ch in '"“”']

    def inside(pos: int) -> bool:
        straight = curly = 0
        for i, ch in marks:
            if i >= pos:
                break
            if ch == '"':
                straight ^= 1
            elif ch == "“":
                curly += 1
            elif curly:
                curly -= 1
        return bool(straight or curly)

    return inside


# ---------------------------------------------------------------------------------------------
# endings -> speech level

# self-questions and headings (왜 중요한가? 무엇을 말할까?) sit in polite texts too: no level
_NEUTRAL = {"ᆫ가", "는가", "은가", "ᆯ까", "을까", "던가", "ᆫ지", "는지"}
_HAERA = {
    "다",
    "는다",
    "ᆫ다",
    "라",
    "어라",
    "아라",
    "거라",
    "냐",
    "느냐",
    "으냐",
    "니",
    "자",
    "구나",
    "는구나",
    "로구나",
    "군",
    "는군",
    "도다",
    "로다",
    "ᆯ지어다",
    "려무나",
    "렴",
    "으렴",
    "노라",
    "더라",
    "단다",
    "란다",
    "는단다",
    "대",
    "ᆫ대",
    "는대",
    "다니",
    "라니",
    "ᆫ다니",
}
_HAE = {
    "어",
    "아",
    "여",
    "지",
    "야",
    "게",
    "래",
    "걸",
    "거든",
    "잖아",
    "는데",
    "ᆫ데",
    "은데",
    "네",
    "나",
    "ᆯ게",
    "을게",
    "ᆯ래",
    "을래",
    "어야지",
    "아야지",
    "지롱",
    "구먼",
    "거야",
    "ᆯ걸",
    "을걸",
    "ᆫ걸",
    "는걸",
    "ᆯ거야",
    "을거야",
    "려고",
    "고",
    "어서",
    "아서",
    "다고",
    "라고",
    "냐고",
    "자고",
    "ᆫ다고",
    "는다고",
    "ᆯ라",
    "더라고",
    "대요",
}


def level_of_tokens(tokens: list[Any]) -> str | None:
    """Speech level from the analysis of one sentence-final word (None: no final ending, e.g. a
    noun)."""
    toks = [t for t in tokens if not t.tag.startswith("S")]  # punctuation, symbols, foreign words
    if not toks:
        return None
    last = toks[-1]
    form = last.form
    if last.tag == "JX" and form == "요" and len(toks) > 1:
        return "haeyo"
    if last.tag != "EF":
        if (
            last.tag == "EC"
            and tokens[-1].tag == "SF"
            and len(toks) > 1
            and toks[-2].tag.startswith(("V", "EP"))
        ):
            pass  # a connective ending before "." or "?" ends the sentence (먹었니?, 했거든.)
        else:
            return None
    if form.endswith("요") or form == "죠":
        return "haeyo"
    if form in _NEUTRAL:
        return None
    if form.endswith(("니다", "니까", "시오", "ᆸ시다", "읍시다")):
        return "hapsyo"
    if form in _HAERA or (form.endswith("다") and len(form) <= 3):
        return "haera"
    if form in _HAE:
        return "hae"
    return None


_SURFACE = [(re.compile(r"(?:니다|니까|십시오)$"), "hapsyo"), (re.compile(r"요$"), "haeyo")]


class LevelCache:
    """Speech level per final word, analysed once per process (endings repeat: 있습니다, 합니다
    …)."""

    def __init__(self, max_size: int = 300_000) -> None:
        self.cache: dict[str, str | None] = {}
        self.max_size = max_size

    def resolve(self, words: Iterable[str]) -> None:
        todo = list(dict.fromkeys(w for w in words if w not in self.cache))
        if not todo:
            return
        if len(self.cache) + len(todo) > self.max_size:
            self.cache.clear()
        k = kiwi()
        for w in todo:
            toks = k.tokenize(w)
            lv = level_of_tokens(toks)
            if lv is None:
                lv = next((lvl for p, lvl in _SURFACE if p.search(w)), None)
            self.cache[w] = lv

    def level(self, word: str) -> str | None:
        if word not in self.cache:
            self.resolve([word])
        return self.cache[word]


def turn_endings(texts: list[str], cache: LevelCache) -> list[list[Ending]]:
    """Final words with their level for many texts (one analyser call for all unseen words)."""
    per = [final_words(t) for t in texts]
    cache.resolve(e.word for es in per for e in es)
    for es in per:
        for e in es:
            e.level = cache.cache.get(e.word)
    return per


def counts(endings: list[Ending]) -> dict[str, int]:
    c = dict.fromkeys(LEVELS, 0)
    for e in endings:
        if e.level:
            c[e.level] += 1
    return c


# ---------------------------------------------------------------------------------------------
# spacing


def space(texts: list[str]) -> list[str]:
    """The analyser's spacing correction (spaces inserted and removed) of each text."""
    k = kiwi()
    return [k.space(t, reset_whitespace=True) for t in texts]


def space_edits(a: str, b: str) -> Iterator[tuple[int, int, str]]:
    """Where ``b`` differs from ``a`` only in white space: (start, end in ``a``, "insert"|"delete").

    Both strings have the same non-space characters (the analyser only moves spaces), so a linear
    walk suffices (no diff algorithm); a run of white space against a run of white space is no edit
    (a line break may come back as a space); anything else stops the walk.
    """
    i = j = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        ws_a, ws_b = a[i].isspace(), b[j].isspace()
        if ws_a or ws_b:
            i0 = i
            while i < na and a[i].isspace():
                i += 1
            while j < nb and b[j].isspace():
                j += 1
            if ws_a and not ws_b:
                yield (i0, i, "delete")
            elif ws_b and not ws_a:
                yield (i0, i0, "insert")
        elif a[i] == b[j]:
            i += 1
            j += 1
        else:
            return
