"""The Korean checks (issue 16) on small self-written samples: a true hit and a near-miss for each.

The real-data counterparts are in test_korean_real.py; the deep run, suggestions and speech levels
through the database in test_korean_service.py.
"""

from __future__ import annotations

import pytest

from kocurate.checks import REGISTRY, SampleView, TurnView, run_samples, select_checks
from kocurate.checks.korean import NAMES, analysis
from kocurate.checks.korean.particles import agrees, reading_batchim
from kocurate.checks.korean.spacing import apply_edits
from kocurate.checks.korean.translationese import calques, score
from kocurate.errors import UnknownName


def _sample(*turns: tuple[str, str] | tuple[str, str, str]) -> SampleView:
    views = []
    for i, t in enumerate(turns):
        role, text = t[0], t[1]
        src = t[2] if len(t) > 2 else None
        views.append(TurnView(i, role, text, src, "translation" if src else None))
    return SampleView(1, 1, views)


def _run(name: str, sample: SampleView) -> list:
    return run_samples([sample], select_checks([name]))


def _spanned(f, sample: SampleView) -> str:  # type: ignore[no-untyped-def]
    turn = next(t for t in sample.turns if t.idx == f.turn_idx)
    return turn.text[f.span[0] : f.span[1]]


def test_deep_checks_are_registered_but_not_run_by_default() -> None:
    assert set(NAMES) <= set(REGISTRY)
    assert all(REGISTRY[n].family == "korean" and not REGISTRY[n].cheap for n in NAMES)
    assert not {c.name for c in select_checks()} & set(NAMES)  # a plain check run leaves them out
    assert not {c.name for c in select_checks(cheap_only=True)} & set(NAMES)  # so does an import
    assert set(NAMES) <= {c.name for c in select_checks(deep=True)}
    assert [c.name for c in select_checks(["ko_particle"])] == ["ko_particle"]  # named: runs
    with pytest.raises(UnknownName, match="ko_particle"):
        select_checks(["ko_nonsense"])


@pytest.mark.parametrize(
    ("word", "level"),
    [
        ("있습니다.", "hapsyo"),
        ("하십시오.", "hapsyo"),
        ("있어요.", "haeyo"),
        ("하세요.", "haeyo"),
        ("그렇죠.", "haeyo"),
        ("좋아.", "hae"),
        ("했어.", "hae"),
        ("먹었다.", "haera"),
        ("먹는다.", "haera"),
        ("가자.", "haera"),
        ("방법.", None),
        ("중요한가?", None),
    ],
)
def test_speech_level_of_a_final_word(word: str, level: str | None) -> None:
    cache = analysis.LevelCache()
    assert cache.level(word) == level


def test_final_words_skip_quotes_code_and_nouns() -> None:
    text = (
        '안녕하세요. 그는 "잘 지냈어?"라고 물었다. 코드는 `x = 1` 입니다.\n- 항목\n'
        '그녀가 말했다: "나는 간다. 너도 와."\n끝났어요.'
    )
    ends = analysis.turn_endings([text], analysis.LevelCache())[0]
    words = [text[e.start : e.end] for e in ends]
    assert words == [
        "안녕하세요",
        "물었다",
        "입니다",
        "항목",
        "끝났어요",
    ]  # the quoted sentences are left out
    assert [e.level for e in ends] == ["haeyo", "haera", "hapsyo", None, "haeyo"]


def test_speech_level_mix_in_a_turn_and_near_miss() -> None:
    mixed = _sample(
        ("user", "날씨 알려줘."),
        (
            "assistant",
            "오늘은 맑습니다. 기온은 20도입니다. 우산은 필요 없어. 바람도 약해. 즐거운 하루 "
            "보내세요.",
        ),
    )
    found = _run("ko_speech_level", mixed)
    assert (
        len(found) == 1
        and found[0].severity == "warning"
        and found[0].data["kind"] == "mixed_in_turn"
    )
    assert [_spanned(f, mixed) for f in found] == ["없어"]
    assert [e[2] for e in found[0].data["endings"]] == ["hae", "hae"]
    # 합쇼체 and 해요체 together are both polite: no finding; one plain title line: no finding
    polite = _sample(
        (
            "assistant",
            "좋은 질문입니다. 먼저 물을 끓이세요. 그다음 면을 넣습니다. 3분이면 돼요.\n요리는 "
            "즐겁다.",
        )
    )
    assert _run("ko_speech_level", polite) == []
    # each character of a script keeps their own level
    script = _sample(
        (
            "assistant",
            "[두 사람이 만납니다.]\n레드: 안녕, 잘 지냈어? 나는 좋아.\n블루: 네, 잘 지냈어요. "
            "고마워요.",
        )
    )
    assert _run("ko_speech_level", script) == []
    switching = _sample(("assistant", "레드: 미안해요, 전 초식동물이에요. 난 고기를 안 먹어."))
    found = _run("ko_speech_level", switching)
    assert len(found) == 1 and found[0].data["speaker"] == "레드"


