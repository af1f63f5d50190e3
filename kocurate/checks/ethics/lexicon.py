"""Lexicon-based ethics pre-flagging with Korean obfuscation handling.

The word lists live beside this module (``lexicon.tsv``: category, term, mode; ``allow.txt``:
innocent words that contain a term, e.g. 시발점, 새끼손가락, 병신년 = the year 1956). A term is
found in the text as written and in normalized forms that undo the usual disguises:

* spacing and symbols:   ``씨 발``, ``씨.발``, ``시1발``  → ``씨발`` / ``시발``
* loose jamo:            ``ㅆㅣㅂㅏㄹ`` → ``씨발`` (consonant-only slang such as ``ㅅㅂ`` is in the
list)
* number substitutions:  ``씨8`` → ``씨팔``, ``18놈`` (a regex entry)
* English-keyboard typing of Hangul: ``tlqkf`` → ``시발``, ``qudtls`` → ``병신``

A literal term found in the text as written must also sit on morpheme boundaries: the ``kiwipiepy``
tokenizer (its model ships in the package) splits the text, and a match that cuts into a word of
Kiwi's dictionary is not a hit — ``동성애자``, ``이성애자``, ``장애자``, ``애자일``, ``전염병``,
``한남동`` contain ``애자``, ``염병``, ``한남`` but are other words. Slang that Kiwi does not know
(``브금씨발``, ``유럽짱개들``) comes out as one unknown token and still matches.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...hangul import SYLLABLE_BASE, SYLLABLES, is_syllable
from ...i18n import N_
from ...models import ETHICS_FLAGS
from ..base import SEP, Check, Finding, SampleView, batch_text, register
from ..text import literal_alternation

HERE = Path(__file__).resolve().parent

# compatibility jamo → (choseong index, jungseong index, jongseong index)
_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
# 2-set (두벌식) keyboard layout: the Latin key that types each jamo
_KEYS = {
    "q": "ㅂ",
    "w": "ㅈ",
    "e": "ㄷ",
    "r": "ㄱ",
    "t": "ㅅ",
    "y": "ㅛ",
    "u": "ㅕ",
    "i": "ㅑ",
    "o": "ㅐ",
    "p": "ㅔ",
    "a": "ㅁ",
    "s": "ㄴ",
    "d": "ㅇ",
    "f": "ㄹ",
    "g": "ㅎ",
    "h": "ㅗ",
    "j": "ㅓ",
    "k": "ㅏ",
    "l": "ㅣ",
    "z": "ㅋ",
    "x": "ㅌ",
    "c": "ㅊ",
    "v": "ㅍ",
    "b": "ㅠ",
    "n": "ㅜ",
    "m": "ㅡ",
    "Q": "ㅃ",
    "W": "ㅉ",
    "E": "ㄸ",
    "R": "ㄲ",
    "T": "ㅆ",
    "O": "ㅒ",
    "P": "ㅖ",
}
_COMPOUND_V = {
    ("ㅗ", "ㅏ"): "ㅘ",
    ("ㅗ", "ㅐ"): "ㅙ",
    ("ㅗ", "ㅣ"): "ㅚ",
    ("ㅜ", "ㅓ"): "ㅝ",
    ("ㅜ", "ㅔ"): "ㅞ",
    ("ㅜ", "ㅣ"): "ㅟ",
    ("ㅡ", "ㅣ"): "ㅢ",
}
_DIGIT_SOUND = {"8": "팔", "2": "이", "5": "오", "9": "구"}

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_HAS_FULLWIDTH = re.compile(r"[\uff01-\uff5e]")
_JAMO_RUN = re.compile(r"[\u3131-\u3163]{2,}")
_SPACED = re.compile(
    r"(?<!["
    + SYLLABLES
    + r"])["
    + SYLLABLES
    + r"](?:[\s.,*_~\-+!/|]+["
    + SYLLABLES
    + r"])+(?!["
    + SYLLABLES
    + r"])"
)
_NOT_SYLLABLE = re.compile(r"[^" + SYLLABLES + r"]")
_INNER_NOISE = re.compile(
    r"(?<=[" + SYLLABLES + r"])[0-9*._~!@#$%^&+|/\\-]{1,2}(?=[" + SYLLABLES + r"])"
)
_DIGIT_AFTER = re.compile(r"(?<=[" + SYLLABLES + r"])[8259](?![\d])")
# Hangul typed on an English keyboard is mostly consonant keys: a token without a, e, o (the
# commonest English vowels) is worth converting; nearly every English word has one of them
_LATIN_TOKEN = re.compile(r"\b[b-df-np-zB-DF-NP-Z]{4,12}\b")
# where a disguise may hide (jamo pairs, syllables split by spaces or symbols, a digit for a
# syllable, a consonant-only Latin token): found only to pick the turns that get the normalized
# forms. Each match starts at the character after the syllable (a look-behind checks the syllable),
# so the whole pattern starts with one character class and Python's ``re`` skips the text by it
# instead of trying a match at every syllable: 58 → 39 ns per character on real Korean text, the
# same turns picked (the patterns of ``normalized_forms`` below say what each disguise is).
_Y = SYLLABLES
_C = "b-df-np-zB-DF-NP-Z"
_SEP = r"\s.,*_~\-+!/|"
_NOISE = r"0-9*._~!@#$%^&+|/\\\-"
_J = r"\u3131-\u3163"
_SUSPECT = re.compile(
    rf"[{_J}{_SEP}{_NOISE}{_C}](?:"
    rf"(?<=[{_J}])[{_J}]"
    rf"|(?<=(?<![{_Y}])[{_Y}][{_SEP}])[{_SEP}]*[{_Y}](?![{_Y}])"
    rf"|(?<=[{_Y}][{_NOISE}])[{_NOISE}]?[{_Y}]"
    rf"|(?<=[{_Y}][8259])(?!\d)"
    rf"|(?<=(?<!\w)[{_C}])[{_C}]{{3,11}}\b"
    r")"
)


def _is_hangul(term: str) -> bool:
    """A term of Hangul syllables (the tokenizer judges those; jamo slang such as ㅅㅂ stands
    alone)."""
    return any(is_syllable(c) for c in term)


def compose_jamo(seq: str) -> str:
    """Compose a run of compatibility jamo into syllables where it spells them (ㅆㅣㅂㅏㄹ →
    씨발)."""
    out: list[str] = []
    i, n = 0, len(seq)
    while i < n:
        c = seq[i]
        if c in _CHO and i + 1 < n and seq[i + 1] in _JUNG:
            v = seq[i + 1]
            j = i + 2
            if j < n and (v, seq[j]) in _COMPOUND_V:
                v = _COMPOUND_V[(v, seq[j])]
                j += 1
            final = 0
            # a final consonant only if the next jamo does not start a new syllable
            if (
                j < n
                and seq[j] in _JONG
                and seq[j] != " "
                and not (j + 1 < n and seq[j + 1] in _JUNG)
            ):
                final = _JONG.index(seq[j])
                j += 1
            out.append(chr(SYLLABLE_BASE + (_CHO.index(c) * 21 + _JUNG.index(v)) * 28 + final))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


@lru_cache(maxsize=65536)
def keyboard_to_hangul(token: str) -> str | None:
    """Latin letters typed on a Korean keyboard, read back as Hangul (``tlqkf`` → ``시발``)."""
    jamo = []
    for ch in token:
        j = _KEYS.get(ch) or _KEYS.get(ch.lower())
        if j is None:
            return None
        jamo.append(j)
    s = compose_jamo("".join(jamo))
    return s if all(is_syllable(c) for c in s) else None


def normalized_forms(text: str) -> list[str]:
    """The text and its de-obfuscated variants (see the module docstring); the first is the text
    itself."""
    # full-width Latin/digits to ASCII; not NFKC, which would turn compatibility jamo (ㅅㅂ) into
    # conjoining jamo that no list entry uses
    base = text.translate(_FULLWIDTH) if _HAS_FULLWIDTH.search(text) else text
    forms = [base]
    if not _SUSPECT.search(base):
        return forms  # nothing that looks disguised: the text as written is all there is
    t = _JAMO_RUN.sub(lambda m: compose_jamo(m.group(0)), base)
    t = _SPACED.sub(lambda m: _NOT_SYLLABLE.sub("", m.group(0)), t)
    t = _INNER_NOISE.sub("", t)
    if t != base:
        forms.append(t)
    d = _DIGIT_AFTER.sub(lambda m: _DIGIT_SOUND[m.group(0)], base)
    if d != base:
        forms.append(d)
    keyed = [h for h in (keyboard_to_hangul(w) for w in _LATIN_TOKEN.findall(base)) if h]
    if keyed:
        forms.append(" ".join(keyed))
    return forms


# Kiwi gives unknown (out-of-vocabulary) tokens the id of their tag's placeholder, all below this;
# dictionary morphemes have larger ids (checked on kiwipiepy 0.24: 는/JX 70491, 이/VCP 101)
_KNOWN_MIN_ID = 64
_WINDOW = 40  # characters of context either side of a match given to the tokenizer


def _kiwi() -> Any:
    # the Korean checks' analyser: one per process, single-threaded (safe in forked check workers),
    # without the typo and multi-word dictionaries (1.0 CPU-second to start instead of 2.5)
    from ..korean.analysis import kiwi

    return kiwi()


def on_boundaries(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands on its own rather than inside another dictionary word.

    False after a digit (a counter), and when a dictionary morpheme overlapping the match starts
    before it (``동성애자``), starts inside it and runs past its end as a noun (``애`` + ``자일``),
    or begins with it and is longer and no predicate (``한남동``; ``좆같다`` is kept: a predicate
    made from the term). Kiwi's split depends on the context: a match inside an unknown token that
    starts before it is judged again on its own word (``이성애자와 …`` → ``이성애`` + ``자``).
    """
    if start and text[start - 1].isdigit():
        return False  # a counter after a number: 5개년 (a five-year plan), 8등신 (body proportions)
    lo = max(0, start - _WINDOW)
    verdict = _judge(text[lo : min(len(text), end + _WINDOW)], start - lo, end - lo)
    if verdict is None:  # inside an unknown token: the word alone
        w0 = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
        w1 = min([i for i in (text.find(" ", end), text.find("\n", end)) if i >= 0] or [len(text)])
        verdict = _judge(text[w0:w1], start - w0, end - w0)
    return verdict is not False


