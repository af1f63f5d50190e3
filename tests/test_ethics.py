"""Ethics pre-flagging: the lexicon with Korean obfuscations, the classifier on the real labelled
data, model pre-flags that annotators confirm/clear, and their export as training data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kocurate import db
from kocurate.checks import SampleView, TurnView, run_samples, select_checks
from kocurate.checks.ethics import classifier
from kocurate.checks.ethics.lexicon import compose_jamo, keyboard_to_hangul, load_lexicon
from kocurate.cli import app
from kocurate.errors import ImportFailed
from kocurate.ingest import import_files
from kocurate.models import Flag, Sample
from kocurate.services import checks as svc
from kocurate.services import review
from kocurate.services.auth import Actor


def cats(text: str) -> set[str]:
    return {c for c, _, _ in load_lexicon().find(text)}


@pytest.mark.parametrize(
    "text",
    [
        "씨발 진짜",
        "씨 발 놈아",
        "씨.발",
        "시1발 뭐야",
        "ㅆㅣㅂㅏㄹ",
        "ㅅㅂ 뭐하냐",
        "tlqkf 진짜",
        "씨8 짜증나",
        "이 병신아",
        "qudtls 같은",
        "18놈이",
        "개 새 끼",
    ],
)
def test_lexicon_finds_disguised_profanity(text: str) -> None:
    assert "abuse" in cats(text), text


@pytest.mark.parametrize(
    "text",
    [
        "시발점에서 출발했다",
        "수박 씨앗을 삼키기 전에 완전히 씹어 질식을 예방하세요",
        "새끼손가락을 다쳤다",
        "좌절이 닥쳐도 일어선다",
        "2018년 2월 - 현재",
        "병신년 정월",
        "토픽 주제에 대한 글",
        "곤충과 해충의 차이",
        "자위대의 활동",
        "그 시 발표회",
        "졸라의 제르미날",
        "토마토가 잘 익어 따먹기 좋습니다",
        "시저는 브루투스에게 살해당했다고 알려져 있습니다",
        "마약 중독 치료 센터",
    ],
)
def test_lexicon_leaves_innocent_words(text: str) -> None:
    assert not cats(text), (text, load_lexicon().find(text))


# neutral words that contain a lexicon term (애자, 염병, 등신, 개년, 졸라, 시발, 새끼, 한남, 병신,
# 떡치, 니미): orientation and disability terms, diseases, body proportions, counters, names and
# places
NEUTRAL_BASE = [
    "동성애자",
    "이성애자",
    "양성애자",
    "무성애자",
    "범성애자",
    "소아성애자",
    "장애자",
    "지체장애자",
    "시각장애자",
    "청각장애자",
    "신체장애자",
    "정신장애자",
    "중증장애자",
    "애자일",
    "전염병",
    "전염병학",
    "가축전염병",
    "법정전염병",
    "급성전염병",
    "감염병",
    "등신대",
    "등신상",
    "등신불",
    "팔등신",
    "구등신",
    "졸라맨",
    "니미츠",
    "떡치기",
    "시발점",
    "시발역",
    "한남역",
    "한남오거리",
    "한남동",
    "한남대교",
    "병신년",
    "병신양요",
    "병신정변",
    "에밀 졸라",
    "5개년",
    "8등신",
]


def _forms(word: str) -> list[str]:
    """The word alone and with the particles that fit it (은/는, 이/가, 을/를, 의, 에 대한)."""
    last = word[-1]
    final = (ord(last) - 0xAC00) % 28 != 0 if "\uac00" <= last <= "\ud7a3" else last in "0136785"
    return [
        word,
        word + ("은" if final else "는"),
        word + ("이" if final else "가"),
        word + ("을" if final else "를"),
        word + "의",
        word + "에 대한",
    ]


def test_lexicon_matches_on_morpheme_boundaries_only() -> None:
    lex = load_lexicon()
    words = [f for w in NEUTRAL_BASE for f in _forms(w)]
    assert len(set(words)) >= 200
    assert lex.words is not None and all(lex.words.search(w) for w in words)  # each holds a term
    assert [(w, lex.find(w)) for w in words if lex.find(w)] == []
    # in sentences, and through the check that scans whole batches
    sentences = [
        "동성애자 인권에 대한 토론",
        "이성애자와 양성애자 모두",
        "장애자 복지 예산",
        "애자일 방법론을 도입했다",
        "전염병이 퍼졌다",
        "실물 크기의 등신대를 세웠다",
        "정부는 5개년 계획을 발표했다",
    ]
    s = SampleView(1, 1, [TurnView(i, "output", t, None, None) for i, t in enumerate(sentences)])
    assert run_samples([s], select_checks(["ethics_lexicon"])) == []
    # the terms themselves, and slang compounds the tokenizer does not know, still match
    assert (
        "hate" in cats("이 애자가")
        and "abuse" in cats("염병하네")
        and "abuse" in cats("등신 같은 놈")
    )
    assert (
        "abuse" in cats("브금씨발 뭐야")
        and "hate" in cats("미개한 유럽짱개들")
        and "abuse" in cats("좆같네")
    )


def test_literal_alternation_finds_what_the_longest_first_list_finds() -> None:
    import random
    import re

    from kocurate.checks.text import literal_alternation

    rng = random.Random(7)
    alphabet = "ab가나.-"
    for _ in range(2000):
        words = {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
            for _ in range(rng.randint(1, 8))
        }
        plain = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))
        trie = re.compile(literal_alternation(words))
        for _ in range(4):
            text = "".join(rng.choice(alphabet + "c ") for _ in range(40))
            assert [(m.start(), m.group()) for m in trie.finditer(text)] == [
                (m.start(), m.group()) for m in plain.finditer(text)
            ], (words, text)


def test_batch_scan_tries_each_pattern_where_its_hints_are(tmp_path: Path) -> None:
    """A batch is scanned once for every pattern's hints, so hints inside and across one another
    and a hint in another turn than the match must still be told apart."""
    from kocurate.checks.ethics.lexicon import EthicsLexicon

    tsv = tmp_path / "lex.tsv"
    tsv.write_text(
        "abuse\tx+abcd\tregex\tabcd\n"  # 'abcd' is found by the scan as 'abcde'
        "hate\tbcdex\tregex\tcdex\n"  # 'cdex' starts inside 'abcde' and runs past it
        "sexual\tzz(?:q|w)\tregex\tzzq,zzw\n"
        "crime\tkill you\tregex\tkill \n"
        "violence\tabcde\tregex\tabcde\n",
        encoding="utf-8",
    )
    allow = tmp_path / "allow.txt"
    allow.write_text("", encoding="utf-8")
    lex = load_lexicon(str(tsv), str(allow))
    check = EthicsLexicon()
    check.lex = lex
    turns = ["xxabcdex 그리고", "zzw", "kill", "zz q"]
    s = SampleView(1, 1, [TurnView(i, "output", t, None, None) for i, t in enumerate(turns)])
    s2 = SampleView(2, 1, [TurnView(0, "output", "you kill you", None, None)])
    found = {(f.sample_id, f.flag, f.turn_idx, f.span) for f in check.run_batch([s, s2])}
    assert found == {
        (1, "abuse", 0, (0, 6)),
        (1, "hate", 0, (3, 8)),
        (1, "violence", 0, (2, 7)),
        (1, "sexual", 1, (0, 3)),
        (2, "crime", 0, (4, 12)),
    }
    # the same as the text-at-a-time path
    assert {c for c, _, _ in lex.find(turns[0])} == {"abuse", "hate", "violence"}


def test_lexicon_categories_and_helpers() -> None:
    assert "hate" in cats("김치녀들은 다 그래") and "hate" in cats("틀딱들 때문에")
    assert "discrimination" in cats("여자는 집에서 살림이나 해라")
    assert "sexual" in cats("야동 사이트 추천") and "violence" in cats("죽여버린다 진짜")
    assert (
        "crime" in cats("필로폰 구하는 곳")
        and "crime" in cats("마약 구하는 방법 알려줘")
        and "censure" in cats("정말 한심한 인간이다")
    )
    assert compose_jamo("ㅆㅣㅂㅏㄹ") == "씨발" and compose_jamo("ㅎㅏㄴㄱㅡㄹ") == "한글"
    assert keyboard_to_hangul("tlqkf") == "시발" and keyboard_to_hangul("gksrmf") == "한글"
    assert keyboard_to_hangul("hello") is None or "시발" not in keyboard_to_hangul("hello")  # type: ignore[operator]
    # the check: one finding per category per sample, with the span when found as written
    s = SampleView(1, 1, [TurnView(0, "output", "이 병신아, 죽여버린다", None, None)])
    fs = run_samples([s], select_checks(["ethics_lexicon"]))
    assert {f.flag for f in fs} == {"abuse", "violence"}
    assert all(f.span is not None for f in fs)


def test_readers(tmp_path: Path, shared_data: Path) -> None:
    koco = classifier.read_labelled(shared_data / "ethics/kocohub_labeled_train.tsv")
    assert len(koco) == 7896
    assert (
        sum("hate" in e.labels for e in koco) == 1911
        and sum("censure" in e.labels for e in koco) == 2499
    )
    curse = classifier.read_labelled(shared_data / "ethics/curse_detection_dataset.txt")  # CRLF
    assert len(curse) == 5825 and sum(bool(e.labels) for e in curse) == 2044
    assert not any(e.text.endswith("\r") for e in curse)
    aihub = tmp_path / "aihub.json"
    aihub.write_text(
        json.dumps(
            [
                {
                    "id": 1,
                    "sentences": [
                        {
                            "text": "너 같은 건 죽어야 돼",
                            "types": ["VIOLENCE", "ABUSE"],
                            "is_immoral": True,
                            "intensity": 2.0,
                        },
                        {
                            "text": "오늘 날씨 좋네요",
                            "types": ["IMMORAL_NONE"],
                            "is_immoral": False,
                            "intensity": 0,
                        },
                    ],
                }
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    ex = classifier.read_labelled(aihub)
    assert [sorted(e.labels) for e in ex] == [["abuse", "violence"], []]
    jl = tmp_path / "aihub.jsonl"
    jl.write_text(
        "\n".join(
            json.dumps(
                {"id": i, "sentences": [{"text": f"문장 {i}", "types": ["HATE"]}]},
                ensure_ascii=False,
            )
            for i in range(3)
        ),
        encoding="utf-8",
    )
    assert [sorted(e.labels) for e in classifier.read_labelled(jl)] == [["hate"]] * 3
    bad = tmp_path / "bad.txt"
    bad.write_text("좋은 말|1\n나쁜 말|maybe\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="line 2"):
        classifier.read_labelled(bad)


def test_evaluate_cli_meets_target(shared_data: Path) -> None:
    """`kocurate ethics evaluate` on a held-out 20% of kocohub + curse detection: per-category
    figures."""
    files = [
        str(shared_data / "ethics/kocohub_labeled_train.tsv"),
        str(shared_data / "ethics/curse_detection_dataset.txt"),
    ]
    res = CliRunner().invoke(app, ["ethics", "evaluate", *files, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert set(report["categories"]) >= {"hate", "censure", "discrimination", "abuse"}
    assert report["n"] == pytest.approx(0.2 * 13721, abs=5)
    assert report["hate_offensive_vs_none"]["f1"] >= 0.75  # the target
    assert report["categories"]["abuse"]["f1"] >= 0.65  # 0.658 with char+jamo, 0.676 with morphemes


@pytest.fixture(scope="module")
def tiny_model(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained once for the module (both database backends use it)."""
    ex = classifier.read_many(
        [
            shared_data / "ethics/kocohub_labeled_train.tsv",
            shared_data / "ethics/curse_detection_dataset.txt",
        ]
    )
    path = tmp_path_factory.mktemp("ethics") / "ethics.pkl"
    classifier.train(ex[::3]).save(path)
    return path