def test_speech_level_across_assistant_turns() -> None:
    conv = _sample(
        ("user", "안녕"),
        ("assistant", "안녕하세요. 무엇을 도와드릴까요? 말씀해 주세요."),
        ("user", "시 써줘"),
        ("assistant", "좋아. 바로 써 줄게. 잠깐만 기다려."),
        ("user", "고마워"),
        ("assistant", "천만에요. 또 필요하면 말씀하세요."),
    )
    found = _run("ko_speech_level", conv)
    assert [(f.turn_idx, f.data["kind"]) for f in found] == [(3, "mixed_across_turns")]


def test_speech_level_target() -> None:
    from kocurate.checks.korean.speech import SpeechLevel

    check = SpeechLevel()
    check.target = "haeyo"
    s = _sample(("assistant", "네, 가능해요. 이 방법을 추천합니다. 그건 안 돼."))
    found = list(check.run_batch([s]))
    assert len(found) == 1 and found[0].severity == "warning"  # 해체 is off the polite target
    assert [e[2] for e in found[0].data["endings"]] == ["hapsyo", "hae"]
    check.target = "hapsyo"
    only_polite = list(check.run_batch([_sample(("assistant", "가능해요. 추천합니다."))]))
    assert (
        len(only_polite) == 1 and only_polite[0].severity == "info"
    )  # polite, just not the target


def test_translationese_hit_and_near_miss() -> None:
    literal = _sample(
        (
            "assistant",
            (
                "당신이 그것을 원한다면, 그들은 그것을 당신에게 보내줄 것입니다. 그녀는 그것이 "
                "되어진다고 말했습니다."
            ),
        )
    )
    found = _run("ko_translationese", literal)
    assert len(found) == 1 and found[0].severity == "info" and found[0].data["score"] >= 6
    assert {f[2] for f in found[0].data["features"]} >= {"pronoun", "double_passive"}
    assert _spanned(found[0], literal) == "당신"
    natural = _sample(
        (
            "assistant",
            (
                "원하시면 바로 보내 드릴게요. 담당자가 내일 연락할 예정이라고 했습니다. 그 책은 "
                "도서관에 있습니다."
            ),
        )
    )
    assert _run("ko_translationese", natural) == []
    assert score("그것은 그 영화에 관한 것입니다.")[1] and calques()


@pytest.mark.parametrize(
    ("word", "batchim"),
    [
        ("Python", "x"),
        ("Java", ""),
        ("SQL", "ㄹ"),
        ("HTML", "ㄹ"),
        ("AWS", ""),
        ("RAM", None),
        ("3", "x"),
        ("2", ""),
        ("7", "ㄹ"),
        ("10", "x"),
        ("1,000", "x"),
        ("3.5", ""),
        ("string", "x"),
        ("Google", "ㄹ"),
        ("code", ""),
        ("robot", None),
        ("x", ""),
        ("n", "x"),
    ],
)
def test_reading_batchim(word: str, batchim: str | None) -> None:
    assert reading_batchim(word) == batchim


def test_particle_agreement_rules() -> None:
    assert agrees("x", "는") == "은" and agrees("", "을") == "를" and agrees("ㄹ", "으로") == "로"
    assert agrees("x", "로") == "으로" and agrees("", "과") == "와" and agrees("x", "이") is None


