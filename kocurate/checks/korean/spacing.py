"""Spacing (띄어쓰기): turns whose spacing differs strongly from the analyser's spacing correction
(words run together, spaces inside words). The corrected text rides in the finding's data; the deep
run (``services.korean``) offers it as a suggestion with engine "spacing" (accepted like a DeepL
one).

Only spaces between two Hangul syllables count: around code, Latin words, numbers and punctuation
the analyser's opinion is noise. A cheap pre-filter finds the spots worth analysing (a detached
syllable that looks like a particle or an ending, a long run of Hangul with a particle inside); only
windows around them go to the analyser, so a long turn costs what its suspicious spots cost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...hangul import SYLLABLES
from ...i18n import N_
from ..base import Finding, SampleView, TurnView, register
from . import analysis as an
from .common import KoreanCheck

_RUN7 = re.compile(r"[" + SYLLABLES + r"]{7,}")
# inside a long run, a particle or an ending followed by more syllables: words run together
_RUN_TOGETHER = re.compile(r"[" + SYLLABLES + r"][을를은는에의고서며면록][" + SYLLABLES + r"]{2,}")
# and the usual short ones: 만화를위한, 하고있는, 지을거야, 할수있다, 하는것
_SHORT_RUN_TOGETHER = re.compile(
    r"["
    + SYLLABLES
    + r"](?:[을를](?:위한|위해|통해|가지고|사용)|고(?:있|없|싶)|을거|[할을]수[있없]|"
    r"[는을]것)"
)
_DETACHED = re.compile(
    r"["
    + SYLLABLES
    + r"]\s+(?:[을를은는가에의과도만]|에서|에게|으로|습니다|니다|입니다|었다|았다|했다|"
    r"하는|되는|된|할|한|함|해요|어요|아요|였다|이다|당하는|당한)(?=[\s.,!?])"
)
_HANGUL_SYL = re.compile(r"[" + SYLLABLES + r"]")
WINDOW = 60  # characters of context on each side of a suspicious spot that the analyser sees


def suspicious_spots(text: str) -> list[tuple[int, int]]:
    """Where a spacing error may be: a detached particle/ending, or words run together in a long
    run."""
    spots = [(m.start(), m.end()) for m in _DETACHED.finditer(text)]
    for m in _RUN7.finditer(text):
        if _RUN_TOGETHER.search(m.group(0)):
            spots.append((m.start(), m.end()))
    spots.extend((m.start(), m.end()) for m in _SHORT_RUN_TOGETHER.finditer(text))
    return sorted(spots)


def suspicious(text: str) -> bool:
    """Worth the analyser's time (see ``suspicious_spots``)."""
    return bool(suspicious_spots(text))


def windows(text: str, spots: list[tuple[int, int]], width: int = WINDOW) -> list[tuple[int, int]]:
    """Merged spans of ``width`` characters around the spots, cut at white space (whole words)."""
    out: list[tuple[int, int]] = []
    n = len(text)
    for a, b in spots:
        lo, hi = max(0, a - width), min(n, b + width)
        while lo > 0 and not text[lo - 1].isspace():
            lo -= 1
        while hi < n and not text[hi].isspace():
            hi += 1
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


# a detached bound form: a particle, the copula, 하다/되다/당하다 after a noun, standing alone after
# a space
_BOUND = re.compile(
    r"(?:[은는을를에의와과도만]|으로|에서|에게|부터|까지|처럼|입니다|이다|이며|된|됩니다|되었다|되는|"
    r"당하는|당한|당했다|함|함을|함이|함은|할|하는|한|했다|합니다|하여|해서)(?=[\s,!?:;)\]]|\.\s|\.$|$)"
)
# 하다/되다 forms are bound only after a noun: not after a verb's ending (해야 하는, 하고자 하는,
# 하게 된) or a particle (공부를 하는)
_PARTICLES = frozenset(
    {
        "은",
        "는",
        "을",
        "를",
        "에",
        "의",
        "와",
        "과",
        "도",
        "만",
        "으로",
        "에서",
        "에게",
        "부터",
        "까지",
        "처럼",
        "입니다",
        "이다",
        "이며",
    }
)
_NOT_NOUN_END = frozenset("야게고어아여지서면록자인을를이가은는도에의와과로며")
# a space is missing after a particle or an ending (말을하도록합니다, 만화를위한), not inside a
# compound noun (유한책임회사, 뉴욕증권거래소: the analyser splits those, but they may be written
# together); the analyser's split before 지/데 (있는지, 하는데) is its own mistake
_ENDING_SYL = frozenset("을를은는에의고서며면록")
_NOT_AFTER = frozenset("지데")


