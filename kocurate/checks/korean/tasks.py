"""Tasks that do not survive translation: instructions about English form (rhymes, alliteration,
letter or syllable counts, alphabetical order, anagrams, palindromes, letter case, spelling or
grammar of English text) and "odd one out" read as 홀수. Found from the English source when there is
one, else from the Korean instruction; the verdict is always "rewrite or reject", with the reason.
"""

from __future__ import annotations

import re
from typing import Any

from ...i18n import N_, SOURCE_LANGUAGE, part, render
from ..base import Finding, SampleView, TurnView, register
from .common import ANY_ROLE, ASSISTANT_ROLES, KoreanCheck

# (English pattern, Korean pattern for turns without a source or None, reason)
_TASKS: list[tuple[str, re.Pattern[str], re.Pattern[str] | None, str]] = [
    (
        "rhyme",
        re.compile(r"\brhym(?:e|es|ed|ing)\b", re.I),
        re.compile(r"운율|라임|각운|운을 맞"),
        N_("rhymes are English sounds: the Korean words do not rhyme"),
    ),
    (
        "alliteration",
        re.compile(r"\balliterat\w*|\btongue[- ]twister", re.I),
        re.compile(r"두운|잰말"),
        N_("alliteration is made of English sounds"),
    ),
    (
        "letters",
        re.compile(
            r"\b(?:how many|number of|count(?:s|ing)? (?:the )?)\s*(?:letters|characters|vowels|"
            r"consonants|syllables)\b|\b\d+[-"
            r" ](?:letter|syllable)s?\b|\b(?:five|four|three|six|seven|"
            r"eight|ten)[- ](?:letter|syllable)\b|\bsyllables?\b|\bhaiku\b|\blimerick|\bacrostic"
            r"|\b(?:begin|begins|start|starts|starting|beginning|end|ends|ending) with (?:the )?"
            r"(?:letter|same letter|an? [\"']?[A-Za-z][\"']?(?=[\s,.]))",
            re.I,
        ),
        re.compile(
            r"알파벳 [\"'“]?[A-Za-z][\"'”]?(?:로|으로) 시작|하이쿠(?: ?시)?(?:를|을|로)?"
            r" ?(?:작성|써|쓰|만들|생성|지어|바꾸)"
            r"|음절 수|글자 수를 세"
        ),
        N_("letter or syllable counts of English words do not carry over to Korean"),
    ),
    (
        "alphabetical",
        re.compile(r"\balphabetic(?:al)?(?:ally)?\b|\bA to Z\b|\bA-Z\b", re.I),
        re.compile(r"알파벳 ?순|알파벳순"),
        N_("alphabetical order of English words is not the order of the Korean words"),
    ),
    (
        "anagram",
        re.compile(r"\banagrams?\b", re.I),
        re.compile(r"애너그램|아나그램|철자 바꾸기"),
        N_("an anagram rearranges English letters"),
    ),
    (
        "palindrome",
        re.compile(r"\bpalindrom\w*", re.I),
        re.compile(r"회문|팰린드롬"),
        N_("a palindrome is a property of the English letters"),
    ),
    (
        "case",
        re.compile(
            r"\b(?:capitali[sz](?:e|es|ed|ing|ation)|upper[- ]?case|lower[- ]?case|capital"
            r" letters?)\b",
            re.I,
        ),
        re.compile(r"대문자|소문자"),
        N_("Korean has no letter case"),
    ),
    (
        "spelling_grammar",
        re.compile(
            r"\b(?:correct|fix|edit|check|proofread|find|identify|spot)\b[^.\n]{0,50}\b(?:spelling|grammar|grammatical|"
            r"punctuation|typos?|misspell\w*)\b|\b(?:spelling|grammatical|grammar)"
            r" (?:errors?|mistakes?)\b|"
            r"\bgrammatically (?:correct|incorrect)",
            re.I,
        ),
        None,
        N_(
            "the English errors to correct do not survive translation (DeepL writes correct Korean)"
        ),
    ),
    (
        "odd_one_out",
        re.compile(r"\bodd\s+(?:one|man|word|item)s?\s+out\b", re.I),
        None,
        N_("'odd one out' was read as 'odd number' ('홀수')"),
    ),
]
_HOLSU = re.compile(r"홀수")
# a program that sorts, compares or changes strings works the same in Korean
_CODE_TASK = re.compile(
    r"\b(?:function|string|code|program|script|regex|array|algorithm|python|java\w*|password|"
    r"SQL|method|class)\b|함수|코드|프로그램|문자열|스크립트|알고리즘|비밀번호|정규식",
    re.I,
)
_CODE_OK = frozenset({"alphabetical", "anagram", "palindrome", "case", "letters"})
_NUMBERS_TASK = re.compile(r"\b(?:odd|even) numbers?\b|\bnumbers?\b", re.I)
_LATIN_WORDS = re.compile(r"[A-Za-z]{2,}(?:\s+[A-Za-z]{2,}){2,}")


@register
class LostTask(KoreanCheck):
    name = "ko_lost_task"
    label = N_("Task lost in translation")
    description = N_(
        "Task about English form (rhyme, letters, alphabetical order, anagram, palindrome,"
        " spelling, 'odd one out' → 홀수): rewrite or reject"
    )
    severity = "error"  # precision 1.00 on the labelled set (benchmarks/korean.py)
    flag = "low_quality"

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if t.role in ASSISTANT_ROLES or not t.text:
                continue
            if t.role == ANY_ROLE and len(t.source_text or t.text) > 400:
                # a turn-pair turn of unknown speaker: long ones are answers, not instructions
                continue
            hit = self._task(t)
            if hit:
                kind, why, span = hit
                reason = render(why, SOURCE_LANGUAGE)
                out.append(
                    self.finding(
                        N_("rewrite or reject: {reason}"),
                        params={"reason": why},
                        turn=t,
                        span=span,
                        kind=kind,
                        reason=reason,
                        action="rewrite or reject",
                    )
                )
        return out

    def _task(self, t: TurnView) -> tuple[str, dict[str, Any], tuple[int, int] | None] | None:
        """(kind, the reason as a message part, span) of a task about English form, or None."""
        src = t.source_text or ""
        if src and t.source_kind == "translation":
            for kind, en, _ko, reason in _TASKS:
                m = en.search(src)
                if not m:
                    continue
                if kind == "odd_one_out":
                    k = _HOLSU.search(t.text)
                    if k is None or _NUMBERS_TASK.search(src[: m.start()] + src[m.end() :]):
                        continue  # translated right, or the items really are numbers
                    return kind, part(reason), (k.start(), k.end())
                if kind == "spelling_grammar" and _LATIN_WORDS.search(t.text):
                    continue  # the English text to correct is still there, in English
                if kind in _CODE_OK and (_CODE_TASK.search(src) or _CODE_TASK.search(t.text)):
                    continue
                return (
                    kind,
                    part(N_("{reason} (source: {text!r})"), reason=part(reason), text=m.group(0)),
                    None,
                )
            return None
        for kind, _en, ko, reason in _TASKS:
            if ko is None:
                continue
            k = ko.search(t.text)
            if k and not (kind in _CODE_OK and _CODE_TASK.search(t.text)):
                return kind, part(reason), (k.start(), k.end())
        return None