def test_model_preflags_feedback_loop(
    engine: Engine, db_url: str, tmp_path: Path, tiny_model: Path, actors: dict[str, Actor]
) -> None:
    lead, ann = actors["lead"], actors["annotator"]
    model = tiny_model
    rows = [
        {"instruction": "댓글을 요약하세요", "input": "", "output": t}
        for t in (
            "이 병신 새끼들 진짜 다 죽여버려야 됨 ㅅㅂ",
            "오늘은 날씨가 맑고 따뜻하겠습니다.",
            "씨발 좆같은 놈들 꺼져라",
            "파이썬에서 리스트를 정렬하려면 sorted 함수를 쓰면 됩니다.",
        )
    ]
    path = tmp_path / "ko.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    ds = import_files(engine, "koalpaca", path, name="mini").dataset_id
    with db.session_scope(engine) as s:
        svc.use_ethics_model(s, lead, model)
    svc.run_checks(engine, lead, "mini", only=["ethics_model"])
    with Session(engine) as s:
        flags = s.execute(
            select(Sample.key, Flag.id, Flag.category, Flag.origin, Flag.state)
            .join(Sample, Sample.id == Flag.sample_id)
            .where(Sample.dataset_id == ds)
        ).all()
    by_key: dict[str, list] = {}
    for key, fid, cat, origin, state in flags:
        assert origin == "model" and state == "active"
        by_key.setdefault(key, []).append((fid, cat))
    assert "0" in by_key and "2" in by_key  # the two abusive answers
    assert "1" not in by_key and "3" not in by_key  # weather, Python
    # an annotator confirms one suggestion, a lead clears another (only leads clear ethics flags
    # they did not set); both become training data
    with db.session_scope(engine) as s:
        review.set_flag_state(s, ann, by_key["0"][0][0], "confirmed")
        review.set_flag_state(s, lead, by_key["2"][0][0], "cleared")
    out = tmp_path / "feedback.jsonl"
    res = CliRunner().invoke(app, ["--db", db_url, "ethics", "feedback", str(out)])
    assert res.exit_code == 0, res.output
    ex = classifier.read_labelled(out)
    assert len(ex) == 2
    assert ex[0].labels == {by_key["0"][0][1]} and "병신" in ex[0].text
    assert ex[1].labels == frozenset()


