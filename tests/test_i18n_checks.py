"""Check names, descriptions and findings in the reader's language: a finding keeps its message id
and parameters (``data["i18n"]``), pages render them with the catalog, old rows show their stored
English.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from kocurate import db, i18n
from kocurate.checks import REGISTRY, SampleView, TurnView, run_samples, select_checks
from kocurate.checks.texts import check_label
from kocurate.demo import create_demo
from kocurate.models import CheckFinding, Dataset, Sample, Turn
from kocurate.services import checks as check_service
from kocurate.services import users
from tests.page_helpers import open_page

ROOT = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[가-힣]")
PHONE = "010-2345-6789"


def _sample(sid: int, *pairs: tuple[str, str, str | None]) -> SampleView:
    turns = [
        TurnView(i, role, ko, en, "translation" if en else None)
        for i, (role, ko, en) in enumerate(pairs)
    ]
    return SampleView(id=sid, dataset_id=1, turns=turns, key=str(sid))


# samples that make many checks speak: untranslated English, numbers, stray characters, phone, empty
# answer, a false friend, a lost spelling task, markdown, placeholders, code fences, negation
SAMPLES = [
    _sample(
        1,
        (
            "user",
            "다음 문장의 맞춤법 오류를 고치세요: 나는 학교에 갔다.",
            "Correct the spelling errors in this sentence: I goed to scool yesterday.",
        ),
        ("assistant", "이 문장에는 오류가 없습니다.", "I went to school yesterday."),
    ),
    _sample(
        2,
        (
            "user",
            "가장 어울리지 않는 것은? 사과, 바나나, 홀수",
            "Which is the odd one out? apple, banana, car",
        ),
        (
            "assistant",
            "This answer was left in English by the machine translation, sadly enough for us.",
            "The car is the odd one out because it is not a fruit.",
        ),
    ),
    _sample(
        3,
        (
            "user",
            "n파이썬에서 {name} 변수를 쓰는 법과 2023년의 변화를 알려 주세요. 연락처 " + PHONE,
            (
                "Tell me how to use the {name} variable in Python and what changed in 2024. 1."
                " a\n2. b\n3. c"
            ),
        ),
        ("assistant", "", "Sure."),
    ),
]


def test_every_finding_keeps_a_message_id_and_reads_the_same_in_english() -> None:
    found = list(run_samples(SAMPLES, select_checks(deep=False)))
    assert len({f.check for f in found}) >= 5, sorted({f.check for f in found})
    for f in found:
        spec = f.data.get("i18n")
        assert spec and isinstance(spec["id"], str), f"{f.check}: {f.message!r} has no message id"
        assert i18n.render(spec, "en") == f.message  # the stored English is the msgid filled in
        # the id is a catalog entry (marked N_), not the formatted text
        assert "{" in spec["id"] or not spec["params"], spec


def test_check_labels_and_descriptions_are_marked_for_translation() -> None:
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    marked = {
        m[2] for m in extract_from_dir(str(ROOT / "kocurate" / "checks"), method_map, options_map)
    }
    marked |= {m[2] for m in extract_from_dir(str(ROOT), [("kocurate/checks/**.py", "python")], {})}
    for name, cls in REGISTRY.items():
        assert cls.label and cls.label in marked, f"{name}: label not marked N_()"
        assert cls.description in marked, f"{name}: description not marked N_()"


def test_old_rows_keep_their_english_and_bad_specs_fall_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    i18n.set_language("ko")
    assert i18n.finding_message("stored english", {}) == "stored english"
    assert i18n.finding_message("stored english", None) == "stored english"
    assert (
        i18n.finding_message("stored", {"i18n": {"id": "phone number {text!r}", "params": {}}})
        == "stored"
    )
    assert i18n.finding_text({"message": "x", "i18n": None}) == "x"
    assert check_label("llm_judge") == "llm_judge"  # not a registered check: its name as it is
    i18n.set_language("en")
    spec = i18n.part(
        "Markdown structure differs (Korean vs English): {diffs}",
        diffs=[i18n.part("list items {ko} vs {en}", ko=3, en=5)],
    )
    assert i18n.render(spec) == "Markdown structure differs (Korean vs English): list items 3 vs 5"


def test_korean_rendering_of_findings_and_labels() -> None:
    """With the Korean catalog every finding and label of the sample run above reads in Korean."""
    found = list(run_samples(SAMPLES, select_checks(deep=False)))
    i18n.set_language("ko")
    try:
        for f in found:
            text = i18n.finding_message(f.message, f.data)
            assert text != f.message and HANGUL.search(text), f"{f.check}: {text!r}"
            assert HANGUL.search(check_label(f.check)), f.check
        pytest.importorskip("kiwipiepy")  # the deep Korean checks' analyser
        deep = run_samples(
            [
                _sample(
                    9,
                    (
                        "user",
                        "Python는 漢字 ㄱ 운율이 있는 시를 써 줘.",
                        "Write a poem that rhymes.",
                    ),
                    (
                        "assistant",
                        (
                            "안녕하세요. 반갑습니다. 그래. 나는 밥을 먹었다. 당신은 그것을 "
                            "그들에게 주었다. 그녀는 그것을 보였다."
                        ),
                        "Hi.",
                    ),
                )
            ],
            select_checks([n for n in REGISTRY if n.startswith("ko_")]),
        )
        assert len({f.check for f in deep}) >= 4, [f.message for f in deep]
        for f in deep:
            text = i18n.finding_message(f.message, f.data)
            assert text != f.message and HANGUL.search(text), f"{f.check}: {text!r}"
            assert not re.search(r"\b(?:polite|plain|rewrite|reads|particle|pronoun)\b", text), text
        # a mixed message becomes one language: the English UI no longer shows Korean prose
        ff = next(f for f in found if f.check == "false_friends")
        assert (
            i18n.finding_message(ff.message, ff.data)
            == "'odd one out'(어울리지 않는 하나)을 '홀수'로 잘못 읽음"
        )
    finally:
        i18n.set_language("en")


# --------------------------------------------------------------------------------------- pages


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The demo with a phone number in one answer, the pii check run, and one finding from before
    findings kept a message id."""
    url = f"sqlite:///{tmp_path / 'i18n.db'}"
    create_demo(url)
    eng = db.get_engine(url)
    with db.session_scope(eng) as s:
        lead = users.authenticate(s, "lead", "lead-demo-pw")
        ds = s.scalar(select(Dataset.id).where(Dataset.name == "demo-dolly-ko"))
        sid = s.scalar(select(Sample.id).where(Sample.dataset_id == ds).order_by(Sample.id))
        s.execute(
            update(Turn)
            .where(Turn.sample_id == sid, Turn.idx == 1)
            .values(text=f"담당자 전화번호는 {PHONE}입니다.")
        )
    check_service.run_checks(eng, lead, ds, only=["pii"], full=True)
    with db.session_scope(eng) as s:
        s.add(
            CheckFinding(
                sample_id=sid,
                dataset_id=ds,
                check="retired_check",
                severity="info",
                turn_idx=1,
                message="an old finding in English",
                data={},
            )
        )
    return {"url": url, "engine": eng, "lead": lead, "ds": ds, "sid": sid}


