"""Quality heuristics on the Korean text alone (no English needed)."""

from __future__ import annotations

import re

from ..hangul import SYLLABLES
from ..i18n import N_
from .base import Check, Finding, SampleView, register

ANSWER_ROLES = frozenset({"output", "response", "assistant"})
QUESTION_ROLES = frozenset({"instruction", "input", "context", "user"})


@register
class EmptyAnswer(Check):
    name = "empty_answer"
    label = N_("Empty answer")
    description = N_(
        "Empty or trivially short answer (nothing, or only punctuation, under a real prompt)"
    )
    severity = "error"
    family = "quality"
    flag = "low_quality"

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        q_len = sum(len(t.text) for t in sample.turns if t.role in QUESTION_ROLES)
        for t in sample.turns:
            if t.role not in ANSWER_ROLES:
                continue
            s = t.text.strip()
            if not s:
                out.append(self.finding(N_("empty answer"), params={}, turn=t))
            elif len(s) <= 3 and q_len >= 40 and not any(ch.isalnum() for ch in s):
                # "12", "존", "분노" can be whole answers; a lone "." or "-" never is
                out.append(
                    self.finding(
                        N_("answer {answer!r} (no letter or digit) to a {n}-character prompt"),
                        params={"answer": s, "n": q_len},
                        turn=t,
                        severity="warning",
                    )
                )
        return out


_REFUSAL = re.compile(
    r"as an ai(?: language)? model|as a language model|i(?:'m| am) (?:sorry|afraid),? (?:but )?i"
    r" (?:can(?:no|')t|am unable)"
    r"|i cannot (?:fulfill|comply|assist)|"
    r"(?:ai|인공지능|인공 지능) ?언어 ?모델(?:로서|으로서|이기 때문에|입니다)|저는"
    r" (?:ai|인공지능|언어 모델)(?:이기|이므로|로서|입니다)"
    r"|(?:죄송하지만|죄송합니다[,.]?) (?:저는 |제가 )?(?:그런 |해당"
    r" )?(?:요청|질문|정보|도움)[^.]{0,20}수 없습니다"
    r"|텍스트 기반 (?:언어 )?모델(?:로서|이기 때문에|이므로)",
    re.I,
)
# every branch of _REFUSAL holds one of these (in lower case)
_REFUSAL_HINTS = ("model", "sorry", "afraid", "cannot", "모델", "저는 ", "죄송")
_REFUSAL_OPENING = re.compile(  # tried at the start of the answer only (match, not search)
    # an answer that opens with an apology and says, within its first two sentences, that it
    # cannot (or sends the asker elsewhere): "죄송하지만 … 제공할 수 없습니다", "죄송합니다. … 직접
    # … 예약해 주시기 바랍니다". An apology for an earlier mistake ("죄송합니다, 이전 답변에 오류가
    # 있었습니다") goes on to answer and does not match
    r"\s*(?:죄송(?:하지만|합니다만?|해요)|미안(?:하지만|합니다))[.,!]?\s*[^.!?\n]{0,120}?"
    r"(?:수 없|어렵습니다|어려워요|불가능합니다|못합니다|못해요|직접[^.!?\n]{0,40}바랍니다)"
    # no answer at all, only a request for the input ("입력을 제공해 주세요.")
    r"|\s*(?:입력|입력값|텍스트|문장|문단|내용|정보|세부 ?정보|데이터|예시|질문)[을를이가]?\s?"
    r"(?:제공|입력|알려)(?:해|하여)?\s?(?:주세요|주십시오|주시겠어요\??|주시기 바랍니다)[.!]?\s*$",
    re.I,
)


@register
class Refusal(Check):
    name = "refusal"
    label = N_("Refusal or AI boilerplate")
    description = N_(
        "Refusals and AI boilerplate in either language ('As an AI language model', 'AI 언어 "
        "모델로서')"
    )
    severity = "warning"
    family = "quality"
    flag = "low_quality"

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if t.role not in ANSWER_ROLES:
                continue
            low = t.text.lower()
            m = (
                _REFUSAL.search(t.text)
                if any(h in low for h in _REFUSAL_HINTS)
                else None  # re.I leaves Python's re no first character to skip by: 5x slower
            ) or _REFUSAL_OPENING.match(t.text)
            if m:
                out.append(
                    self.finding(
                        N_("refusal or AI boilerplate: {text!r}"),
                        params={"text": m.group(0)},
                        turn=t,
                        span=(m.start(), m.end()),
                    )
                )
        return out


# ---------------------------------------------------------------------------------------------
# instruction and answer that do not match

_CONTENT = re.compile(r"[" + SYLLABLES + r"]{2,}|[A-Za-z]{3,}|\d+")
_STOP_WORDS = (
    "합니다 습니다 입니다 있습니다 하세요 하십시오 다음 문장 것을 있는 하는 에서 으로 그리고 대한"
    " 위해 이를 주세요 "
    "하기 같은 있다 없습니다 드립니다 것입니다 하겠습니다"
)
# the register of a customer-service reply (KoAlpaca v1.0 rows 70-78 carry such replies under
# unrelated instructions)
_SERVICE = re.compile(
    r"고객님|고객센터|서비스 ?센터|불편을 드려|환불|불만|죄송|제품|문의|도움을"
    r" 드릴|교환|배송|양해|문제가 발생"
)  # not 문제 해결: a skill in lists
_SERVICE_TOPIC = re.compile(
    r"고객|제품|불만|환불|구매|상점|쇼핑|주문|항공|예약|사과|민원|응대|상담|customer|product|refund|complain",
    re.I,
)