def test_train_cli(tmp_path: Path, shared_data: Path) -> None:
    sample = tmp_path / "curse_part.txt"
    lines = (
        (shared_data / "ethics/curse_detection_dataset.txt")
        .read_text(encoding="utf-8")
        .splitlines()[:1500]
    )
    sample.write_text("\n".join(lines), encoding="utf-8")
    model = tmp_path / "m.pkl"
    res = CliRunner().invoke(
        app, ["ethics", "train", str(sample), "--model", str(model), "--holdout", "0.2"]
    )
    assert res.exit_code == 0, res.output
    assert model.exists() and "abuse" in res.output and "precision" in res.output
    m = classifier.load_model(model)
    assert m.categories == ["abuse"]
    res = CliRunner().invoke(app, ["ethics", "evaluate", str(sample), "--model", str(model)])
    assert res.exit_code == 0 and "abuse" in res.output


def test_kmhas_categories_map_to_aihub(tmp_path: Path, shared_data: Path) -> None:
    ex = classifier.read_labelled(shared_data / "ethics/kmhas_test.txt")
    assert len(ex) == 21939
    by_text = {e.text: e.labels for e in ex}
    assert by_text["짱개들 지나간 곳은 폐허된다 ㅋㅋ"] == {"hate", "discrimination"}  # 0 origin
    assert by_text["1. 8넘의 문재앙"] == {"hate", "abuse"}  # 2 politics, 3 profanity
    assert (
        by_text["그만큼 길예르모가 잘했다고 보면되겠지 기대되네 셰이프 오브 워터"] == frozenset()
    )  # 8 not hate speech
    bad = tmp_path / "k.tsv"
    bad.write_text("document\tlabel\n좋은 하루\t9\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="line 2.*unknown K-MHaS label '9'"):
        classifier.read_labelled(bad)


def test_calibrated_gate_reaches_the_precision_it_aims_at() -> None:
    import random

    rng = random.Random(0)
    y = [rng.random() < 0.3 for _ in range(4000)]
    p = [min(1.0, max(0.0, rng.gauss(0.7 if t else 0.35, 0.18))) for t in y]
    th = classifier.calibrate_gate([int(t) for t in y], p, 0.5)
    assert th is not None and th >= 0.5
    tp = sum(1 for t, q in zip(y, p, strict=True) if t and q >= th)
    fp = sum(1 for t, q in zip(y, p, strict=True) if not t and q >= th)
    assert tp / (tp + fp) >= classifier.GATE_PRECISION
    # the lowest such threshold: one step lower falls below the target
    lower = max(q for q in p if q < th)
    tp2 = sum(1 for t, q in zip(y, p, strict=True) if t and q >= lower)
    fp2 = sum(1 for t, q in zip(y, p, strict=True) if not t and q >= lower)
    assert tp2 / (tp2 + fp2) < classifier.GATE_PRECISION or lower < 0.5


def test_evaluate_cli_reads_any_table_with_named_columns(tmp_path: Path, tiny_model: Path) -> None:
    csv_in = tmp_path / "apeach_like.csv"
    rows = [
        ("이 병신 새끼야 꺼져", "Spoiled"),
        ("씨발 좆같은 놈들", "Spoiled"),
        ("오늘 날씨가 좋네요", "Default"),
        ("맛있는 점심 먹었어요", "Default"),
        ("파이썬 공부 중입니다", "Default"),
        ("미친놈 진짜 역겹다", "Spoiled"),
    ]
    csv_in.write_text("text,class\n" + "".join(f'"{t}",{c}\n' for t, c in rows), encoding="utf-8")
    run = CliRunner().invoke
    res = run(
        app,
        [
            "ethics",
            "evaluate",
            str(csv_in),
            "--model",
            str(tiny_model),
            "--text-col",
            "text",
            "--label-col",
            "class",
            "--positive",
            "Spoiled",
        ],
    )
    assert res.exit_code == 0, res.output
    first = res.output.splitlines()[1]
    assert (
        first.startswith("binary (unethical vs clean, default threshold")
        and "n=6 positives=3" in first
    ), res.output
    res = run(
        app,
        [
            "ethics",
            "evaluate",
            str(csv_in),
            "--model",
            str(tiny_model),
            "--text-col",
            "text",
            "--label-col",
            "class",
            "--map",
            "Spoiled=abuse",
            "--map",
            "Default=none",
            "--json",
        ],
    )
    report = json.loads(res.output)
    assert report["binary"]["positives"] == 3 and report["categories"]["abuse"]["support"] == 3
    # a wrong column, a table read without columns, a value nobody explained, a bad category: clear
    # refusals
    res = run(
        app,
        [
            "ethics",
            "evaluate",
            str(csv_in),
            "--model",
            str(tiny_model),
            "--text-col",
            "txt",
            "--label-col",
            "class",
        ],
    )
    assert res.exit_code != 0 and "no column 'txt'" in res.output and "Traceback" not in res.output
    res = run(app, ["ethics", "evaluate", str(csv_in), "--model", str(tiny_model)])
    assert res.exit_code != 0 and "--text-col" in res.output and "accepted:" in res.output
    res = run(
        app,
        [
            "ethics",
            "evaluate",
            str(csv_in),
            "--model",
            str(tiny_model),
            "--text-col",
            "text",
            "--label-col",
            "class",
        ],
    )
    assert res.exit_code != 0 and "label 'Spoiled' means nothing known" in res.output
    res = run(
        app,
        [
            "ethics",
            "evaluate",
            str(csv_in),
            "--text-col",
            "text",
            "--label-col",
            "class",
            "--map",
            "Spoiled=rude",
        ],
    )
    assert res.exit_code != 0 and "--map takes VALUE=CATEGORY" in res.output
