"""Automatic checks on the real excerpts: each known DeepL/KoAlpaca defect is found by the right
check, a sample of clean rows is not; findings, pre-flags and incremental re-runs in the real
database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kocurate import db
from kocurate.checks import SampleView, TurnView, run_after_import, run_samples, select_checks
from kocurate.cli import app
from kocurate.errors import PermissionDenied
from kocurate.ingest import import_files
from kocurate.models import CheckFinding, Flag, Sample, Turn
from kocurate.services import checks as svc
from kocurate.services import review
from kocurate.services.auth import Actor

DEFECT_CHECKS = {
    "false_friends",
    "task_lost",
    "code_identifiers",
    "answer_mismatch",
    "misaligned",
    "stray_chars",
    "untranslated",
    "truncated",
    "negation",
}


def _findings(engine: Engine, dataset_id: int) -> dict[str, list[tuple[str, str, str]]]:
    """sample key -> [(check, severity, message)]"""
    out: dict[str, list[tuple[str, str, str]]] = {}
    with Session(engine) as s:
        for key, check, sev, msg in s.execute(
            select(Sample.key, CheckFinding.check, CheckFinding.severity, CheckFinding.message)
            .join(Sample, Sample.id == CheckFinding.sample_id)
            .where(CheckFinding.dataset_id == dataset_id)
        ):
            out.setdefault(key, []).append((check, sev, msg))
    return out


def _checks_of(found: dict[str, list[tuple[str, str, str]]], key: str) -> set[str]:
    return {c for c, _, _ in found.get(key, [])}


@pytest.fixture
def koalpaca(engine: Engine, shared_data: Path) -> int:
    rep = import_files(
        engine,
        "koalpaca",
        shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json",
        shared_data / "alpaca_en/alpaca_data.first335.json",
        name="koalpaca",
    )
    return rep.dataset_id


@pytest.fixture
def pairs(engine: Engine, shared_data: Path) -> int:
    rep = import_files(
        engine,
        "sharegpt_pairs",
        shared_data / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json",
        name="pairs",
    )
    return rep.dataset_id


def test_koalpaca_known_defects(engine: Engine, koalpaca: int, actors: dict[str, Actor]) -> None:
    summary = svc.run_checks(engine, actors["lead"], "koalpaca")
    assert summary["samples"] == 1040
    found = _findings(engine, koalpaca)
    # index 5: "Identify the odd one out." -> 홀수 ("odd number")
    assert any(c == "false_friends" and "홀수" in m for c, _, m in found["5"])
    # index 120: the (French) input "Il est incroyable." became 파괴할 수 없습니다
    # ("indestructible")
    assert any(c == "negation" for c, _, _ in found["120"])
    # index 9: the misspelled English input became correct Korean; the Korean answer says "no error"
    lost = [f for f in found["9"] if f[0] == "task_lost"]
    assert lost and lost[0][1] == "error" and "finnished" in lost[0][2]
    # index 17: identifiers translated inside code (계승 = 1 … 반환 계승)
    assert any(c == "code_identifiers" and "계승" in m for c, _, m in found["17"])
    # 70-78: customer-service replies under unrelated instructions
    for i in range(70, 79):
        assert "answer_mismatch" in _checks_of(found, str(i)), i
    # the row after them really is about customer service: not flagged
    assert "answer_mismatch" not in _checks_of(found, "79")
    # a sample of clean rows: no defect finding at all
    clean = [
        0,
        1,
        2,
        3,
        4,
        6,
        7,
        8,
        11,
        12,
        13,
        14,
        15,
        16,
        18,
        19,
        20,
        21,
        22,
        23,
        24,
        25,
        40,
        50,
        60,
        69,
        80,
        100,
    ]
    for i in clean:
        assert not (_checks_of(found, str(i)) & DEFECT_CHECKS), (i, found.get(str(i)))
    # answer_mismatch fires only on the real block (plus nothing else among 1,040 rows)
    assert {k for k, fs in found.items() if any(c == "answer_mismatch" for c, _, _ in fs)} == {
        str(i) for i in range(70, 79)
    }
    # error findings with a flag category became active pre-flags by origin "check"
    with Session(engine) as s:
        sid17 = s.scalar(select(Sample.id).where(Sample.dataset_id == koalpaca, Sample.key == "17"))
        flags = s.execute(
            select(Flag.category, Flag.origin, Flag.state).where(Flag.sample_id == sid17)
        ).all()
    assert ("code_broken", "check", "active") in flags


def test_turn_pair_defects(engine: Engine, pairs: int, actors: dict[str, Actor]) -> None:
    svc.run_checks(engine, actors["lead"], "pairs")
    found = _findings(engine, pairs)

    def msgs(key: str, check: str) -> list[str]:
        return [m for c, _, m in found.get(key, []) if c == check]

    assert any("'n'" in m for m in msgs("14", "stray_chars"))  # 'n Java에서 …'
    assert any("'rm'" in m for m in msgs("21", "stray_chars"))  # 'rm자, 보세요! …'
    assert any("'D'" in m for m in msgs("61", "stray_chars"))  # '… 위의 코드D'
    assert any(
        "광석" in m for m in msgs("19", "false_friends")
    )  # 'more perplexity' -> '광석 당혹감'
    assert any("당혹" in m for m in msgs("19", "false_friends"))
    # key 6: the Korean turn carries another turn's content; the check names a better neighbour
    assert any("fits the English of sample" in m for m in msgs("6", "misaligned"))
    assert msgs("45", "untranslated")  # left in Turkish
    assert msgs("875", "truncated")  # 2,545 Korean characters for 24,933 English
    assert msgs("14", "placeholders")  # {object} / {place} translated to {객체} / {장소}
    assert msgs(
        "30", "negation"
    )  # 'double the length' -> '길이를 변경할 수 없습니다.' (meaning inverted)
    assert {k for k, fs in found.items() if any(c == "negation" for c, _, _ in fs)} == {"30"}
    # clean turns: nothing from the defect checks
    for key in [
        "0",
        "1",
        "2",
        "3",
        "4",
        "8",
        "10",
        "11",
        "12",
        "13",
        "15",
        "16",
        "17",
        "18",
        "20",
        "22",
    ]:
        assert not (_checks_of(found, key) & DEFECT_CHECKS), (key, found.get(key))
    # acronyms the source has, and names, are not stray characters
    for key in ["108", "235", "261", "618", "923"]:  # OOP, RCS, SQL, SAS, NBA
        assert not msgs(key, "stray_chars"), key


def test_incremental_rerun_and_preflag_lifecycle(
    engine: Engine, koalpaca: int, actors: dict[str, Actor]
) -> None:
    lead, ann = actors["lead"], actors["annotator"]
    first = svc.run_checks(engine, lead, "koalpaca")
    again = svc.run_checks(engine, lead, "koalpaca")
    assert first["samples"] == 1040 and again["samples"] == 0 and again["findings"] == 0
    with Session(engine) as s:
        sid = s.scalar(select(Sample.id).where(Sample.dataset_id == koalpaca, Sample.key == "17"))
        version = s.scalar(select(Sample.version).where(Sample.id == sid))
        turn = s.scalars(select(Turn).where(Turn.sample_id == sid, Turn.role == "input")).one()
        turn_id, fixed = turn.id, turn.text.replace("계승", "factorial").replace("반환", "return")
        n_before = s.scalar(
            select(CheckFinding.id).where(
                CheckFinding.sample_id == sid, CheckFinding.check == "code_identifiers"
            )
        )
    assert n_before is not None
    with db.session_scope(engine) as s:  # an annotator fixes the code through the review service
        review.save_edit(s, ann, sid, turn_id, fixed, version)
    third = svc.run_checks(engine, lead, "koalpaca")
    assert third["samples"] == 1  # only the edited sample
    with Session(engine) as s:
        # the fix closed the finding (kept as history, "resolved by edit"), none is open
        assert s.scalar(
            select(CheckFinding.state).where(
                CheckFinding.sample_id == sid, CheckFinding.check == "code_identifiers"
            )
        ) in (None, "resolved")
        assert (
            s.scalar(select(Flag.id).where(Flag.sample_id == sid, Flag.category == "code_broken"))
            is None
        )
        # a pre-flag an annotator cleared is not suggested again
        sid5 = s.scalar(select(Sample.id).where(Sample.dataset_id == koalpaca, Sample.key == "5"))
        flag5 = s.scalar(
            select(Flag.id).where(Flag.sample_id == sid5, Flag.category == "mistranslation")
        )
    assert flag5 is not None
    with db.session_scope(engine) as s:
        review.set_flag_state(s, ann, flag5, "cleared")
    fourth = svc.run_checks(engine, lead, "koalpaca")
    assert fourth["samples"] == 1
    with Session(engine) as s:
        states = s.scalars(
            select(Flag.state).where(Flag.sample_id == sid5, Flag.category == "mistranslation")
        ).all()
        assert states == ["cleared"]
        # the finding itself is still shown (it is what the check sees), the flag decision stands
        assert (
            s.scalar(
                select(CheckFinding.id).where(
                    CheckFinding.sample_id == sid5, CheckFinding.check == "false_friends"
                )
            )
            is not None
        )
    # --full re-checks everything; --only runs a subset and leaves samples due
    assert svc.run_checks(engine, lead, "koalpaca", full=True)["samples"] == 1040
    with Session(engine) as s:
        s.execute(update(Sample).where(Sample.dataset_id == koalpaca).values(checked_version=0))
        s.commit()
    only = svc.run_checks(engine, lead, "koalpaca", only=["false_friends"])
    # rows 5 (odd one out -> 홀수) and 79 (diffuse the situation -> 확산)
    assert only["checks"] == ["false_friends"] and only["by_check"] == {"false_friends": 2}
    with Session(engine) as s:
        # the other checks' findings are untouched by an --only run
        assert (
            s.scalar(
                select(CheckFinding.id).where(
                    CheckFinding.dataset_id == koalpaca, CheckFinding.check == "answer_mismatch"
                )
            )
            is not None
        )
        assert svc.check_progress(s, koalpaca)["checked"] == 0
        summary = {r["check"]: r for r in svc.findings_summary(s, koalpaca)}
    assert summary["answer_mismatch"]["samples"] == 9 and summary["answer_mismatch"]["errors"] == 9


def test_permissions_after_import_and_cli(
    engine: Engine, db_url: str, koalpaca: int, actors: dict[str, Actor]
) -> None:
    with pytest.raises(PermissionDenied):
        svc.run_checks(engine, actors["annotator"], "koalpaca")
    out = run_after_import(engine, koalpaca)
    assert out[koalpaca]["samples"] == 1040 and "contamination" not in out[koalpaca]["checks"]
    with Session(engine) as s:
        # the cheap pass leaves the samples due for the full run
        assert svc.check_progress(s, koalpaca)["checked"] == 0
    runner = CliRunner()
    res = runner.invoke(app, ["--db", db_url, "checks", "list"])
    assert res.exit_code == 0 and "stray_chars" in res.output and "near_duplicate" in res.output
    res = runner.invoke(app, ["--db", db_url, "check", "koalpaca", "--only", "answer_mismatch"])
    assert res.exit_code == 0, res.output
    assert "answer_mismatch" in res.output and "9" in res.output
    # two worker processes over id ranges find the same as one process
    one = svc.run_checks(engine, actors["lead"], "koalpaca", full=True)
    two = svc.run_checks(engine, actors["lead"], "koalpaca", full=True, workers=2)
    assert two["samples"] == 1040 and two["by_check"] == one["by_check"]
    with Session(engine) as s:
        assert svc.check_progress(s, koalpaca)["checked"] == 1040
    res = runner.invoke(app, ["--db", db_url, "checks", "summary", "koalpaca"])
    assert res.exit_code == 0 and "answer_mismatch" in res.output and "9 samples" in res.output, (
        res.output
    )
    res = runner.invoke(app, ["--db", db_url, "check", "koalpaca", "--only", "no_such_check"])
    assert res.exit_code == 2 and "unknown check" in res.output
    res = runner.invoke(app, ["--db", db_url, "check", "nope"])
    assert res.exit_code == 3 and "no dataset" in res.output


# --------------------------------------------------------------------------------------------
# rule checks on small, hand-made samples (no database)


def _sample(*turns: tuple[str, str, str | None]) -> SampleView:
    return SampleView(
        1,
        1,
        [
            TurnView(i, role, ko, en, "translation" if en else None)
            for i, (role, ko, en) in enumerate(turns)
        ],
    )


def _run(name: str, sample: SampleView) -> list[str]:
    return [f.message for f in run_samples([sample], select_checks([name]))]


def test_quality_rules() -> None:
    assert _run("pii", _sample(("output", "연락처는 010-1234-5678 입니다.", None)))
    assert _run("pii", _sample(("output", "주민번호 900101-1234567 을 알려주세요", None)))
    assert _run("pii", _sample(("output", "카드 5425 2334 3010 9903 로 결제", None)))  # Luhn-valid
    assert not _run(
        "pii", _sample(("output", "카드 1234 5678 9012 3456 로 결제", None))
    )  # not Luhn-valid
    assert _run("pii", _sample(("output", "메일은 hong.gildong@naver.com 입니다", None)))
    assert not _run("pii", _sample(("output", "user@example.com 같은 예시 주소", None)))
    assert not _run("pii", _sample(("output", "2023년 3월 15일에 10,000원을 냈다", None)))
    assert _run("encoding", _sample(("output", "깨진 문자 \ufffd 가 있다", None)))
    assert _run(
        "encoding", _sample(("output", "ì•ˆë…•í•˜ì„¸ìš”", None))
    )  # 안녕하세요 read as cp1252
    assert not _run("encoding", _sample(("output", "정상적인 문장입니다. café", None)))
    assert _run("refusal", _sample(("output", "As an AI language model, I cannot do that.", None)))
    assert _run(
        "refusal", _sample(("output", "저는 AI 언어 모델로서 개인적인 의견이 없습니다.", None))
    )
    assert not _run(
        "refusal", _sample(("output", "모델을 학습시키는 방법은 다음과 같습니다.", None))
    )
    # Korean refusals: an answer that opens with an apology and cannot, or sends the asker
    # elsewhere; an answer that only asks for the input
    for text in (
        "죄송하지만 지뢰 찾기 솔버의 누락된 코드를 제공할 수 없습니다. 깊은 이해가 필요합니다.",
        "죄송합니다. 문의하신 일정은 직접 항공사나 여행사를 통해서 예약해 주시기 바랍니다.",
        "죄송하지만 텍스트 기반 모델로서 이미지나 다른 유형의 미디어는 처리할 수 없습니다.",
        "입력을 제공해 주세요.",
    ):
        assert _run("refusal", _sample(("output", text, None))), text
    # an apology for an earlier mistake that goes on to answer; a request inside a real answer
    for text in (
        "죄송합니다, 이전 답변에 오류가 있었습니다. 올바른 코드는 다음과 같습니다: print(1)",
        "혼란을 드려 죄송합니다. 수정된 버전은 다음과 같습니다.",
        "이 코드는 사용자에게 '입력을 제공해 주세요'라고 묻고 값을 읽습니다.",
        "죄송합니다. 제가 잘못 이해했습니다. 물은 섭씨 100도에서 끓습니다.",
    ):
        assert not _run("refusal", _sample(("output", text, None))), text
    assert _run(
        "empty_answer", _sample(("instruction", "설명하세요", None), ("output", "  ", None))
    )
    assert not _run(
        "empty_answer", _sample(("instruction", "6과 2의 곱은?", None), ("output", "12", None))
    )
    long_q = (
        "instruction",
        "이야기가 주어지면 주인공을 식별하세요. 존은 수년간 학교에서 어려움을 겪었습니다.",
        None,
    )
    assert not _run("empty_answer", _sample(long_q, ("output", "존", None)))
    assert _run("empty_answer", _sample(long_q, ("output", "-", None)))


def test_translation_rules() -> None:
    assert _run(
        "untranslated",
        _sample(
            (
                "user",
                "This sentence was left in English by mistake.",
                "This sentence was left in English by mistake.",
            )
        ),
    )
    partly = "파이썬은 좋습니다. The quick brown fox jumps over the lazy dog."
    assert _run(
        "untranslated",
        _sample(("user", partly, "Python is good. The quick brown fox jumps over the lazy dog.")),
    )
    assert not _run(
        "untranslated",
        _sample(
            (
                "user",
                "파이썬에서 `print()` 함수를 사용합니다.",
                "In Python, use the `print()` function.",
            )
        ),
    )
    # KoAlpaca v1.0 index 133: a string of letters, the same in both languages
    assert not _run(
        "untranslated", _sample(("input", "fjsklfjdsklfjsklfjsklfjs", "fjsklfjdsklfjsklfjsklfjs"))
    )
    assert _run(
        "numbers", _sample(("user", "인구는 1350명입니다.", "The population is 1,530 people."))
    )
    assert not _run(
        "numbers", _sample(("user", "인구는 1,530명입니다.", "The population is 1530 people."))
    )
    # KoAlpaca v1.0 index 223: a unit conversion, not a changed number
    assert not _run(
        "numbers",
        _sample(
            (
                "input",
                "우주의 나이는 약 138억 년으로 추정됩니다.",
                "The universe is estimated to be around 13.8 billion years old.",
            )
        ),
    )
    assert not _run("numbers", _sample(("user", "세 가지 팁을 주세요 2024", "Give me 3 tips 2024")))
    # the same numbers written another way (real ShareGPT pairs 272, 379; KoAlpaca 325)
    for ko, en in (
        ("흑인 여성은 7.5세 더 나이가 많다", "black women are 7 1/2 years older"),
        ("님이 2020.10.21 at 16:38에 답변했습니다", "answered Oct 21, 2020 at 16:38"),
        ("8개의 숫자 집합(1,2,3,4,5,6,7,8)이", "a set of eight numbers (1,2, 3, 4, 5, 6, 7, 8)"),
    ):
        assert not _run("numbers", _sample(("user", ko, en))), ko
    # 'perplexity' as 당혹감: right in prose (real ShareGPT pair 31), a misreading as the measure
    assert not _run(
        "false_friends",
        _sample(
            (
                "user",
                "혼란과 당혹감으로 가득한 미로",
                "a labyrinthine maze of confusion and perplexity",
            )
        ),
    )
    assert _run(
        "false_friends",
        _sample(("user", "당혹감과 폭발성을 높여", "write with high perplexity and burstiness")),
    )
    assert _run("false_friends", _sample(("user", "광석 당혹감", "more perplexity")))
    # 'diffuse' written for 'defuse' (real KoAlpaca 79)
    assert _run(
        "false_friends",
        _sample(
            (
                "user",
                "상황을 확산시키는 응답을 구성하세요.",
                "Construct a response that diffuses the situation.",
            )
        ),
    )
    assert not _run(
        "false_friends",
        _sample(("user", "빛을 확산시키는 렌즈", "a lens that diffuses the light")),
    )
    # ... but another date, another fraction or another list still differs
    assert _run("numbers", _sample(("user", "2020.10.12에 답변", "answered on 2020-10-21")))
    assert _run("numbers", _sample(("user", "7.2세 더 많다", "7 1/2 years older")))
    assert _run(
        "numbers", _sample(("user", "집합 (1,2,3,4,5,6,7,9)", "set (1, 2, 3, 4, 5, 6, 7, 8)"))
    )
    assert _run("urls", _sample(("user", "https://exmaple.com 참고", "see https://example.com")))
    assert _run("placeholders", _sample(("user", "안녕 {이름}님", "Hello {name}")))
    assert not _run("placeholders", _sample(("user", "안녕 {name}님", "Hello {name}")))
    # the same lists written another way (real ShareGPT pairs 406, 958): no space after the
    # number in the English, middle-dot bullets that DeepL turned into "-"
    for en, ko in (
        (
            "Explain:\n1.They built it.\n2.They tested it.\n3.They shipped it.",
            "설명:\r\n1. 만들었습니다.\r\n2. 시험했습니다.\r\n3. 출시했습니다.",
        ),
        (
            "Tasks:\n· Learn\n· Build\n· Ship\n· Support",
            "업무:\r\n- 배우기\r\n- 만들기\r\n- 출시\r\n- 지원",
        ),
    ):
        assert not _run("markdown", _sample(("user", ko, en))), en
    # a turn in another language: about as long as its English it is that English translated
    # into the wrong language (untranslated's finding, real pair 321), not a mis-pairing; far
    # longer than a short English turn it is an answer from elsewhere (real pair 45)
    en = "It is true that capitalism had an impact.\n\n" * 4
    it = "È davvero vero che il capitalismo neoliberista ha avuto un impatto profondo.\r\n\r\n" * 4
    assert not _run("misaligned", _sample(("assistant", it, en)))
    assert _run("untranslated", _sample(("assistant", it, en)))
    tr = (
        "PEEK'in kullanıldığı çeşitli membran üretim süreçleri bulunmaktadır: faz inversiyonu. " * 4
    )
    assert _run("misaligned", _sample(("assistant", tr, "Poly Ether Ether Ketone")))
    md_en = "Steps:\n1. one\n2. two\n3. three\n4. four\n5. five"
    assert _run("markdown", _sample(("assistant", "단계:\n1. 하나 둘 셋 넷 다섯", md_en)))
    assert not _run(
        "markdown", _sample(("assistant", "단계:\n1. 하나\n2. 둘\n3. 셋\n4. 넷\n5. 다섯", md_en))
    )
    loop = "이것은 반복되는 문장입니다. " * 30
    assert _run(
        "repetition",
        _sample(
            (
                "assistant",
                loop,
                (
                    "This is a sentence that repeats. It does not loop at all "
                    "but says a number of different things in turn."
                ),
            )
        ),
    )
    assert _run("truncated", _sample(("assistant", "짧은 번역", "A long English answer " * 20)))
    assert _run(
        "code_identifiers",
        _sample(
            (
                "input",
                "```python\ndef f(x):\n    결과 = x + 1\n    반환 결과\n```",
                "```python\ndef f(x):\n    result = x + 1\n    return result\n```",
            )
        ),
    )
    assert not _run(
        "code_identifiers",
        _sample(
            (
                "input",
                '```python\n# 결과를 반환합니다\nprint("안녕")\n```',
                '```python\n# return the result\nprint("hi")\n```',
            )
        ),
    )
    assert _run(
        "code_blocks",
        _sample(("assistant", "코드:\n```\nx = 1\n```\n```\nx = 1\n```", "Code:\n```\nx = 1\n```")),
    )
    assert _run(
        "stray_chars",
        _sample(("user", "a디지털 마케팅 이메일을 써 주세요", "Can you write an email")),
    )
    assert not _run("stray_chars", _sample(("user", "SQL이란?", "what is SQL")))
