"""Accuracy on real excerpts (issue 12, round 3): true hits that must still fire and near misses
that must not.

The real data is read in place from ``../shared/data`` (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path

from kocurate.checks import SampleView, TurnView, select_checks
from kocurate.checks.translation import _EN_SCALE, _EN_SCALED, _KO_SCALE, _KO_SCALED, _numbers


def _pairs(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _numbers_fire(ko: str, en: str) -> bool:
    s = SampleView(1, 1, [TurnView(0, "assistant", ko, en, "translation")])
    return bool(select_checks(["numbers"])[0].run(s))


def test_korean_number_words_add_up_and_particles_are_not_numbers() -> None:
    ko = lambda t: _numbers(t, _KO_SCALE, _KO_SCALED)  # noqa: E731
    assert (
        ko("총 27억 5천만 달러를")
        == _numbers("$2.75 billion", _EN_SCALE, _EN_SCALED)
        == {"2750000000"}
    )
    assert ko("1조 2천억 원") == {"1200000000000"}
    assert ko("3백만 명") == {"3000000"}
    assert ko("5천 명과 3만 명") == {"5000", "30000"}  # two numbers, not one sum
    assert ko("MOV AX, 7조차도") == {"7"}  # 조차 = "even", a particle
    assert ko("2조각") == {"2"} and ko("5만큼") == {"5"}
    # a number written plainly elsewhere in the text still counts
    assert _numbers(
        "$500 million of https://x.org/redeem-about-500-million", _EN_SCALE, _EN_SCALED
    ) == {"500000000", "500"}


def test_numbers_real_pairs_no_false_alarm_on_number_words_true_hits_still_fire(
    shared_data: Path,
) -> None:
    pairs = _pairs(shared_data)
    # near misses: "27억 5천만 달러" for "$2.75 billion" (pairs 201, 203); "7조차도" for "MOV AX, 7"
    # (pair 25)
    quiet = [
        i for i, p in enumerate(pairs) if "27억 5천만" in p["output"] or "7조차도" in p["output"]
    ]
    assert len(quiet) == 3, quiet
    for i in quiet:
        assert not _numbers_fire(pairs[i]["output"], pairs[i]["input"]), i
    # true hits, read and labelled by hand (benchmarks/labels/findings.tsv): numbers dropped or
    # changed
    for i in (175, 197, 200, 333, 398, 651, 875, 894):
        assert _numbers_fire(pairs[i]["output"], pairs[i]["input"]), i
    # a changed number inside a compound Korean number still fires
    assert (
        _numbers_fire("총 27억 5천만 달러를 투입했습니다.", "injecting a total of $2.75 billion")
        is False
    )
    assert _numbers_fire("총 27억 3천만 달러를 투입했습니다.", "injecting a total of $2.75 billion")


def _answer_fires(instruction: str, inp: str, answer: str, kind: str | None) -> bool:
    s = SampleView(
        1,
        1,
        [
            TurnView(0, "instruction", instruction, None, None),
            TurnView(1, "input", inp, None, None),
            TurnView(2, "output", answer, answer if kind else None, kind),
        ],
    )
    return any(f.turn_idx == 2 for f in select_checks(["untranslated"])[0].run(s))


def test_untranslated_english_word_lists_and_no_output_answers(shared_data: Path) -> None:
    ko = json.loads(
        (shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json").read_text(encoding="utf-8")
    )
    en = json.loads(
        (shared_data / "alpaca_en/alpaca_data.first335.json").read_text(encoding="utf-8")
    )
    # true hits: "<nooutput> This type of instruction…", camping items, "express regret, make
    # amends", random words, "Label1: Character data"; under koalpaca (reference), generic (none),
    # alpaca (translation)
    for i in (8, 12, 14, 19, 22, 32, 107, 133):
        for kind in ("reference", None, "translation"):
            assert _answer_fires(ko[i]["instruction"], ko[i]["input"], en[i]["output"], kind), (
                i,
                kind,
            )
    # near misses: a list of country names, a title, French the instruction asked for, code, one
    # word
    for i in (94, 181, 95, 146, 5):
        assert not _answer_fires(
            ko[i]["instruction"], ko[i]["input"], en[i]["output"], "reference"
        ), i
    # the Korean answers ChatGPT wrote: at most 1 % fire (5 of 1,040 when this test was written)
    fired = sum(_answer_fires(r["instruction"], r["input"], r["output"], None) for r in ko)
    assert fired <= 10, fired
    # a few package names in lower case are names, not prose
    assert not _answer_fires("라이브러리를 나열하세요.", "", "numpy, pandas, matplotlib", None)


def _lexicon(text: str) -> list[str]:
    s = SampleView(1, 1, [TurnView(0, "output", text, None, None)])
    return [f.message for f in select_checks(["ethics_lexicon"])[0].run(s)]


def test_lexicon_knows_group_slurs_mined_from_kmhas_and_spares_look_alikes() -> None:
    # slurs that K-MHaS comments use (mined from its lines outside the benchmark's every-40th items)
    for text in (
        "이 쪽발이 놈들은 믿을 수 없다",
        "좌빨들이 또 난리다",
        "대깨문 수준 봐라",
        "조센징이라고 부르다니",
        "빨갱이 소리 좀 그만해",
        "토착왜구 척결",
        "짱꼴라들 때문에",
    ):
        assert any(m.startswith("hate") for m in _lexicon(text)), text
    # look-alikes that are other words: spaced apart or parts of neutral words
    for text in (
        "왜 놈은 안 와?",
        "좌측 빨간 버튼을 누르세요",
        "토착 식물과 왜구의 침입",
        "문재인 대통령의 재앙 대비",
        "수꼬리 부분",
        "홍어회를 먹었다",
    ):
        assert not _lexicon(text), text


def test_ethics_model_rebuilds_the_same_from_the_same_rows(shared_data: Path) -> None:
    """benchmarks/ethics.py --save rebuilds the model instead of shipping it: training must be
    deterministic."""
    from kocurate.checks.ethics import classifier

    rows = classifier.read_many([shared_data / "ethics/curse_detection_dataset.txt"])[::6]
    train, test = classifier.split(rows, 0.2, seed=0)
    a, b = classifier.train(train, seed=0), classifier.train(train, seed=0)
    texts = [e.text for e in test] + ["ㅅㅂ 진짜", "씨ㅂ 뭐야", "좋은 아침입니다"]
    assert a.predict_proba(texts) == b.predict_proba(texts)
    assert (a.any_threshold, a.flag_threshold, a.thresholds) == (
        b.any_threshold,
        b.flag_threshold,
        b.thresholds,
    )
    # the jamo view: a disguised curse shares features with the plain one
    assert "jamo" in dict(a.vectorizer.transformer_list)
    # the morpheme view: an inflected verb shares its stem's feature with the dictionary form
    assert "죽이/VV" in classifier.morphemes("다 죽여버린다")