def _judge(window: str, s: int, e: int) -> bool | None:
    """True/False as ``on_boundaries``; None when an unknown token starting before the match holds
    it."""
    unknown_around = False
    for t in _kiwi().tokenize(window):
        ts, te = t.start, t.start + t.len
        if te <= s or ts >= e:
            continue
        if t.id < _KNOWN_MIN_ID:
            unknown_around = unknown_around or ts < s
            continue
        if ts < s:
            return False
        if ts > s and te > e and t.tag.startswith("N"):
            # the term's tail is the head of a noun (애 + 자일); 죽여 + 버리다 is one phrase
            return False
        if ts == s and te > e and not t.tag.startswith("V"):
            return False
    return None if unknown_around else True


@dataclass(frozen=True)
class Lexicon:
    words: (
        re.Pattern[str] | None
    )  # every literal term, one trie-shaped alternation (case as listed)
    word_cat: dict[str, str]  # literal term -> category
    regexes: list[
        tuple[str, re.Pattern[str], tuple[str, ...]]
    ]  # (category, pattern, literal hints: a match holds one of them)
    allow: re.Pattern[str] | None
    hints: re.Pattern[str] | None = None  # every regex's hints, one alternation (lower case)
    # for a hint the scan found, the hints that start inside it: (hint, offset) where the whole
    # hint lies within it, and the hints that start inside it and run past its end (checked on the
    # text); the scan itself reports only the longest hint at each place and none inside another
    within: dict[str, tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]] = field(
        default_factory=dict
    )

    def hint_turns(self, low: str, starts: list[int]) -> dict[str, set[int]]:
        """For a batch's lower-cased texts joined (``starts``: where each begins), the turns in
        which each hint occurs: one scan of the text instead of a search per hint."""
        found: dict[str, set[int]] = {}
        if self.hints is None:
            return found
        for m in self.hints.finditer(low):
            i = bisect_right(starts, m.start()) - 1
            h = m.group(0)
            inner, crossing = self.within[h]
            found.setdefault(h, set()).add(i)
            for h2, _ in inner:
                found.setdefault(h2, set()).add(i)
            for h2, off in crossing:
                if low.startswith(h2, m.start() + off):
                    found.setdefault(h2, set()).add(i)
        return found

    def find(
        self, text: str, *, disguised_only: bool = False
    ) -> list[tuple[str, str, tuple[int, int] | None]]:
        """(category, matched text, span in ``text`` or None when found only in a normalized
        form)."""
        hits: list[tuple[str, str, tuple[int, int] | None]] = []
        seen: set[str] = set()
        for k, form in enumerate(normalized_forms(text)):
            if disguised_only and k == 0:
                continue
            probe = (
                self.allow.sub(lambda m: "\u25a1" * len(m.group(0)), form) if self.allow else form
            )
            exact = k == 0 and len(form) == len(text)
            if self.words is not None:
                for m in self.words.finditer(probe):
                    cat = self.word_cat.get(m.group(0).lower(), "abuse")
                    if (
                        k == 0
                        and exact
                        and _is_hangul(m.group(0))
                        and not on_boundaries(form, m.start(), m.end())
                    ):
                        continue  # inside another word (동성애자, 전염병)
                    if cat not in seen:
                        seen.add(cat)
                        hits.append((cat, m.group(0), (m.start(), m.end()) if exact else None))
            low = probe.lower()
            for cat, pat, hints in self.regexes:
                if cat in seen or (hints and not any(h in low for h in hints)):
                    continue
                m = pat.search(probe)
                if m:
                    seen.add(cat)
                    hits.append((cat, m.group(0), (m.start(), m.end()) if exact else None))
        return hits


