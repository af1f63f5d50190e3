"""Translation checks: a Korean turn against the English turn it was machine-translated from.

Each check looks only at turns whose ``source_kind`` is "translation" (the Korean must say what
the English says), except where noted. The patterns are tuned on real DeepL output (the KoAlpaca
v1.0 and ShareGPT turn-pair excerpts in ``shared/data``).
"""

from __future__ import annotations

import difflib
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from sqlalchemy import select

from .. import align
from ..hangul import SYLLABLES
from ..i18n import N_, part
from ..models import Sample, Turn
from . import text as tx
from .base import Check, Finding, RunContext, SampleView, TurnView, register

# ---------------------------------------------------------------------------------------------
# untranslated / partly untranslated

_EN_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,;:]+[A-Za-z][A-Za-z'’-]*){5,}[.!?]?")
_CODEISH = re.compile(
    r"[=;{}()<>/\\_]|\b(?:def|return|import|class|function|var|const|public|void)\b"
)
ANSWER_ROLES = frozenset({"output", "response", "assistant", "gpt", "bot", "model"})
QUESTION_ROLES = frozenset(
    {"instruction", "input", "context", "user", "human", "prompt", "question"}
)
# a run of Latin words (with the punctuation of a sentence between them), no Hangul inside
_LATIN_SENT = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ \t,;:\-–—\"“”]+[A-Za-z][A-Za-z'’-]*)+[.!?]?")
# English words that make a run a sentence rather than a name, a title or a term: lower-case
# function words and frequent verbs (a list of names or titles has none, or only inside Title Case)
_FUNCTION = frozenset(
    """the a an is are was were be been being am do does did have has had will would can could
should may might must shall to of in on at for with from by about as into than then that
this these those there here it its it's i'm i you he she we they me him her us them my
your our their what which who whom whose when where why how not no yes and or but if so
because while very also just only all some any each every more most other such please
let let's here's there's i'll you'll we'll don't doesn't didn't can't won't isn't aren't
wasn't weren't""".split()
)
# LaTeX, ABC music notation, markup: not prose in any language
_LATEX = re.compile(
    r"\$\$.*?\$\$|\$[^$\n]+\$|\\\[.*?\\\]|\\\(.*?\\\)|\\begin\{(\w+\*?)\}.*?\\end\{\1\}"
    r"|\\[A-Za-z]+(?:\{[^}\n]*\})*",
    re.S,
)
_ABC_LINE = re.compile(
    r"^\s*(?:[A-Za-z]:[^\n]*|[|:\[\]A-Ga-gzZxX0-9,'/^_=<>(){}\s.~-]*\|[|:\[\]A-Ga-gzZxX0-9,'/^_=<>(){}\s.~-]*)$"
)
_CODE_SYMBOLS = re.compile(r"[=;{}()<>\[\]#$&|*/\\]")
_CODE_START = re.compile(
    r"^\s*(?:def |class |return\b|for .+ in |if .+:|elif |else:|while |import |from \S+ import|"
    r"print\(|#include|public |private |static |const |let |var |function\b|SELECT |"
    r"INSERT |UPDATE |CREATE |FROM |WHERE |ORDER BY |GROUP BY |(?:LEFT |INNER )?JOIN |LIMIT"
    r" |VALUES |"
    r"(?:\$ )?(?:sudo|cargo|npm|pip|git|cd|mkdir|docker|curl|wget|apt-get|brew|yarn)"
    r" |<\w|\w+\(.*\)\s*[;{]?$|[\w.\[\]]+\s*[-+*/]?=\s*\S)"
)
# the instruction asks for another language: 영어로, 프랑스어로 번역, in French, into English …
_LANGS_KO = (
    "영어|영문|프랑스어|불어|스페인어|독일어|이탈리아어|포르투갈어|라틴어"
    "|네덜란드어|스웨덴어|러시아어|에스페란토"
)
_LANGS_EN = (
    "English|French|Spanish|German|Italian|Portuguese|Latin|Dutch|Swedish|Russian|Esperanto|Pig"
    " Latin"
)
_ASKS_LANGUAGE = re.compile(
    rf"(?:{_LANGS_KO})\s?(?:로|으로|번역|문장|단어|가사|시|철자|속담|관용구|표현|이름|제목|원문)"
    rf"|(?:in|into|to|from) (?:{_LANGS_EN})\b|\b(?:{_LANGS_EN})"
    r" (?:translation|word|phrase|sentence)"
    r"|가사|lyrics|영어\s?(?:번역|문장)",
    re.I,
)
_PLAIN_WORD = re.compile(
    r"[A-Za-z][a-z'’-]*"
)  # a word as prose writes it (not ACRONYM, not CamelCase)
_CODE_EDGE = frozenset("_=[]{}<>$\\.")
_CLI_OPTION = re.compile(r"(?:^|\s)--?[A-Za-z][\w-]*(?=\s|$)")
# an input that is English words to work on ("take", "happy, sad"): a short English answer is the
# task
_ENGLISH_MATERIAL = re.compile(r"[A-Za-z][A-Za-z'’ ,;.!?-]*")
_QUOTED = re.compile(r"[\"“”'‘’「」『』]")