def _texts(at: AppTest) -> str:
    return "\n".join(t.value for t in at.text)


@pytest.mark.parametrize(
    ("lang", "finding", "label"),
    [
        ("ko", f"전화번호 '{PHONE}'", "개인정보"),
        ("en", f"phone number '{PHONE}'", "Personal data"),
    ],
)
def test_review_page_shows_findings_in_the_readers_language(
    demo: dict[str, Any], lang: str, finding: str, label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(
        "review.py", demo["url"], demo["lead"], monkeypatch, {"sample": demo["sid"]}, lang=lang
    )
    assert not at.exception, [e.value for e in at.exception]
    out = _texts(at)
    assert f"{label} (" in out and finding in out, (
        out
    )  # the badge above the turn: label (severity): message
    assert (
        "an old finding in English" in out and "retired_check" in out
    )  # an old row as it was stored
    if lang == "ko":
        assert "phone number" not in out and "Personal data" not in out


@pytest.mark.parametrize(
    ("lang", "label", "description", "family"),
    [
        ("ko", "개인정보", "개인정보: 한국 전화번호, 주민등록번호, 이메일 주소, 카드 번호", "품질"),
        (
            "en",
            "Personal data",
            (
                "Personal data: Korean phone numbers, resident registration numbers, e-mail "
                "addresses, card numbers"
            ),
            "quality",
        ),
    ],
)
def test_checks_page_names_and_describes_checks_in_the_readers_language(
    demo: dict[str, Any],
    lang: str,
    label: str,
    description: str,
    family: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = open_page(
        "checks.py", demo["url"], demo["lead"], monkeypatch, {"dataset": demo["ds"]}, lang=lang
    )
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    row = table[table["check"] == "pii"].iloc[0]  # the identifier stays (links, CLI)
    assert row["label"] == label and row["description"] == description and row["family"] == family


def test_a_preflag_note_reads_in_the_readers_language() -> None:
    """The check runner stores a pre-flag's note as "{check}: {message}" in English; the Review page
    shows it through the finding behind it, in the reader's language, and other notes as written."""
    from kocurate.checks.texts import flag_note_text
    from kocurate.i18n import part

    finding = {
        "check": "numbers",
        "message": "numbers differ: missing 5, added 6",
        "data": {
            "i18n": part("numbers differ: missing {missing}, added {added}", missing="5", added="6")
        },
    }
    note = "numbers: numbers differ: missing 5, added 6"
    i18n.set_language("ko")
    try:
        shown = flag_note_text(note, [finding])
        assert shown == f"{check_label('numbers')}: {i18n.render(finding['data']['i18n'])}"
        assert shown != note and re.search("[가-힣]", shown)
    finally:
        i18n.set_language("en")
    assert flag_note_text("my own note", [finding]) == "my own note"
    assert flag_note_text(note, []) == note