def test_particles_hit_and_near_miss() -> None:
    bad = _sample(("assistant", "Python는 배우기 쉽습니다. 답은 3를 더하면 됩니다. Java을 쓰세요."))
    found = _run("ko_particle", bad)
    assert [(_spanned(f, bad), f.data["suggestion"]) for f in found] == [
        ("는", "은"),
        ("를", "을"),
        ("을", "를"),
    ]
    assert all(f.severity == "error" and f.flag == "low_quality" for f in found)
    good = _sample(
        (
            "assistant",
            (
                "Python은 쉽고 Java는 깁니다. SQL로 조회하고 HTML을 씁니다. 인공 지능(AI)은 "
                "3을 7로 나눕니다. `list`는 코드입니다. $10를 냅니다. Willis(2007)가 말했습니다."
            ),
        )
    )
    assert _run("ko_particle", good) == []


def test_spacing_hit_suggestion_and_near_miss() -> None:
    text = "도커는 프로세스 입니다. 내용이 누락 된 것 같습니다. 저는 먹고있는고르는드립니다."
    bad = _sample(("assistant", text))
    found = _run("ko_spacing", bad)
    assert len(found) == 1 and found[0].severity == "warning"
    sug = found[0].data["suggestion"]
    assert "프로세스입니다" in sug and "누락된" in sug and "먹고 있는" in sug
    assert sug.replace(" ", "") == text.replace(" ", "")  # only spaces move
    # the analyser would join 해야 합니다 and split compounds: correct text gets no finding
    good = _sample(
        (
            "assistant",
            (
                "예산은 하루 20000엔을 초과하지 않아야 합니다. 뉴욕증권거래소에서 거래됩니다. "
                "사과드립니다. `for x in range(10):`에서 반복합니다."
            ),
        )
    )
    assert _run("ko_spacing", good) == []
    assert apply_edits("가나 다", [(2, 3, "delete"), (1, 1, "insert")]) == "가 나다"


def test_leftover_scripts_hit_and_near_miss() -> None:
    bad = _sample(
        (
            "assistant",
            "삼투는 유독미 (永同味) 에서 팝니다. ｐｙｔｈｏｎ을 쓰세요. 좋아요 ㅋㅋ 그리고 ㅏ "
            "입니다.",
            "Osmosis is sold at Yudokmi. Use python. Nice lol and uh.",
        )
    )
    kinds = [f.data["kind"] for f in _run("ko_script", bad)]
    assert kinds == ["hanja", "fullwidth", "jamo"]
    good = _sample(
        (
            "assistant",
            '"会議は午後"를 찾는 정규식입니다. 한글 자음 ㄱ, ㄴ, ㄷ을 배웁니다. ㅋㅋㅋ 재밌네요.',
            'A regex that finds "会議は午後". We learn the consonants.',
        )
    )
    assert _run("ko_script", good) == []


def test_lost_task_hit_reason_and_near_miss() -> None:
    odd = _sample(
        ("instruction", "홀수 중 하나를 밝히세요.", "Identify the odd one out."),
        ("input", "트위터, 인스타그램"),
        ("output", "텔레그램입니다."),
    )
    found = _run("ko_lost_task", odd)
    assert (
        len(found) == 1
        and found[0].data["action"] == "rewrite or reject"
        and "홀수" in found[0].message
    )
    assert _spanned(found[0], odd) == "홀수" and found[0].severity == "error"
    rhyme = _sample(
        (
            "instruction",
            "'강'과 운율이 맞는 단어를 찾으세요.",
            "Find a word that rhymes with river.",
        )
    )
    assert _run("ko_lost_task", rhyme)[0].data["kind"] == "rhyme"
    korean_only = _sample(
        ("instruction", "다음 목록을 알파벳 순서로 정렬하세요."), ("input", "사과, 바나나")
    )
    assert _run("ko_lost_task", korean_only)[0].data["kind"] == "alphabetical"
    # a program about strings works in Korean too; odd numbers really are numbers; an answer is no
    # task
    near = [
        _sample(
            (
                "instruction",
                "문자열을 대문자로 바꾸는 함수를 작성하세요.",
                "Write a function that converts a string to uppercase.",
            )
        ),
        _sample(
            (
                "instruction",
                "홀수 중 하나를 고르세요.",
                "Pick the odd one out of these odd numbers: 3, 5, 8.",
            )
        ),
        _sample(("assistant", "이 시는 운율이 아름답습니다.", "The poem rhymes beautifully.")),
    ]
    assert [_run("ko_lost_task", s) for s in near] == [[], [], []]