@lru_cache(maxsize=4)
def load_lexicon(path: str | None = None, allow_path: str | None = None) -> Lexicon:
    """Compile the word lists: one alternation of literal terms; regex terms each with their
    hints."""
    word_cat: dict[str, str] = {}
    regexes: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = []
    for line in Path(path or HERE / "lexicon.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or parts[0] not in ETHICS_FLAGS:
            raise ValueError(f"bad lexicon line: {line!r}")
        mode = parts[2].strip() if len(parts) > 2 else "word"
        if mode == "regex":
            hints = tuple(h for h in (parts[3].split(",") if len(parts) > 3 else []) if h)
            regexes.append((parts[0], re.compile(parts[1], re.I), hints))
        else:
            word_cat.setdefault(parts[1].lower(), parts[0])
    words = re.compile(literal_alternation(word_cat)) if word_cat else None
    allow_words = [
        w.strip()
        for w in Path(allow_path or HERE / "allow.txt").read_text(encoding="utf-8").splitlines()
        if w.strip() and not w.startswith("#")
    ]
    allow = re.compile(literal_alternation(allow_words)) if allow_words else None
    all_hints = sorted({h for _, _, hints in regexes for h in hints})
    within = {
        h: (
            tuple(
                (h2, off)
                for h2 in all_hints
                for off in range(len(h))
                if h2 != h and h.startswith(h2, off)
            ),
            tuple(
                (h2, off)
                for h2 in all_hints
                for off in range(1, len(h))
                if len(h2) > len(h) - off and h2.startswith(h[off:])
            ),
        )
        for h in all_hints
    }
    hints = re.compile(literal_alternation(all_hints)) if all_hints else None
    return Lexicon(words, word_cat, regexes, allow, hints, within)


@register
class EthicsLexicon(Check):
    name = "ethics_lexicon"
    label = N_("Ethics word list")
    description = N_(
        "Pre-flags the seven ethics categories from a shipped word list"
        " (spacing/jamo/digit/keyboard obfuscation undone)"
    )
    severity = "warning"
    family = "ethics"
    categories = ETHICS_FLAGS

    def __init__(self) -> None:
        self.lex = load_lexicon()

    def run(self, sample: SampleView) -> list[Finding]:
        return list(self.run_batch([sample]))

    def run_batch(self, samples: list[SampleView]) -> Iterator[Finding]:
        """One scan over the whole batch (its texts joined, ``BatchText``): no per-turn regex call
        for clean text."""
        lex = self.lex
        # the batch's Korean text as the gated checks have it joined (SEP between the turns)
        big, starts = batch_text(samples).side(False)
        if not big.strip(SEP):
            return
        where = [(s, t) for s in samples for t in s.turns]
        texts = [t.text for _, t in where]
        probe = lex.allow.sub(lambda m: "\u25a1" * len(m.group(0)), big) if lex.allow else big
        hits: dict[int, list[tuple[str, str, tuple[int, int] | None]]] = {}

        def record(m: re.Match[str], cat: str) -> None:
            i = bisect_right(starts, m.start()) - 1
            hits.setdefault(i, []).append(
                (cat, m.group(0), (m.start() - starts[i], m.end() - starts[i]))
            )

        if lex.words is not None:
            for m in lex.words.finditer(probe):
                if _is_hangul(m.group(0)):
                    i = bisect_right(starts, m.start()) - 1
                    if not on_boundaries(texts[i], m.start() - starts[i], m.end() - starts[i]):
                        continue  # inside another word (동성애자, 전염병)
                record(m, lex.word_cat.get(m.group(0).lower(), "abuse"))
        # each pattern is tried only on the turns that hold one of its hints
        found = lex.hint_turns(probe.lower(), starts)
        for cat, pat, hints in lex.regexes:
            turns = set().union(*(found.get(h, ()) for h in hints)) if hints else range(len(texts))
            for i in sorted(turns):
                for m in pat.finditer(probe, starts[i], starts[i] + len(texts[i])):
                    record(m, cat)
        # only these turns get the de-obfuscated forms, each once however many suspect spots it
        # has: after one, the scan goes on at the next turn (real Korean has one in most sentences:
        # "할 수", "이 책")
        search, last, pos = _SUSPECT.search, len(starts) - 1, 0
        while (m := search(big, pos)) is not None:
            i = bisect_right(starts, m.start()) - 1
            hits.setdefault(i, []).extend(lex.find(texts[i], disguised_only=True))
            if i == last:
                break
            pos = starts[i + 1]
        done: set[tuple[int, str]] = set()
        for i in sorted(hits):
            s, t = where[i]
            for cat, term, span in hits[i]:
                if (s.id, cat) in done:
                    continue
                done.add((s.id, cat))
                f = self.finding(
                    N_("{category}: {term!r}") if span else N_("{category}: {term!r} (disguised)"),
                    params={"category": cat, "term": term},
                    turn=t,
                    span=span,
                    flag=cat,
                    category=cat,
                    term=term,
                )
                f.sample_id = s.id
                yield f