def _prose(text: str, source: str | None) -> str:
    """The part of a turn that should be Korean prose: no code (fenced, inline or unfenced lines),
    no URLs or e-mails, no LaTeX, no music notation, no line copied unchanged from the source."""
    text = tx.strip_code(text)
    if "$" in text or "\\" in text:
        text = _LATEX.sub(" ", text)
    src_lines = {ln.strip() for ln in (source or "").splitlines() if len(ln.strip()) >= 3}
    keep = []
    for line in text.split("\n"):
        bare = line.strip()
        if not bare:
            continue
        symbols = len(_CODE_SYMBOLS.findall(bare))
        if bare in src_lines and symbols >= max(2, len(bare) // 30) and not english_sentences(bare):
            continue  # code or a formula kept as it was in the English
        if not tx.HANGUL.search(bare) and (
            _CODE_START.search(line)
            or line.startswith(("    ", "\t"))
            or symbols >= max(2, len(bare) // 12)
            or _ABC_LINE.match(bare)
        ):
            continue  # unfenced code, a formula or a line of notes
        keep.append(line)
    return "\n".join(keep)


def _title_like(words: list[str]) -> bool:
    """Title Case (every word of four letters or more capitalized): a title or a name, not a
    sentence."""
    long = [w for w in words if len(w) >= 4]
    return len(long) >= 2 and all(w[0].isupper() for w in long)


def english_sentences(text: str) -> list[re.Match[str]]:
    """Runs of English prose in ``text``: two words or more, with a function word, not in Title
    Case."""
    out = []
    for m in _LATIN_SENT.finditer(text):
        words = re.findall(r"[A-Za-z][A-Za-z'’-]*", m.group(0))
        if len(words) < 2:
            continue
        plain = [w for w in words if _PLAIN_WORD.fullmatch(w)]
        if len(plain) < 2 or 2 * len(plain) < len(words):
            # acronyms, CamelCase, NAMES IN CAPITALS: "a GLB PARTNERS, LP", "A SeatExtended"
            continue
        low = [w.lower().replace("’", "'") for w in words]
        if not any(w in _FUNCTION for w in low):
            continue  # names, titles, terms: "Django, Flask", "Deoxyribonucleic acid"
        if _title_like(words):
            continue  # "The Lord of the Rings", "Internet of Things"
        before = text[m.start() - 1 : m.start()] if m.start() else ""
        after = text[m.end() : m.end() + 1]
        if before in _CODE_EDGE or after in _CODE_EDGE:
            continue  # part of code: "[x for x in arr if x > 0]", "cargo new my_project"
        if _CLI_OPTION.search(m.group(0)):
            continue  # a command line: "docker run --rm -it alpine"
        out.append(m)
    return out


_NO_OUTPUT = re.compile(
    r"<\s*no\s*output\s*>", re.I
)  # Alpaca's marker for a task a model cannot do
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def english_word_list(prose: str) -> re.Match[str] | None:
    """A turn without Hangul that lists English common words (not names or titles): a phrase with a
    lower-case content word after another word ("Sleeping bags", "express regret"), or four
    lower-case words and up ("heroic, audacious, bold, daring"). Names and titles are capitalized;
    code is gone.
    """
    if tx.HANGUL.search(prose):
        return None
    lower = [w for w in _WORD.findall(prose) if w.islower() and len(w) >= 3 and w not in _FUNCTION]
    phrase = re.search(r"[A-Za-z][A-Za-z'’-]* (?:[a-z]+ )*[a-z]{3,}\b", prose)
    if phrase and phrase.group(0).split()[-1] not in _FUNCTION:
        return re.search(r"\S[\s\S]*\S", prose)
    if len(lower) >= 4:
        return re.search(r"\S[\s\S]*\S", prose)
    return None


@register
class Untranslated(Check):
    name = "untranslated"
    label = N_("Untranslated English")
    description = N_(
        "Korean turn is (partly) still English: English sentences in an answer whatever its source,"
        " or left over from the translated English; not names, titles, code, LaTeX, music, a"
        " language asked for"
    )
    severity = "error"
    family = "translation"
    flag = "untranslated"

    gate_text = (tx.LATIN,)

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        asked: bool | None = (
            None  # the instruction asks for another language (computed when needed)
        )
        words_in = 0  # English words given as input material
        for t in sample.turns:
            if not t.text or t.role == "system" or not tx.LATIN.search(t.text):
                continue  # no Latin letter at all: Korean (or digits and symbols)
            prose = _prose(_NO_OUTPUT.sub(" ", t.text), t.source_text)
            runs = english_sentences(prose)
            if not runs and (t.role in ANSWER_ROLES or not t.translated):
                listed = english_word_list(prose)  # an answer that lists English words
                runs = [listed] if listed else []
            if not runs:
                continue
            ratio, n = tx.hangul_ratio(prose)
            en_words = sum(len(m.group(0).split()) for m in runs)
            if t.role in ANSWER_ROLES or not t.translated:
                if asked is None:
                    q = " ".join(
                        f"{x.text} {x.source_text or ''}"
                        for x in sample.turns
                        if x.role in QUESTION_ROLES
                    )
                    # or it gives English material to work on (a verb to inflect, a word to define)
                    material = [
                        x.text
                        for x in sample.turns
                        if x.role in ("input", "context") and x.text.strip()
                    ]
                    asked = _ASKS_LANGUAGE.search(q) is not None
                    words_in = sum(
                        len(m.split()) for m in material if _ENGLISH_MATERIAL.fullmatch(m.strip())
                    )
                if words_in and len(t.text.split()) <= 3 * words_in + 3:
                    # a short English answer about English words given as input (take → had taken)
                    continue
                if asked:
                    continue  # an answer in the language the instruction asked for
                if t.role not in ANSWER_ROLES and not t.translated:
                    continue  # a prompt may quote English (a sentence to correct, to translate)
            elif t.text.strip() == (t.source_text or "").strip() and len(t.text.split()) < 3:
                continue  # a name, a code or a string of letters: nothing to translate
            first = runs[0]
            start = t.text.find(first.group(0))
            span = (start, start + len(first.group(0))) if start >= 0 else None
            if ratio < 0.15:
                # the turn is English, not Korean
                sev = "error" if t.translated else "warning"
                out.append(
                    self.finding(
                        N_(
                            "not Korean: {ratio:.0%} Hangul among {n} letters, English sentences "
                            "({words} words)"
                        ),
                        params={"ratio": ratio, "n": n, "words": en_words},
                        turn=t,
                        span=(0, len(t.text)),
                        severity=sev,
                        flag=self.flag,
                        hangul_ratio=round(ratio, 3),
                    )
                )
                continue
            # Korean with English inside: a whole English sentence, not a short gloss in quotes or
            # brackets
            long_runs = [m for m in runs if self._sentence(prose, m)]
            if long_runs:
                m = long_runs[0]
                start = t.text.find(m.group(0))
                out.append(
                    self.finding(
                        N_("English left untranslated: {text!r}"),
                        params={"text": m.group(0)[:80]},
                        turn=t,
                        severity="warning",
                        flag=self.flag,
                        span=(start, start + len(m.group(0))) if start >= 0 else span,
                    )
                )
        return out

    @staticmethod
    def _sentence(text: str, m: re.Match[str]) -> bool:
        """A run that is a sentence of its own: six words or more, or three and up filling its line
        or ending in sentence punctuation, and not a gloss in brackets or quotes."""
        words = m.group(0).split()
        before = text[max(0, m.start() - 1) : m.start()]
        after = text[m.end() : m.end() + 1]
        if before in "(（[" and before and after in ")）]" and after:
            return False
        if before and after and _QUOTED.match(before) and _QUOTED.match(after) and len(words) < 8:
            return False  # quoted English in Korean prose (an example, a term)
        if len(words) >= 6:
            return True
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        fills_line = not tx.HANGUL.search(line)
        return len(words) >= 3 and (fills_line or m.group(0).rstrip().endswith((".", "!", "?")))


# ---------------------------------------------------------------------------------------------
# truncated

_TERMINAL_CHARS = frozenset(".!?。\"'”’)]")  # what an English sentence ends with
_CONNECTIVE_CHARS = frozenset("을를이가은는와과에의로며고서도면")  # a Korean one that stops there


@register
class Truncated(Check):
    name = "truncated"
    label = N_("Truncated translation")
    description = N_("Korean turn much shorter than its English source, or it stops mid-sentence")
    severity = "error"
    family = "translation"
    flag = "truncated"

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated:
                continue
            src = t.source_text or ""
            k, e = len(t.text.strip()), len(src.strip())
            if e >= 80:
                r = (k + 4) / (align.KO_EN_LENGTH_RATIO * e + 4)
                if r < 0.4:
                    out.append(
                        self.finding(
                            N_(
                                "Korean has {ko} characters for {en} in English (expected about"
                                " {expected})"
                            ),
                            params={
                                "ko": k,
                                "en": e,
                                "expected": int(align.KO_EN_LENGTH_RATIO * e),
                            },
                            turn=t,
                            ratio=round(r, 3),
                        )
                    )
                    continue
            # the last characters, not a search: a `$`-anchored pattern is tried at every
            # full stop of the text
            if (
                k > 20
                and src.rstrip()[-1:] in _TERMINAL_CHARS
                and t.text.rstrip()[-1:] in _CONNECTIVE_CHARS
            ):
                out.append(
                    self.finding(
                        N_("ends mid-sentence (a particle or connective ending, no final verb)"),
                        params={},
                        turn=t,
                        severity="warning",
                        span=(max(0, len(t.text) - 10), len(t.text)),
                    )
                )
        return out


# ---------------------------------------------------------------------------------------------
# stray leading / trailing characters (DeepL glues fragments of the source to the output)

_LEAD = re.compile(r"^\s*([A-Za-z]{1,3})(?:([" + SYLLABLES + r"])|\s+(?=\S))")
_TRAIL = re.compile(r"([" + SYLLABLES + r"])([A-Za-z]{1,2})$")  # searched in the text's rstrip()
_WORDS = re.compile(r"[A-Za-z]+")
# short Latin tokens that commonly open a Korean sentence without being in the English
_COMMON_ACRONYMS = frozenset(
    "ai api ui ux ok pc tv it ceo cto sql url id db os pr css js kb mb gb tb cpu gpu "
    "usb faq sns seo qa hr vr ar ml nlp app web".split()
)


# a one-letter name takes a particle ('f의', 'x는', 'n이'); 'n두 번째' glues the letter to a word
_PARTICLE_HEAD = frozenset("의은는이가을를에와과로도만")


def _named_alone(letter: str, src: str) -> bool:
    """The one-letter name occurs on its own in the source (a variable, a file, a function)."""
    return re.search(rf"(?<![\w'’]){re.escape(letter)}(?![\w'’])", src) is not None


def _src_words(src: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORDS.findall(src))


@register
class StrayCharacters(Check):
    name = "stray_chars"
    label = N_("Stray characters")
    description = N_(
        "Stray Latin fragments glued to the start or end of a Korean turn ('n Java에서', 'rm자,',"
        " '코드D')"
    )
    severity = "error"
    family = "translation"
    flag = "mistranslation"

    gate_text = (tx.LATIN,)  # both ends look for Latin letters

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated or not t.text:
                continue
            words: frozenset[str] | None = None
            m = _LEAD.match(t.text)
            if m:
                tok = m.group(1)
                words = _src_words(t.source_text or "")
                glued = m.group(2) is not None
                low = tok.lower()
                stray = low not in words and low not in _COMMON_ACRONYMS
                if glued and len(tok) == 1 and tok.islower():
                    # 'a디지털', 'o상완골': a lone lower-case letter glued to Hangul, unless the
                    # source names it on its own and a particle follows ('the first 10 lines of f' →
                    # 'f의 첫 10줄'; 'n두 번째' stays stray); 'a' and 'i' there are English words,
                    # not names
                    named = m.group(2) in _PARTICLE_HEAD and _named_alone(low, t.source_text or "")
                    stray = low in ("a", "i") or not named
                if stray:
                    out.append(
                        self.finding(
                            N_("stray characters {token!r} at the start"),
                            params={"token": tok},
                            turn=t,
                            span=(m.start(1), m.end(1)),
                            token=tok,
                        )
                    )
            tail = t.text.rstrip()
            m = _TRAIL.search(tail, max(0, len(tail) - 3))  # only the last three can match
            if m:
                words = words if words is not None else _src_words(t.source_text or "")
                tok = m.group(2)
                if tok.lower() not in words:
                    out.append(
                        self.finding(
                            N_("stray characters {token!r} at the end"),
                            params={"token": tok},
                            turn=t,
                            span=(m.start(2), m.end(2)),
                            token=tok,
                        )
                    )
        return out


# ---------------------------------------------------------------------------------------------
# numbers, URLs / e-mails, placeholders, code fences that differ from the source


def _multiset_diff(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    ca, cb = Counter(a), Counter(b)
    return sorted((ca - cb).elements()), sorted((cb - ca).elements())


_KO_SCALE = {"십": 10, "백": 10**2, "천": 10**3, "만": 10**4, "억": 10**8, "조": 10**12}
_EN_SCALE = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
# a number with Korean scale words, "27억", "5천만", "3백만"; 조 before 차/각/건 and 만 before 큼
# are particles or other words ("7조차도" = even 7, "5만큼"), not 10^12 or 10^4
_KO_UNIT = r"(?:[십백천](?:만|억|조(?![차각건]))?)|만(?!큼)|억|조(?![차각건])"
# ASCII digits ([0-9], not \d): a fifth quicker to scan for
_N = r"([0-9]+(?:[.,][0-9]+)*)"
_KO_SCALED = re.compile(rf"{_N}\s?({_KO_UNIT})")
_EN_SCALED = re.compile(rf"{_N}\s?(thousand|million|billion|trillion)\b", re.I)
# every number, with its scale word when one follows: one scan tells whether the slow path is needed
_KO_NUMBER = re.compile(rf"{_N}(\s?(?:{_KO_UNIT}))?")
_EN_NUMBER = re.compile(rf"{_N}(\s?(?:thousand|million|billion|trillion)\b)?", re.I)
_NUMBER_SCAN = {_KO_SCALED: _KO_NUMBER, _EN_SCALED: _EN_NUMBER}


def _scale(word: str, scale: dict[str, int]) -> int:
    """10^n of a scale word; Korean ones stack: 천만 = 10^3 * 10^4."""
    if word.lower() in scale:
        return scale[word.lower()]
    value = 1
    for ch in word:
        value *= scale[ch]
    return value


def _norm_float(value: float) -> str:
    return tx.norm_number(f"{value:.0f}" if value == int(value) else str(value))


_DOTTED_DATE = re.compile(r"\b(\d{4})[./-](\d{1,2})[./-](\d{1,2})\b")
_MIXED_FRACTION = re.compile(r"\b(\d+)\s+(\d+)/(\d+)\b")
_COMMA_LIST = re.compile(r"\b\d+(?:,\d+)+\b")


def _mixed(m: re.Match[str]) -> str:
    whole, num, den = (int(g) for g in m.groups())
    return _norm_float(whole + num / den) if den and num < den else m.group(0)


def _same_numbers(text: str) -> str:
    """``text`` with numbers that one side writes another way made comparable: a date's parts
    apart (2020.10.21 -> 2020 10 21), a mixed fraction as its decimal (7 1/2 -> 7.5), a list with
    commas apart when its groups are not thousands (1,2,3 -> 1 2 3; 1,937 stays)."""
    if "/" in text:
        text = _MIXED_FRACTION.sub(_mixed, text)
    text = _DOTTED_DATE.sub(r"\1 \2 \3", text)
    return _COMMA_LIST.sub(
        lambda m: (
            m.group(0)
            if all(len(g) == 3 for g in m.group(0).split(",")[1:])
            else m.group(0).replace(",", " ")
        ),
        text,
    )


def _numbers(text: str, scale: dict[str, int], scaled: re.Pattern[str]) -> set[str]:
    """Normalized numbers of a text; "138억" and "13.8 billion" both become 13800000000, and the
    parts of a Korean compound number add up: "27억 5천만" is 2750000000 (as "2.75 billion")."""
    found = _NUMBER_SCAN[scaled].findall(text)
    if not any(unit for _, unit in found):  # most texts: every number as it is written
        return {n if n.isdigit() else tx.norm_number(n) for n, _ in found}
    out: set[str] = set()
    plain, pos = [], 0  # the text outside scaled numbers, whose digits count as they are
    total: float | None = None
    last_unit, last_end = 0, -1
    for m in scaled.finditer(text):
        try:
            unit = _scale(m.group(2), scale)
            value = float(m.group(1).replace(",", "")) * unit
        except (ValueError, KeyError):
            continue
        plain.append(text[pos : m.start()])
        pos = m.end()
        if total is not None and unit < last_unit and not text[last_end : m.start()].strip():
            out.discard(_norm_float(total))
            total += value  # the next part of "27억 5천만"
        else:
            total = value
        last_unit, last_end = unit, m.end()
        out.add(_norm_float(total))
    plain.append(text[pos:])
    return out | {tx.norm_number(n) for n in tx.NUMBER_ANY.findall(" ".join(plain))}


@register
class Numbers(Check):
    name = "numbers"
    label = N_("Numbers differ")
    description = N_("Numbers in the Korean differ from the English (changed, dropped or invented)")
    severity = "warning"
    family = "translation"
    flag = "mistranslation"

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated:
                continue
            src = t.source_text or ""
            en = _numbers(src, _EN_SCALE, _EN_SCALED)
            ko = _numbers(t.text, _KO_SCALE, _KO_SCALED)
            if en == ko:
                continue
            # the same numbers written another way: a date reordered (Oct 21, 2020 / 2020.10.21),
            # a mixed fraction as a decimal (7 1/2 / 7.5), a list with commas (1,2,3 / 1, 2, 3)
            en = _numbers(_same_numbers(src), _EN_SCALE, _EN_SCALED)
            ko = _numbers(_same_numbers(t.text), _KO_SCALE, _KO_SCALED)
            if en == ko:
                continue
            # a digit on one side may be spelled out on the other ("3 tips" / 세 가지 팁)
            missing = sorted(en - ko - align.spelled_numbers(t.text))
            extra = sorted(ko - en - align.spelled_numbers(src))
            if not missing and not extra:
                continue
            # Korean often spells small numbers out ("세 가지") or adds list numbers: only a number
            # that was replaced by another one, or a dropped long number, is worth a look
            big_missing = [n for n in missing if len(n.replace(".", "")) >= 3]
            if (missing and extra) or big_missing:
                out.append(
                    self.finding(
                        N_("numbers differ: missing {missing}, added {added}"),
                        params={"missing": str(missing[:5]), "added": str(extra[:5])},
                        turn=t,
                        missing=missing[:20],
                        added=extra[:20],
                    )
                )
        return out


def _urls(s: str) -> list[str]:
    return [u.rstrip(".,;:!?") for u in tx.URL.findall(s)] + [
        e.lower() for e in tx.EMAIL.findall(s)
    ]


@register
class Urls(Check):
    name = "urls"
    label = N_("URLs differ")
    description = N_("URLs or e-mail addresses in the Korean differ from the English")
    severity = "error"
    family = "translation"
    flag = "mistranslation"

    gate_text = gate_source = ("http", "www.", "@")

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated:
                continue
            src = t.source_text or ""
            if (
                "http" not in src
                and "www." not in src
                and "@" not in src
                and "http" not in t.text
                and "@" not in t.text
            ):
                continue
            missing, extra = _multiset_diff(_urls(src), _urls(t.text))
            if missing or extra:
                out.append(
                    self.finding(
                        N_("URLs/e-mails differ: missing {missing}, added {added}"),
                        params={"missing": str(missing[:3]), "added": str(extra[:3])},
                        turn=t,
                        missing=missing[:10],
                        added=extra[:10],
                    )
                )
        return out


@register
class Placeholders(Check):
    name = "placeholders"
    label = N_("Placeholders differ")
    description = N_(
        "Placeholders ({name}, %s, {{var}}, <tag>) in the Korean differ from the English"
    )
    severity = "error"
    family = "translation"
    flag = "code_broken"

    gate_source = ("{", "%", "<", "[", "$")

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated:
                continue
            src = t.source_text or ""
            if not any(c in src for c in "{%<[$"):
                continue
            missing, extra = _multiset_diff(
                tx.PLACEHOLDER.findall(src), tx.PLACEHOLDER.findall(t.text)
            )
            if missing:  # DeepL dropped or translated one ('{객체}' for '{object}')
                out.append(
                    self.finding(
                        N_("placeholders changed: missing {missing}, found {added}"),
                        params={"missing": str(missing[:5]), "added": str(extra[:5])},
                        turn=t,
                        missing=missing[:10],
                        added=extra[:10],
                    )
                )
        return out


@register
class CodeBlocks(Check):
    name = "code_blocks"
    label = N_("Code blocks differ")
    description = N_("Fenced code blocks in the Korean differ in number from the English")
    severity = "error"
    family = "translation"
    flag = "code_broken"

    gate_text = gate_source = ("```",)

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated:
                continue
            a, b = (t.source_text or "").count("```"), t.text.count("```")
            if a != b:
                out.append(
                    self.finding(
                        N_("{ko} code fences in Korean, {en} in English"),
                        params={"ko": b, "en": a},
                        turn=t,
                        en=a,
                        ko=b,
                    )
                )
        return out


# ---------------------------------------------------------------------------------------------
# code identifiers translated inside code

_CODE_LINE = re.compile(
    r"^\s*(?:def |class |return\b|for .+ in |if .+:|elif |else:|while |import |from \S+"
    r" import|print\(|"
    r"#include|public |private |static |const |let |var"
    r" |function\b|[\w.\[\]]+\s*[-+*/]?=\s*\S)|[;{}]\s*$"
)
_STRINGS = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`[^`\n]*`")
_COMMENT = re.compile(r"(?:#|//|--|/\*).*$")
_KO_KEYWORD = re.compile(
    r"^\s*(?:반환|인쇄|만약|동안|정의|가져오기)\b|^\s*[" + SYLLABLES + r"_][\w]*\s*[-+*/]?=(?!=)"
)


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) of every line inside fenced code, or of the whole text if it reads as code."""
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    if "```" in text:
        out, inside = [], False
        for off, line in lines:
            if line.strip().startswith("```"):
                inside = not inside
                continue
            if inside:
                out.append((off, line))
        return out
    body = [ln for ln in lines if ln[1].strip()]
    if len(body) >= 2 and sum(1 for _, ln in body if _CODE_LINE.search(ln)) * 2 >= len(body):
        return lines
    return []


def _code_hangul(line: str) -> re.Match[str] | None:
    """Hangul in a code line outside string literals and comments."""
    bare = _COMMENT.sub("", _STRINGS.sub('""', line))
    return tx.HANGUL.search(bare)


@register
class CodeIdentifiers(Check):
    name = "code_identifiers"
    label = N_("Translated code")
    description = N_("Identifiers or keywords translated inside code ('계승 = 1', '반환 계승')")
    severity = "error"
    family = "translation"
    flag = "code_broken"

    gate_source = ("\n",)  # code in the English: a fence or two lines of code

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated or not t.text:
                continue
            src_code = _code_lines(t.source_text or "")
            if not src_code:
                continue
            bad = []
            for off, line in _code_lines(t.text):
                if not (_CODE_LINE.search(line) or _KO_KEYWORD.search(line)):
                    continue
                m = _code_hangul(line)
                if m:
                    bad.append((off, line))
            if bad:
                off, line = bad[0]
                out.append(
                    self.finding(
                        N_("Korean inside code on {n} line(s), e.g. {line!r}"),
                        params={"n": len(bad), "line": line.strip()[:60]},
                        turn=t,
                        span=(off, off + len(line)),
                        lines=[b[1].strip()[:80] for b in bad[:5]],
                    )
                )
        return out


# ---------------------------------------------------------------------------------------------
# Markdown structure

# a list item: a bullet (also the middle dot and other glyphs, which DeepL turns into "-"), or a
# number with a space after it or a letter straight after it ("1.They …", to which DeepL adds the
# space); "1.5" is no item
_LIST = re.compile(r"^\s*(?:[-*+•·●○▪◦‣∙]\s+\S|\d+[.)](?:\s+\S|(?=[^\W\d_])))", re.M)
_HEAD = re.compile(r"^\s*#{1,6}\s+\S", re.M)
_TABLE = re.compile(r"^\s*\|.*\|\s*$", re.M)


@register
class MarkdownStructure(Check):
    name = "markdown"
    label = N_("Markdown structure")
    description = N_(
        "List items, headings or table rows differ in number between Korean and English"
    )
    severity = "warning"
    family = "translation"
    flag = None

    gate_source = ("\n",)

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated:
                continue
            src = t.source_text or ""
            if "\n" not in src:
                continue
            diffs = []
            for label, pat in (
                (N_("list items {ko} vs {en}"), _LIST),
                (N_("headings {ko} vs {en}"), _HEAD),
                (N_("table rows {ko} vs {en}"), _TABLE),
            ):
                a, b = len(pat.findall(src)), len(pat.findall(t.text))
                if a != b and abs(a - b) > max(1, 0.2 * max(a, b)):
                    diffs.append(part(label, ko=b, en=a))
            if diffs:
                out.append(
                    self.finding(
                        N_("Markdown structure differs (Korean vs English): {diffs}"),
                        params={"diffs": diffs},
                        turn=t,
                    )
                )
        return out


# ---------------------------------------------------------------------------------------------
# repeated phrases / generation loops

_SENT_SPLIT = re.compile(r"(?<=[.!?다요])\s+|\n+")


def _compress_ratio(s: str) -> float:
    b = s.encode()
    return len(zlib.compress(b, 1)) / max(1, len(b))


@register
class Repetition(Check):
    name = "repetition"
    label = N_("Repetition")
    description = N_("Repeated phrases or a generation loop not present in the source")
    severity = "warning"
    family = "translation"
    flag = "low_quality"

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if len(t.text) < 200:
                continue
            r = _compress_ratio(t.text)
            if r >= 0.22:
                continue
            if t.source_text and _compress_ratio(t.source_text) < 1.6 * r:
                continue  # the English repeats itself just as much (tables, code)
            sents = Counter(s.strip() for s in _SENT_SPLIT.split(t.text) if len(s.strip()) >= 10)
            top = sents.most_common(1)
            if top and top[0][1] >= 3:
                msg, params = (
                    N_("text repeats itself (compresses to {ratio:.0%}) ({n}x {text!r})"),
                    {"ratio": r, "n": top[0][1], "text": top[0][0][:50]},
                )
            else:
                msg, params = N_("text repeats itself (compresses to {ratio:.0%})"), {"ratio": r}
            out.append(self.finding(msg, params=params, turn=t, compress_ratio=round(r, 3)))
        return out


# ---------------------------------------------------------------------------------------------
# length-ratio outliers per dataset


@register
class LengthRatio(Check):
    name = "length_ratio"
    label = N_("Length ratio")
    description = N_("Korean/English length ratio far from what is usual in this dataset")
    severity = "warning"
    family = "translation"
    flag = None
    SAMPLE = 20_000

    def __init__(self) -> None:
        self.center, self.spread = math.log(align.KO_EN_LENGTH_RATIO), math.log(3.0)

    @staticmethod
    def stats_of(rows: Iterable[tuple[str, str | None]]) -> tuple[float, float]:
        """(centre, spread) of log length ratios over a dataset's first translated turns."""
        logs = sorted(math.log((len(a) + 4) / (len(b) + 4)) for a, b in rows if b and len(b) >= 40)
        if len(logs) < 50:
            return math.log(align.KO_EN_LENGTH_RATIO), math.log(3.0)
        med = logs[len(logs) // 2]
        mad = sorted(abs(x - med) for x in logs)[len(logs) // 2]
        return med, max(math.log(2.5), 4 * 1.4826 * mad)

    def prepare(self, ctx: RunContext) -> None:
        key = f"length_ratio:{ctx.dataset_id}"
        if key not in ctx.stats:  # given already when the rows are checked during their import
            if ctx.session is None or ctx.dataset_id is None:
                return
            ctx.stats[key] = self.stats_of(
                ctx.session.execute(
                    select(Turn.text, Turn.source_text)
                    .join(Sample, Sample.id == Turn.sample_id)
                    .where(Sample.dataset_id == ctx.dataset_id, Turn.source_kind == "translation")
                    .limit(self.SAMPLE)
                ).all()
            )
        self.center, self.spread = ctx.stats[key]

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated or len(t.source_text or "") < 40:
                continue
            x = math.log((len(t.text) + 4) / (len(t.source_text or "") + 4))
            if abs(x - self.center) > self.spread:
                out.append(
                    self.finding(
                        N_("length ratio {ratio:.2f} (usual here {usual:.2f})"),
                        params={"ratio": math.exp(x), "usual": math.exp(self.center)},
                        turn=t,
                        ratio=round(math.exp(x), 3),
                    )
                )
        return out


# ---------------------------------------------------------------------------------------------
# misalignment: the Korean turn translates some other English turn


@register
class Misaligned(Check):
    name = "misaligned"
    label = N_("Misaligned turn")
    description = N_(
        "Korean turn does not match its English turn (aligner cues); names a neighbour it fits"
        " better"
    )
    severity = "error"
    family = "translation"
    flag = "misaligned"
    ERROR_BELOW = -4.0
    WARN_BELOW = -2.5
    WINDOW = 3
    TRUST_ABOVE = 0.2  # sigmoid(-1.4): well above WARN_BELOW for every turn of the sample

    def run(self, sample: SampleView) -> list[Finding]:
        return list(self._run([sample], 0))

    def run_batch(self, samples: list[SampleView]) -> Iterator[Finding]:
        for i in range(len(samples)):
            for f in self._run(samples, i):
                f.sample_id = samples[i].id
                yield f

    def _run(self, samples: list[SampleView], i: int) -> Iterator[Finding]:
        s = samples[i]
        if s.align_confidence is not None and s.align_confidence >= self.TRUST_ABOVE:
            return  # the aligner already found good evidence for this sample at import
        for t in s.turns:
            if not t.translated or not t.text.strip():
                continue
            ko = align.cues([t.text])
            ev = align.evidence(ko, align.cues([t.source_text or ""]))
            if ev > self.WARN_BELOW:
                continue
            best: tuple[float, str] | None = None
            for cand, where in self._candidates(samples, i, t):
                e2 = align.evidence(ko, align.cues([cand]))
                if e2 >= ev + 3.0 and (best is None or e2 > best[0]):
                    best = (e2, where)
            if best is None:
                share, letters = tx.hangul_ratio(t.text)
                src_len = len(t.source_text or "")
                if (
                    share < 0.05
                    and letters >= 20
                    and abs(math.log((len(t.text) + 4) / (src_len + 4))) < math.log(3)
                ):
                    # no Korean in it, and about as long as its English: that English (or another
                    # language) left as it is, which `untranslated` reports; the Korean/English
                    # cues say nothing about the pairing
                    continue
            if best is not None:
                yield self.finding(
                    N_(
                        "Korean turn fits the English of {other} better than its own "
                        "(evidence {ev:.1f} vs {better:.1f})"
                    ),
                    params={"other": best[1], "ev": ev, "better": best[0]},
                    turn=t,
                    evidence=round(ev, 2),
                    better=best[1],
                )
            elif ev <= self.ERROR_BELOW:
                yield self.finding(
                    N_("Korean turn does not match its English (evidence {ev:.1f})"),
                    params={"ev": ev},
                    turn=t,
                    evidence=round(ev, 2),
                )
            else:
                yield self.finding(
                    N_("weak match with its English (evidence {ev:.1f})"),
                    params={"ev": ev},
                    turn=t,
                    severity="warning",
                    evidence=round(ev, 2),
                )

    def _candidates(
        self, samples: list[SampleView], i: int, t: TurnView
    ) -> Iterator[tuple[str, str]]:
        s = samples[i]
        for o in s.turns:
            if o.idx != t.idx and o.translated and abs(o.idx - t.idx) <= 2 and o.source_text:
                yield o.source_text, f"turn {o.idx}"
        for j in range(max(0, i - self.WINDOW), min(len(samples), i + self.WINDOW + 1)):
            n = samples[j]
            if j == i or n.dataset_id != s.dataset_id or abs(n.position - s.position) > self.WINDOW:
                continue
            o = next((x for x in n.turns if x.idx == t.idx and x.translated), None)
            if o is not None and o.source_text:
                yield o.source_text, f"sample {n.key} turn {o.idx}"


# ---------------------------------------------------------------------------------------------
# known DeepL false friends


class FalseFriend(NamedTuple):
    en: re.Pattern[str]  # English that must be in the source
    ko: re.Pattern[str]  # the Korean rendering that betrays the misreading
    ok: re.Pattern[str] | None  # English that would make the Korean right
    why: str
    # a reading wrong in one sense only: (that sense, the other sense). The finding is dropped when
    # the sample's English (any turn) shows the other sense and not this one
    sense: tuple[re.Pattern[str], re.Pattern[str]] | None = None


FALSE_FRIENDS: list[FalseFriend] = [
    FalseFriend(
        re.compile(r"\bodd\s+(?:one|man|word|item|number)s?\s+out\b", re.I),
        re.compile(r"홀수"),
        None,
        N_("'odd one out' (the item that does not belong) read as 'odd number' ('홀수')"),
    ),
    FalseFriend(
        re.compile(r"\bmore\b", re.I),
        re.compile(r"광석"),
        re.compile(r"\bores?\b|\bmineral", re.I),
        N_("'more' read as 'ore' ('광석')"),
    ),
    FalseFriend(
        re.compile(r"\bperplexity\b", re.I),
        re.compile(r"당혹"),
        None,
        N_("'perplexity' (the text-predictability measure) rendered as embarrassment ('당혹감')"),
        # 당혹감 is right in prose ("a maze of confusion and perplexity"); as the measure of text,
        # beside burstiness or language models (or alone, "more perplexity"), a misreading
        sense=(
            re.compile(
                r"\bburstiness\b|predictab|language models?\b|\bLLMs?\b|\bGPT|\bAI[- ]"
                r"(?:generated|detect|content|writing|text)",
                re.I,
            ),
            re.compile(
                r"\bconfus|\bbewilder|\blabyrinth|\bmaze\b|\bpuzzl|\bmystif|\bastonish|\bdismay",
                re.I,
            ),
        ),
    ),
    FalseFriend(
        re.compile(r"\bburstiness\b", re.I),
        re.compile(r"폭발|파열"),
        None,
        N_("'burstiness' (variation in sentence length) rendered as explosion ('폭발성')"),
    ),
    FalseFriend(
        re.compile(r"\babduct", re.I),
        re.compile(r"납치"),
        re.compile(r"\bkidnap", re.I),
        N_(
            "'abduct' (anatomy: move away from the midline, '외전') rendered as kidnapping ('납치')"
        ),
    ),
    FalseFriend(
        re.compile(r"\bwildfly\b", re.I),
        re.compile(r"야생화"),
        None,
        N_("product name WildFly translated ('야생화')"),
    ),
    FalseFriend(
        re.compile(r"\bRussell\b"),
        re.compile(r"우리를 판매"),
        None,
        N_("the name Russell read as 'Russ sell' ('우리를 판매')"),
    ),
    FalseFriend(
        re.compile(r"\bpython\b", re.I),
        re.compile(r"비단뱀"),
        re.compile(r"\bsnake", re.I),
        N_("the Python language rendered as the snake ('비단뱀')"),
    ),
    FalseFriend(  # "diffuse" written for "defuse" (a common slip) and translated as spreading it
        re.compile(
            r"\bdiffus(?:e[sd]?|ing)\s+(?:the\s+|a\s+|this\s+|any\s+)?"
            r"(?:situation|tension|conflict|argument|anger|crisis)",
            re.I,
        ),
        re.compile(r"확산|퍼뜨"),
        None,
        N_("'diffuse the situation' (meant: defuse, calm it) rendered as spreading it ('확산')"),
    ),
]


# any entry's Korean: each is a list of words ("폭발|파열"), so one trie of them all finds where
# any is (a plain alternation of the patterns would leave ``re`` no first character to skip by)
_FALSE_FRIEND_WORDS = [w for ff in FALSE_FRIENDS for w in ff.ko.pattern.split("|")]
assert not set("".join(_FALSE_FRIEND_WORDS)) & set(".^$*+?{}[]\\()"), "Korean that is not words"
_FALSE_FRIEND_KO = re.compile(tx.literal_alternation(_FALSE_FRIEND_WORDS))


@register
class FalseFriends(Check):
    name = "false_friends"
    label = N_("DeepL misreading")
    description = N_(
        "Known DeepL misreadings ('odd one out' → 홀수, 'more' → 광석, 'abduct' → 납치 …)"
    )
    severity = "error"
    family = "translation"
    flag = "mistranslation"

    gate_text = (_FALSE_FRIEND_KO,)

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated or not _FALSE_FRIEND_KO.search(t.text):
                continue  # none of the telltale Korean words: one scan instead of one per entry
            src = t.source_text or ""
            for ff in FALSE_FRIENDS:
                m = ff.ko.search(t.text)
                if not m or not ff.en.search(src) or (ff.ok and ff.ok.search(src)):
                    continue
                if ff.sense is not None:
                    this, other = ff.sense
                    english = "\n".join(o.source_text or "" for o in sample.turns)
                    if other.search(english) and not this.search(english):
                        continue
                out.append(self.finding(ff.why, params={}, turn=t, span=(m.start(), m.end())))
        return out


# ---------------------------------------------------------------------------------------------
# a task that does not survive translation: "fix the spelling" of an input DeepL already fixed

_SPELL_TASK = re.compile(
    r"\b(?:spell\w*|misspell\w*|typos?|grammar|grammatical|mistakes?|errors?|proofread)\b", re.I
)
_NO_ERROR_KO = re.compile(
    r"오류(?:가|는)? 없|틀린 (?:곳|부분|단어|철자)(?:이|은)? 없|문제(?:가|는)?"
    r" 없|정확합니다|올바릅니다|올바른 문장"
)


@register
class TaskLost(Check):
    name = "task_lost"
    label = N_("Error-correction task lost")
    description = N_(
        "Spelling/grammar task whose deliberate English errors did not survive translation"
    )
    severity = "warning"
    family = "translation"
    flag = "mistranslation"

    def run(self, sample: SampleView) -> list[Finding]:
        instr = next(
            (t for t in sample.turns if t.role in ("instruction", "user") and t.source_text), None
        )
        inp = next(
            (t for t in sample.turns if t.role in ("input", "context") and t.source_text), None
        )
        outp = next(
            (t for t in sample.turns if t.role in ("output", "response") and t.source_text), None
        )
        if (
            instr is None
            or inp is None
            or outp is None
            or not _SPELL_TASK.search(instr.source_text or "")
        ):
            return []
        en_in, en_out = inp.source_text or "", outp.source_text or ""
        if difflib.SequenceMatcher(None, en_in.lower(), en_out.lower()).quick_ratio() < 0.6:
            return []
        out_words = {w.lower() for w in _WORDS.findall(en_out)}
        wrong = [w for w in _WORDS.findall(en_in) if w.lower() not in out_words]
        if not wrong:
            return []
        no_err = _NO_ERROR_KO.search(outp.text or "")
        sev = "error" if no_err else "warning"
        msg = (
            N_(
                "the English input has deliberate errors ({words}) that the Korean input no longer"
                " shows: the task is lost in translation; the Korean answer even says there is no"
                " error"
            )
            if no_err
            else N_(
                "the English input has deliberate errors ({words}) that the Korean input no longer "
                "shows: the task is lost in translation"
            )
        )
        return [
            self.finding(
                msg,
                params={"words": ", ".join(wrong[:5])},
                turn=inp,
                severity=sev,
                wrong_words=wrong[:10],
            )
        ]


# ---------------------------------------------------------------------------------------------
# meaning inverted: a negation the English does not have

_EN_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nothing|nobody|neither|nor|without|cannot|unable|inability|disagree|dont|doesnt|cant|"
    r"wont|lack\w*|fail\w*|error\w*|wrong|impossible|refuse\w*|stop|avoid\w*|prevent\w*|except|only)\b|n['’]t\b",
    re.I,
)
# a Korean sentence that ends negated (declarative: Korean asks "…없나요?" idiomatically)
_KO_NEGATED_END = re.compile(
    r"(?:수 없|않|없|못하|못합|아닙|아니)(?:습니다|어요|아요|다|음|요|니다)?[.!]?\s*$"
)


@register
class Negation(Check):
    name = "negation"
    label = N_("Negation inverted")
    description = N_(
        "Meaning inverted: a short Korean sentence ends negated where the English has no negation"
    )
    severity = "error"
    family = "translation"
    flag = "mistranslation"

    gate_text = ("없", "않", "못", "아니", "아닙")  # what _KO_NEGATED_END ends with

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not t.translated:
                continue
            src = (t.source_text or "").strip()
            if len(src) > 160 or "\n" in src:
                continue
            # the Korean ending first: it is rare, and the English regex (case-insensitive, word
            # bounds) costs ~20 µs a turn
            m = _KO_NEGATED_END.search(t.text.strip())
            if m and not _EN_NEGATION.search(src):
                out.append(
                    self.finding(
                        N_(
                            "the Korean is negated ({ending!r}), the English is not: meaning"
                            " inverted?"
                        ),
                        params={"ending": m.group(0).strip()},
                        turn=t,
                        span=(m.start(), m.end()),
                    )
                )
        return out
