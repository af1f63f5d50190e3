"""Translationese: Korean that keeps English structure.

A score per turn from features that Korean writers rarely produce but literal translation does:
third-person and second-person pronouns (당신, 그것, 그들, 그녀), double passives (되어지다,
보여지다, -어지게 되다), 것-nominalisation chains (~하는 것은 ~것입니다) and the calques listed in
``calques.txt``. The score is feature points per 100 words; the threshold was chosen on labelled
real data (``benchmarks/korean.py``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from ...hangul import SYLLABLES
from ...i18n import N_, part
from ..base import Finding, SampleView, register
from . import analysis as an
from .common import KoreanCheck

_PRONOUN = re.compile(
    r"(?<![" + SYLLABLES + r"])(?:당신|그것|그들|그녀)(?=[" + SYLLABLES + r"]{0,3}(?:[\s.,!?]|$))"
)
# "he" as a word of its own (그 as a determiner is followed by a space): half a point, Korean
# fiction uses it too
_HE = re.compile(r"(?<![" + SYLLABLES + r"])그(?:는|의|를|가|에게)(?=[\s.,!?]|$)")
_DOUBLE_PASSIVE = re.compile(
    r"되어(?:지|져|진|집)|(?<!["
    + SYLLABLES
    + r"])돼(?:져|진|집)|(?:보여|쓰여|불려|잊혀|읽혀|놓여|씌여|닫혀|열려|나뉘어|믿겨|"
    r"짜여|꺾여|섞여|쌓여|바뀌어|주어|알려|만들어|느껴|여겨|지켜)지게\s?(?:되|된|될|됩|돼|됐)"
    r"|(?:보여|쓰여|잊혀|읽혀|씌여|놓여|믿겨|짜여)(?:지|져|진|집)"
)
_CHAIN = re.compile(
    r"(?:는|은|던|할|한) 것(?:은|이)\s[^.!?\n]{1,80}?것(?:이다|입니다|이에요|이죠|이라는)"
)
_WORDS = re.compile(r"\S+")
# feature kinds as a finding names them (the English is the kind itself, as the finding said before)
FEATURE_NAMES = {
    "pronoun": N_("pronoun"),
    "he": N_("he"),
    "double_passive": N_("double_passive"),
    "nominalisation": N_("nominalisation"),
    "calque": N_("calque"),
}
WEIGHTS = {"pronoun": 1.0, "he": 0.5, "double_passive": 2.0, "nominalisation": 1.5, "calque": 1.0}


@lru_cache(maxsize=1)
def calques() -> list[tuple[re.Pattern[str], str]]:
    """The curated calque patterns shipped with the package (``calques.txt``)."""
    out = []
    for line in (
        resources.files(__package__)
        .joinpath("calques.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    ):
        if not line.strip() or line.startswith("#"):
            continue
        pat, _, why = line.partition("\t")
        out.append((re.compile(pat), why.strip() or pat))
    return out


def score(text: str) -> tuple[float, list[tuple[int, int, str, str]]]:
    """Translationese points per 100 words, and the features found: (start, end, kind, what)."""
    masked = an.mask_code(text)
    feats: list[tuple[int, int, str, str]] = []
    for m in _PRONOUN.finditer(masked):
        feats.append((m.start(), m.end(), "pronoun", m.group(0)))
    for m in _HE.finditer(masked):
        feats.append((m.start(), m.end(), "he", m.group(0)))
    for m in _DOUBLE_PASSIVE.finditer(masked):
        feats.append((m.start(), m.end(), "double_passive", m.group(0)))
    for m in _CHAIN.finditer(masked):
        feats.append((m.start(), m.end(), "nominalisation", m.group(0)[:40]))
    taken = {(s, e) for s, e, _, _ in feats}
    for pat, why in calques():
        for m in pat.finditer(masked):
            if (m.start(), m.end()) not in taken:
                feats.append((m.start(), m.end(), "calque", why))
    if not feats:
        return 0.0, []
    weights = WEIGHTS
    points = sum(weights[k] for _, _, k, _ in feats)
    n_words = max(20, len(_WORDS.findall(masked)))  # short turns: no inflated density from one word
    feats.sort()
    return 100.0 * points / n_words, feats


def flagged(
    sc: float, feats: list[tuple[int, int, str, str]], threshold: float, min_features: int
) -> bool:
    return len(feats) >= min_features and sc >= threshold


@register
class Translationese(KoreanCheck):
    name = "ko_translationese"
    label = N_("Translationese")
    description = N_(
        "Translationese score per turn: pronouns Korean drops (당신/그것/그들/그녀), double"
        " passives, "
        "것-chains, curated calques"
    )
    severity = "info"
    flag = None
    THRESHOLD = 6.0  # points per 100 words (chosen on the labelled set, benchmarks/korean.py)
    MIN_FEATURES = 2

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if len(t.text) < 20 or not an.HANGUL_SYL.search(t.text):
                continue
            sc, feats = score(t.text)
            if flagged(sc, feats, self.THRESHOLD, self.MIN_FEATURES):
                kinds: dict[str, int] = {}
                for _, _, k, _ in feats:
                    kinds[k] = kinds.get(k, 0) + 1
                what = [
                    part(N_("{feature} {n}"), feature=part(FEATURE_NAMES.get(k, k)), n=n)
                    for k, n in kinds.items()
                ]
                out.append(
                    self.finding(
                        N_("reads like a literal translation (score {score:.1f}: {what})"),
                        params={"score": sc, "what": what},
                        turn=t,
                        span=(feats[0][0], feats[0][1]),
                        score=round(sc, 2),
                        features=[list(f) for f in feats[:30]],
                    )
                )
        return out
