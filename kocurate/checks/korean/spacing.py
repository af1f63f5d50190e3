"""Spacing (띄어쓰기): turns whose spacing differs strongly from the analyser's spacing correction
(words run together, spaces inside words). The corrected text rides in the finding's data; the deep
run (``services.korean``) offers it as a suggestion with engine "spacing" (accepted like a DeepL one).

Only spaces between two Hangul syllables count: around code, Latin words, numbers and punctuation
the analyser's opinion is noise. A cheap pre-filter picks the turns worth analysing (a long run of
Hangul without a space, or a lone syllable that looks like a detached particle or ending).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..base import Finding, SampleView, TurnView, register
from . import analysis as an
from .common import KoreanCheck

_LONG_RUN = re.compile(r"[\uac00-\ud7a3]{8,}")
_DETACHED = re.compile(r"[\uac00-\ud7a3] (?:[을를은는가에의과도만]|에서|에게|으로|습니다|니다|입니다|었다|았다|했다|"
                       r"하는|되는|해요|어요|아요|였다|이다)(?=[\s.,!?])")
_HANGUL_SYL = re.compile(r"[\uac00-\ud7a3]")


def suspicious(text: str) -> bool:
    """Worth the analyser's time: a long spaceless Hangul run or a detached particle/ending."""
    return bool(_LONG_RUN.search(text) or _DETACHED.search(text))


# a detached bound form: a particle, the copula or a passive/adnominal ending standing alone after a space
_BOUND = re.compile(r"(?:[은는을를에의와과도만]|으로|에서|에게|부터|까지|처럼|보다|입니다|이다|이며|된|됩니다|되었다)"
                    r"(?=[\s,!?:;)\]]|\.\s|$)")
_RUN = re.compile(r"[\uac00-\ud7a3]+")
LONG_RUN = 9  # spaces are missing only in a run of this many syllables the analyser splits 3 times or more
# (one split of a long run is usually a compound noun or 해드리겠습니다, which may be written together)


def hangul_edits(text: str, corrected: str) -> list[tuple[int, int, str]]:
    """The analyser's space edits that mark a clear spacing error of ``text``.

    The analyser's own spacing is opinionated (it joins 해야 합니다 and splits 5일간), so only two
    kinds of its edits count: a space inserted into a long run of Hangul (words run together), and
    a space removed before a detached particle, copula or ending (프로세스 입니다, 누락 된).
    """
    out = []
    inserts: dict[int, list[tuple[int, int, str]]] = {}
    for s, e, op in an.space_edits(text, corrected):
        left = text[s - 1] if s > 0 else ""
        right = text[e] if e < len(text) else ""
        if not (_HANGUL_SYL.match(left or " ") and _HANGUL_SYL.match(right or " ")):
            continue
        if op == "insert":
            a = s
            while a > 0 and _HANGUL_SYL.match(text[a - 1]):
                a -= 1
            run = _RUN.match(text, a)
            if run and len(run.group(0)) >= LONG_RUN:
                inserts.setdefault(a, []).append((s, e, op))
        elif _BOUND.match(text, e):
            out.append((s, e, op))
    for group in inserts.values():
        if len(group) >= 3:
            out.extend(group)
    return sorted(out)


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with only these space edits applied (line breaks, code and the rest untouched)."""
    parts, pos = [], 0
    for s, e, op in edits:
        parts.append(text[pos:s])
        parts.append(" " if op == "insert" else "")
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


@register
class Spacing(KoreanCheck):
    name = "ko_spacing"
    description = "Spacing far from the analyser's correction (words run together, spaces inside words); suggestion"
    severity = "info"
    flag = None
    MIN_EDITS = 1  # clear spacing errors (see ``hangul_edits``)

    def run(self, sample: SampleView) -> list[Finding]:
        return list(self._run([sample]))

    def run_batch(self, samples: list[SampleView]) -> Iterator[Finding]:
        yield from self._run(samples)

    def _run(self, samples: list[SampleView]) -> Iterator[Finding]:
        todo: list[tuple[SampleView, TurnView, str]] = []
        for s in samples:
            for t in s.turns:
                if t.text and suspicious(an.mask_code(t.text)):
                    todo.append((s, t, t.text))
        if not todo:
            return
        for (s, t, text), corrected in zip(todo, an.space([x[2] for x in todo]), strict=True):
            edits = hangul_edits(text, corrected)
            if len(edits) >= self.MIN_EDITS:
                n_ins = sum(1 for e in edits if e[2] == "insert")
                f = self.finding(f"spacing differs from the analyser's correction in {len(edits)} places "
                                 f"({n_ins} words run together, {len(edits) - n_ins} spaces inside words)", turn=t,
                                 span=(edits[0][0], edits[0][1]), edits=[list(e) for e in edits[:50]],
                                 suggestion=apply_edits(text, edits), n_edits=len(edits))
                f.sample_id = s.id
                yield f
