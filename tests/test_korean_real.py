"""The Korean checks on the real excerpts in ../shared/data: for each check a true hit and a
near-miss that must not fire (ids from benchmarks/labels/korean_turns.tsv). Skipped when the folder
is absent.

The excerpts are imported once into a real SQLite file (the importer and aligner as in production)
and read back as the views the check runner builds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kocurate import db
from kocurate.checks import SampleView, run_samples, select_checks

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="module")
def corpus(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, SampleView]]:
    from benchmarks.korean import load_corpus

    url = f"sqlite:///{tmp_path_factory.mktemp('korean') / 'corpus.db'}"
    db.upgrade(url)
    return {ds: {v.key: v for v in views} for ds, views in load_corpus(url).items()}


def _found(corpus: dict[str, dict[str, SampleView]], check: str, ds: str, key: str) -> list:
    return run_samples([corpus[ds][key]], select_checks([check]))


def _text(corpus: dict[str, dict[str, SampleView]], ds: str, key: str, f) -> str:  # type: ignore[no-untyped-def]
    turn = next(t for t in corpus[ds][key].turns if t.idx == f.turn_idx)
    return turn.text[f.span[0] : f.span[1]]


def test_speech_level_real(corpus: dict[str, dict[str, SampleView]]) -> None:
    # a comic script: Red says "미안해요, 전 초식동물이에요. 난 고기를 안 먹어." (DeepL switched
    # mid-line)
    found = _found(corpus, "ko_speech_level", "sharegpt_pairs", "649")
    assert len(found) == 1 and found[0].data["speaker"] == "레드"
    assert _text(corpus, "sharegpt_pairs", "649", found[0]) in ("먹어", "안돼", "됐어", "좋겠어")
    # near-misses: quoted web-search snippets in 해라체 inside a polite prompt; 합쇼체 and 해요체
    # together
    assert _found(corpus, "ko_speech_level", "sharegpt_pairs", "201") == []
    assert _found(corpus, "ko_speech_level", "sharegpt_pairs", "610") == []


def test_translationese_real(corpus: dict[str, dict[str, SampleView]]) -> None:
    # "그들은 펼쳐진 인생을 경험하며 그것을 즐겼습니다."
    found = _found(corpus, "ko_translationese", "koalpaca_v1.0", "495")
    assert len(found) == 1 and _text(corpus, "koalpaca_v1.0", "495", found[0]) == "그들"
    # near-miss: one 당신의 in an advertising slogan is idiomatic Korean
    assert _found(corpus, "ko_translationese", "koalpaca_v1.0", "392") == []


def test_particle_real(corpus: dict[str, dict[str, SampleView]]) -> None:
    # "히어로즈 오브 마이트 앤 매직 3는" (삼 ends in ㅁ: 3은)
    found = _found(corpus, "ko_particle", "sharegpt_pairs", "724")
    assert [(f.data["word"], f.data["particle"], f.data["suggestion"]) for f in found] == [
        ("3", "는", "은")
    ]
    # near-misses: "인공 지능(AI)은" goes with 지능; "SOAP을" is read 솝; "GET이" 겟
    for ds, key in (("koalpaca_v1.0", "518"), ("sharegpt_pairs", "78"), ("sharegpt_pairs", "83")):
        assert _found(corpus, "ko_particle", ds, key) == [], key


def test_spacing_real(corpus: dict[str, dict[str, SampleView]]) -> None:
    # "호스트 컴퓨터와 격리시켜 관리하는 프로세스 입니다."
    found = _found(corpus, "ko_spacing", "koalpaca_v1.0", "465")
    assert len(found) == 1 and "프로세스입니다." in found[0].data["suggestion"]
    # near-miss: the analyser would write 포함되어야합니다 and 5일 간의; DeepL's spacing is right
    assert _found(corpus, "ko_spacing", "sharegpt_pairs", "842") == []


def test_leftover_script_real(corpus: dict[str, dict[str, SampleView]]) -> None:
    found = _found(corpus, "ko_script", "koalpaca_v1.0", "535")
    assert [(f.data["kind"], _text(corpus, "koalpaca_v1.0", "535", f)) for f in found] == [
        ("hanja", "永同味")
    ]
    # near-miss: Japanese dates in a regex answer; the English source has them too
    assert _found(corpus, "ko_script", "sharegpt_pairs", "933") == []


def test_lost_task_real(corpus: dict[str, dict[str, SampleView]]) -> None:
    odd = _found(
        corpus, "ko_lost_task", "koalpaca_v1.0", "5"
    )  # "Identify the odd one out." -> 홀수
    assert (
        len(odd) == 1
        and odd[0].data["kind"] == "odd_one_out"
        and odd[0].data["action"] == "rewrite or reject"
    )
    spelling = _found(
        corpus, "ko_lost_task", "koalpaca_v1.0", "9"
    )  # the misspelled input came out correct
    assert [f.data["kind"] for f in spelling] == ["spelling_grammar"]
    assert [f.data["kind"] for f in _found(corpus, "ko_lost_task", "koalpaca_v1.0", "232")] == [
        "alphabetical"
    ]
    # near-misses: "convert a string to uppercase" is a program; "rewrite in active voice" works in
    # Korean
    assert _found(corpus, "ko_lost_task", "koalpaca_v1.0", "147") == []
    assert _found(corpus, "ko_lost_task", "koalpaca_v1.0", "31") == []


def test_labels_file_has_ids_and_verdicts_only() -> None:
    from benchmarks.korean import FINDING_LABELS, LABELS, read_finding_labels, read_labels

    labels = read_labels()
    assert len(labels) >= 400 and all(set(v.values()) <= {0, 1} for v in labels.values())
    assert sum(v["lost_task"] for v in labels.values()) >= 20
    assert all(
        len(line.split("\t")) == 9
        for line in LABELS.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    )
    assert set(read_finding_labels().values()) <= {0, 1} and FINDING_LABELS.exists()