def hangul_edits(text: str, corrected: str) -> list[tuple[int, int, str]]:
    """The analyser's space edits that mark a clear spacing error of ``text``.

    The analyser's own spacing is opinionated (it joins 해야 합니다 and splits 5일간 or compound
    nouns), so only two kinds of its edits count: a space inserted after a particle or an ending
    (words run together), and a space removed before a detached particle, copula or 하다/되다 form
    (프로세스 입니다, 누락 된, 수행 할).
    """
    out = []
    for s, e, op in an.space_edits(text, corrected):
        left = text[s - 1] if s > 0 else ""
        right = text[e] if e < len(text) else ""
        if not (_HANGUL_SYL.match(left or " ") and _HANGUL_SYL.match(right or " ")):
            continue
        if op == "insert":
            if left in _ENDING_SYL and right not in _NOT_AFTER and _ends_in_ending(text, s):
                out.append((s, e, op))
            continue
        m = _BOUND.match(text, e)
        if m and (m.group(0) in _PARTICLES or left not in _NOT_NOUN_END):
            out.append((s, e, op))
    return out


_ENDING_CACHE: dict[str, bool] = {}


def _ends_in_ending(text: str, pos: int) -> bool:
    """The word before ``pos`` ends in a particle or an ending (도움을, 하도록), not a noun (사과,
    최고)."""
    a = pos
    while a > 0 and _HANGUL_SYL.match(text[a - 1]):
        a -= 1
    word = text[a:pos]
    if len(word) < 2:
        return False
    hit = _ENDING_CACHE.get(word)
    if hit is None:
        toks = an.kiwi().tokenize(word)
        hit = bool(toks) and toks[-1].tag.startswith(("J", "E"))
        if len(_ENDING_CACHE) > 100_000:
            _ENDING_CACHE.clear()
        _ENDING_CACHE[word] = hit
    return hit


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with only these space edits applied (line breaks, code and the rest untouched)."""
    parts, pos = [], 0
    for s, e, op in sorted(edits):
        parts.append(text[pos:s])
        parts.append(" " if op == "insert" else "")
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


@register
class Spacing(KoreanCheck):
    name = "ko_spacing"
    label = N_("Word spacing")
    description = N_(
        "Spacing far from the analyser's correction (words run together, spaces inside words);"
        " suggestion"
    )
    severity = "warning"
    flag = None
    MIN_EDITS = 1  # clear spacing errors (see ``hangul_edits``)

    def run(self, sample: SampleView) -> list[Finding]:
        return list(self._run([sample]))

    def run_batch(self, samples: list[SampleView]) -> Iterator[Finding]:
        yield from self._run(samples)

    def _run(self, samples: list[SampleView]) -> Iterator[Finding]:
        # only windows around suspicious spots go to the analyser (a long turn costs as much as its
        # spots)
        todo: list[tuple[SampleView, TurnView, str, list[tuple[int, int]]]] = []
        pieces: list[str] = []
        for s in samples:
            for t in s.turns:
                if not t.text:
                    continue
                # code and URLs become symbols (not spaces: the analyser would join the words around
                # them); same length, so offsets stay those of the text
                masked = an.mask_code(t.text, fill="·")
                spots = suspicious_spots(masked)
                if spots:
                    wins = windows(masked, spots)
                    todo.append((s, t, masked, wins))
                    pieces.extend(masked[a:b] for a, b in wins)
        if not todo:
            return
        corrected = iter(an.space(pieces))
        for s, t, masked, wins in todo:
            edits: list[tuple[int, int, str]] = []
            for a, b in wins:
                fixed = next(corrected)
                edits.extend((x + a, y + a, op) for x, y, op in hangul_edits(masked[a:b], fixed))
            if len(edits) >= self.MIN_EDITS:
                text = t.text
                n_ins = sum(1 for e in edits if e[2] == "insert")
                f = self.finding(
                    N_(
                        "spacing differs from the analyser's correction in {n} places "
                        "({joined} words run together, {inside} spaces inside words)"
                    ),
                    params={"n": len(edits), "joined": n_ins, "inside": len(edits) - n_ins},
                    turn=t,
                    span=(edits[0][0], edits[0][1]),
                    edits=[list(e) for e in edits[:50]],
                    suggestion=apply_edits(text, edits),
                    n_edits=len(edits),
                )
                f.sample_id = s.id
                yield f
