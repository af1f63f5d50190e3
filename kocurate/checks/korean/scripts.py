"""Leftover scripts in Korean text: Hanja/Chinese or kana runs the English source does not have,
full-width Latin letters and digits, Korean jamo fragments (ㅋㅋ-style laughter and crying aside),
and decomposed (conjoining) jamo."""

from __future__ import annotations

import re

from ...i18n import N_, part
from ..base import Finding, SampleView, register
from . import analysis as an
from .common import KoreanCheck

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]+")
_FULLWIDTH = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")
_JAMO = re.compile(r"[\u3131-\u318e]+")
_CONJOINING = re.compile(r"[\u1100-\u11ff]+")
_ANY = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\u31f0-\u31ff\uff10-\uff19\uff21-\uff3a"
    r"\uff41-\uff5a\u3131-\u318e\u1100-\u11ff]"
)
# chat conventions, not fragments: ㅋㅋ ㅎㅎ (laughter), ㅠㅠ ㅜㅜ (crying), ㄷㄷ, ㅇㅇ, ㅇㅋ, ㄱㄱ
# …
_CHAT = re.compile(
    r"^(?:[ㅋㅎ]+|[ㅠㅜ]+|ㄷㄷ+|ㅇㅇ+|ㅇㅋ|ㄱㄱ+|ㅂㅂ+|ㅊㅋ+|ㅈㅅ+|ㅅㄱ+|ㄴㄴ+|ㅉㅉ+)$"
)
# text about the Korean alphabet itself names jamo on purpose
_ABOUT_HANGUL = re.compile(r"자음|모음|초성|중성|종성|받침|자모|한글 자|낱자|ㄱ부터|ㄱ,\s?ㄴ")
_LIST_MARK = re.compile(r"(?:^|\n)\s*$")


@register
class LeftoverScript(KoreanCheck):
    name = "ko_script"
    label = N_("Leftover scripts")
    description = N_(
        "Leftover scripts: Hanja/Chinese or kana not in the English source, full-width Latin, "
        "jamo fragments (ㅋㅋ-style aside)"
    )
    severity = "warning"
    flag = "mistranslation"

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            text = t.text
            if not _ANY.search(text):
                continue
            src = t.source_text or ""
            masked = an.mask_code(text)
            for pat, kind, what in (
                (_HAN, "hanja", N_("Hanja/Chinese")),
                (_KANA, "kana", N_("Japanese kana")),
            ):
                for m in pat.finditer(masked):
                    if m.group(0) in src:
                        continue  # the source has it too (a name, a quote, a translation task)
                    if t.source_text is None and kind == "hanja" and _gloss(masked, m):
                        continue  # 한자(漢字): a gloss in parentheses, a Korean writer's habit
                    out.append(
                        self.finding(
                            N_("{what} {text!r} not in the English source"),
                            params={"what": part(what), "text": m.group(0)},
                            turn=t,
                            span=(m.start(), m.end()),
                            kind=kind,
                        )
                    )
                    break
            m = _FULLWIDTH.search(masked)
            if m and m.group(0) not in src:
                out.append(
                    self.finding(
                        N_("full-width characters {text!r}"),
                        params={"text": m.group(0)},
                        turn=t,
                        span=(m.start(), m.end()),
                        kind="fullwidth",
                    )
                )
            m = _CONJOINING.search(masked)
            if m:
                out.append(
                    self.finding(
                        N_("decomposed Hangul (conjoining jamo): the text is not NFC"),
                        params={},
                        turn=t,
                        span=(m.start(), m.end()),
                        kind="conjoining_jamo",
                    )
                )
            if (
                _JAMO.search(masked)
                and not _ABOUT_HANGUL.search(masked)
                and not _ABOUT_HANGUL.search(src)
            ):
                for m in _JAMO.finditer(masked):
                    frag = m.group(0)
                    if _CHAT.match(frag) or frag in src:
                        continue
                    if _LIST_MARK.search(masked[: m.start()]) and masked[m.end() : m.end() + 1] in (
                        ".",
                        ")",
                    ):
                        continue  # ㄱ. ㄴ. ㄷ. as list markers
                    out.append(
                        self.finding(
                            N_("jamo fragment {text!r}"),
                            params={"text": frag},
                            turn=t,
                            span=(m.start(), m.end()),
                            kind="jamo",
                        )
                    )
                    break
        return out


def _gloss(text: str, m: re.Match[str]) -> bool:
    before, after = text[max(0, m.start() - 1) : m.start()], text[m.end() : m.end() + 1]
    return (
        before == "("
        and after == ")"
        and m.start() >= 2
        and an.HANGUL_SYL.match(text[m.start() - 2]) is not None
    )