def _bigrams(text: str) -> set[str]:
    out: set[str] = set()
    for w in _CONTENT.findall(text):
        w = w.lower()
        if len(w) <= 2:
            out.add(w)
        else:
            out.update(w[i : i + 2] for i in range(len(w) - 1))
    return out


_STOP = _bigrams(_STOP_WORDS)


@register
class AnswerMismatch(Check):
    name = "answer_mismatch"
    label = N_("Answer off the instruction")
    description = N_(
        "Answer shares nothing with its instruction and reads as a reply to something else (e.g."
        " customer service)"
    )
    severity = "error"
    family = "quality"
    flag = "misaligned"

    def run(self, sample: SampleView) -> list[Finding]:
        q = " ".join(t.text for t in sample.turns if t.role in ("instruction", "input", "context"))
        a = next((t for t in sample.turns if t.role in ("output", "response")), None)
        if a is None or not q or len(a.text) < 12:
            return []
        ga, gq = _bigrams(a.text) - _STOP, _bigrams(q) - _STOP
        if not ga or not gq or ga & gq:
            return []
        m = _SERVICE.search(a.text)
        if m and not _SERVICE_TOPIC.search(q):
            return [
                self.finding(
                    N_(
                        "the answer shares no word with the instruction and reads as a"
                        " customer-service reply ({text!r})"
                    ),
                    params={"text": m.group(0)},
                    turn=a,
                    span=(m.start(), m.end()),
                )
            ]
        return []


# ---------------------------------------------------------------------------------------------
# encoding debris

_DEBRIS = re.compile(
    r"\ufffd|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|[\x80-\x9f]"
    r"|(?:[ÃÂì][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]){2,}|ì[•–—œ]|ë[‹‹Š]|í[•˜]"
)


_DEBRIS_HINT = re.compile(
    r"[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00c2\u00c3\u00eb\u00ec\u00ed]"
)


@register
class EncodingDebris(Check):
    name = "encoding"
    label = N_("Encoding debris")
    description = N_(
        "Encoding debris: replacement characters, control characters, mojibake (UTF-8 read as"
        " Latin-1)"
    )
    severity = "error"
    family = "quality"
    flag = "other"

    gate_text = (_DEBRIS_HINT,)

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            if not _DEBRIS_HINT.search(t.text):
                continue
            m = _DEBRIS.search(t.text)
            if m:
                out.append(
                    self.finding(
                        N_("encoding debris {text!r} at {at}"),
                        params={"text": m.group(0), "at": m.start()},
                        turn=t,
                        span=(m.start(), m.end()),
                    )
                )
        return out


# ---------------------------------------------------------------------------------------------
# PII

# every pattern below needs an '@' or two runs of 3+ digits (phone, RRN, card)
# two runs of 3+ digits close together: what every pattern below but the e-mail needs (apart from
# "@", which a string search finds faster than any pattern)
_DIGIT_RUNS = re.compile(r"\d{3,}\D{0,3}\d{3,}")
_PHONE = re.compile(
    r"(?<![\d-])(?:01[016789]|0(?:2|[3-6][1-5]|70))[-. ]?\d{3,4}[-. ]?\d{4}(?![\d-])"
)
_RRN = re.compile(r"(?<!\d)(\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\s?-\s?([1-8])\d{6}(?!\d)")
# the domain ends in a top-level domain of letters: `ssh-deploy@v2.2.13` (a git ref, a version) is
# no address
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,24}\b(?![.\w-]*\d)")
_CARD = re.compile(r"(?<!\d)(?:\d{4}[- ]){3}\d{4}(?!\d)|(?<![\d-])\d{16}(?![\d-])")
_EXAMPLE_MAIL = re.compile(
    r"@(?:example|test|domain|email|company|yourdomain|mydomain)\.|^(?:user|name|your|john|jane)"
    r"(?:\.\w+)?@",
    re.I,
)


def _luhn(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


@register
class Pii(Check):
    name = "pii"
    label = N_("Personal data")
    description = N_(
        "Personal data: Korean phone numbers, resident registration numbers, e-mail addresses, card"
        " numbers"
    )
    severity = "warning"
    family = "quality"
    flag = "pii"

    gate_text = ("@", _DIGIT_RUNS)

    def run(self, sample: SampleView) -> list[Finding]:
        out: list[Finding] = []
        for t in sample.turns:
            s = t.text
            if "@" not in s and not _DIGIT_RUNS.search(s):
                continue
            for m in _RRN.finditer(s):
                out.append(
                    self.finding(
                        N_("resident registration number"),
                        params={},
                        turn=t,
                        span=(m.start(), m.end()),
                        severity="error",
                        kind="rrn",
                    )
                )
            for m in _PHONE.finditer(s):
                out.append(
                    self.finding(
                        N_("phone number {text!r}"),
                        params={"text": m.group(0)},
                        turn=t,
                        span=(m.start(), m.end()),
                        kind="phone",
                    )
                )
            for m in _CARD.finditer(s):
                digits = re.sub(r"\D", "", m.group(0))
                if _luhn(digits) and len(set(digits)) > 2:
                    out.append(
                        self.finding(
                            N_("card number"),
                            params={},
                            turn=t,
                            span=(m.start(), m.end()),
                            severity="error",
                            kind="card",
                        )
                    )
            if "@" in s:
                for m in _EMAIL.finditer(s):
                    if not _EXAMPLE_MAIL.search(m.group(0)):
                        out.append(
                            self.finding(
                                N_("e-mail address {text!r}"),
                                params={"text": m.group(0)},
                                turn=t,
                                span=(m.start(), m.end()),
                                kind="email",
                            )
                        )
        return out
