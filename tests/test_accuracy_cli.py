"""Accuracy fixes seen through the CLI: the import's alignment warning, TSV read by content, checks
summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import deepl.http_client
import pytest
from fake_deepl import FakeDeepL
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.models import Sample, Suggestion, Turn


def kc(db_url: str, *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", db_url, *[str(a) for a in args]])
    return result.exit_code, result.output


def test_import_warns_when_the_alignment_path_breaks_down(
    db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    ko = json.loads(
        (shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json").read_text(encoding="utf-8")
    )[:335]
    clean = tmp_path / "ko_clean.json"
    clean.write_text(json.dumps(ko, ensure_ascii=False), encoding="utf-8")
    en = shared_data / "alpaca_en/alpaca_data.first335.json"
    code, out = kc(db_url, "import", "koalpaca", clean, "--source", en, "--no-checks", "--no-index")
    assert code == 0, out
    assert "aligned 335, ambiguous 0, unaligned 0" in out and "warning" not in out
    # rows from elsewhere inserted, a duplicate, a swap: the tail still aligns, the import warns
    bad = (
        ko[:40]
        + [ko[300], ko[301]]
        + ko[40:120]
        + [ko[120]]
        + ko[120:200]
        + [ko[201], ko[200]]
        + ko[202:]
    )
    broken = tmp_path / "ko_broken.json"
    broken.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    code, out = kc(
        db_url, "import", "koalpaca", broken, "--source", en, "--no-checks", "--no-index"
    )
    assert code == 0, out
    assert "warning: alignment is unsure for" in out and "the first at record 41," in out, (
        out
    )  # 1-based: ko[300] inserted
    assert "The English file has 335 records, the Korean 338" in out, out


def test_import_warning_of_in_record_pairs_blames_the_pair_not_the_files(
    db_url: str, shared_data: Path
) -> None:
    # English and Korean in the same record (real DeepL turn pairs, one Korean turn belongs to
    # another English turn): no row can be out of step between files, the pairs themselves are
    # in doubt
    pairs = shared_data / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json"
    code, out = kc(db_url, "import", "sharegpt_pairs", pairs, "--no-checks", "--no-index")
    assert code == 0, out
    assert "pairs look mismatched" in out and "own record" in out, out
    assert "inserted, duplicated" not in out and "alignment is unsure" not in out, out


def test_small_false_alarms_seen_on_real_data() -> None:
    from kocurate.checks import SampleView, TurnView, select_checks

    def run(name: str, turns: list[tuple[str, str, str | None]]) -> list[str]:
        s = SampleView(
            1,
            1,
            [
                TurnView(i, r, ko, en, "translation" if en else None)
                for i, (r, ko, en) in enumerate(turns)
            ],
        )
        return [f.message for f in select_checks([name])[0].run(s)]

    # a git ref is no e-mail address; a real one still is
    assert run("pii", [("output", "`git push ssh-deploy@v2.2.13` 로 배포합니다.", None)]) == []
    assert run("pii", [("output", "문의: kim.minji@naver.com 으로 보내세요.", None)])
    # a one-letter name the English names on its own is no stray character; a glued stray one is
    assert (
        run(
            "stray_chars",
            [("instruction", "f의 첫 10줄을 출력하세요.", "Print the first 10 lines of f.")],
        )
        == []
    )
    assert run("stray_chars", [("output", "a디지털 시대에는", "In a digital age")])
    assert run("stray_chars", [("output", "o상완골은 팔에 있다", "The humerus is in the arm")])
    assert run(
        "stray_chars",
        [("output", "n두 번째 예제에서는 n번 실행됩니다", "In the second example it runs n times")],
    )
    # 문제 해결 in a list of skills is no customer-service reply
    assert (
        run(
            "answer_mismatch",
            [
                ("instruction", "이력서에 넣을 역량을 나열하세요.", None),
                ("output", "- 의사소통\n- 문제 해결\n- 팀워크\n- 시간 관리", None),
            ],
        )
        == []
    )
    assert run(
        "answer_mismatch",
        [
            ("instruction", "다음 문장을 3인칭으로 다시 쓰기", None),
            ("output", "고객님, 불편을 드려 죄송합니다. 환불해 드리겠습니다.", None),
        ],
    )


def test_generic_import_reads_a_tsv_named_txt_by_content_or_format(
    db_url: str, tmp_path: Path
) -> None:
    tsv = tmp_path / "X.txt"
    tsv.write_text(
        "instruction\toutput\n세 가지 팁을 알려주세요.\t물을 마시세요.\n시를 쓰세요.\t봄이 왔다.\n",
        encoding="utf-8",
    )
    code, out = kc(
        db_url,
        "import",
        "generic",
        tsv,
        "--map",
        "instruction=instruction",
        "--map",
        "output=output",
        "--no-index",
        "--no-checks",
    )
    assert code == 0 and "2 samples, 4 turns" in out, out
    csv_named = tmp_path / "Y.data"
    csv_named.write_text("instruction\toutput\n요약하세요.\t요약입니다.\n", encoding="utf-8")
    code, out = kc(
        db_url,
        "import",
        "generic",
        csv_named,
        "--format",
        "tsv",
        "--map",
        "instruction=instruction",
        "--map",
        "output=output",
        "--no-index",
        "--no-checks",
    )
    assert code == 0 and "1 samples, 2 turns" in out, out
    code, out = kc(
        db_url,
        "import",
        "generic",
        csv_named,
        "--format",
        "xml",
        "--map",
        "instruction=instruction",
        "--no-index",
        "--no-checks",
        "--name",
        "z",
    )
    assert code != 0 and "unknown format 'xml'" in out and "json, jsonl, csv, tsv" in out, out


def test_checks_summary_after_the_imports_cheap_checks(db_url: str, shared_data: Path) -> None:
    code, out = kc(
        db_url,
        "import",
        "koalpaca",
        shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json",
        "--source",
        shared_data / "alpaca_en/alpaca_data.first335.json",
        "--name",
        "ka",
        "--no-index",
    )
    assert code == 0 and "cheap checks:" in out, out
    code, out = kc(db_url, "checks", "summary", "ka")
    assert code == 0, out
    assert "the cheap checks ran on 1,040 of 1,040 samples after the import" in out, out
    assert "the full run has checked 0 of 1,040" in out


def _untranslated(turns: list[tuple[str, str, str | None, str | None]]) -> list:
    from kocurate.checks import SampleView, TurnView, select_checks

    s = SampleView(
        1, 1, [TurnView(i, r, ko, en, kind) for i, (r, ko, en, kind) in enumerate(turns)]
    )
    return select_checks(["untranslated"])[0].run(s)


def test_untranslated_catches_english_answers_under_every_source_relation() -> None:
    q = (
        "instruction",
        "물의 끓는점을 찾아보세요.",
        "Find the boiling point of water.",
        "translation",
    )
    en = "The boiling point of water is 100°C at sea level."
    for kind, src in (("reference", en), (None, None), ("translation", en)):
        fs = _untranslated([q, ("output", en, src, kind)])
        assert len(fs) == 1 and fs[0].flag == "untranslated", (
            kind,
            fs,
        )  # a pre-flag, whatever the relation
        assert fs[0].severity == ("error" if kind == "translation" else "warning")
    # a short sentence (two words and up), and English around a URL
    assert _untranslated([q, ("output", "I'm tired.", None, None)])
    assert _untranslated(
        [q, ("output", "Visit https://example.org/docs for more details.", None, None)]
    )
    # a Korean answer with an English sentence left in it
    fs = _untranslated(
        [
            q,
            (
                "output",
                "물은 해수면에서 100°C에 끓습니다.\nIt boils at a lower temperature on a mountain.",
                None,
                None,
            ),
        ]
    )
    assert fs and fs[0].severity == "warning" and "It boils" in fs[0].message


def test_untranslated_spares_names_code_latex_music_and_requested_languages() -> None:
    q = ("instruction", "목록을 작성하세요.", None, None)
    quiet = [
        (  # titles
            "- The Lord of the Rings\n- Harry Potter and the Philosopher's Stone\n- Pride and"
            " Prejudice"
        ),
        "Django, Ruby on Rails, Flask",  # names
        "def add(a, b):\n    return a + b\nprint(add(1, 2))",  # unfenced code
        "다음과 같습니다: filtered = [x for x in arr if x > 0]",  # code inside a Korean line
        "이차방정식의 해는 $x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}$ 입니다.",  # LaTeX
        "X:1\nT:Arirang\nM:3/4\nK:G\n|: D2 G2 A2 | B3 A G2 :|",  # ABC notation
        "DNA는 디옥시리보핵산(Deoxyribonucleic acid)의 줄임말입니다.",  # a gloss in brackets
        "SELECT name FROM users WHERE id = 1;",  # SQL
        # a command line in a Korean line (real ShareGPT pair 727)
        "minikube - docker run --rm -it --네트워크=호스트 알파인 연결이 거부되었습니다.",
    ]
    for text in quiet:
        assert _untranslated([q, ("output", text, None, None)]) == [], text
    # the instruction asks for French (or English), or gives English words to work on
    assert (
        _untranslated(
            [
                ("instruction", "다음 문구를 프랑스어로 번역하세요.", None, None),
                ("output", "Je veux te voir et je suis là.", None, None),
            ]
        )
        == []
    )
    assert (
        _untranslated(
            [
                ("instruction", "이 문장을 영어로 번역하세요.", None, None),
                ("output", "I want to live in this country.", None, None),
            ]
        )
        == []
    )
    assert (
        _untranslated(
            [
                ("instruction", "주어진 동사를 과거완료형으로 바꾸세요.", None, None),
                ("input", "take", None, None),
                ("output", "had taken", None, None),
            ]
        )
        == []
    )


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDeepL]:
    srv = FakeDeepL().start()
    monkeypatch.setenv("DEEPL_AUTH_KEY", "test-key")
    monkeypatch.setenv("DEEPL_SERVER_URL", srv.url)
    monkeypatch.setattr(deepl.http_client._BackoffTimer, "BACKOFF_INITIAL", 0.01)
    yield srv
    srv.stop()


def test_translate_check_untranslated_includes_reference_answers_on_request(
    db_url: str, engine: Engine, server: FakeDeepL, shared_data: Path, tmp_path: Path
) -> None:
    ko = json.loads(
        (shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json").read_text(encoding="utf-8")
    )[:20]
    en = json.loads(
        (shared_data / "alpaca_en/alpaca_data.first335.json").read_text(encoding="utf-8")
    )[:20]
    ko[10] = {**ko[10], "output": en[10]["output"]}  # ChatGPT answered in English (Julius Caesar)
    path = tmp_path / "ko.json"
    path.write_text(json.dumps(ko, ensure_ascii=False), encoding="utf-8")
    src = tmp_path / "en.json"
    src.write_text(json.dumps(en, ensure_ascii=False), encoding="utf-8")
    code, out = kc(
        db_url, "import", "koalpaca", path, "--source", src, "--name", "ka", "--no-index"
    )
    assert code == 0, out
    code, out = kc(db_url, "translate", "--dataset", "ka", "--include-reference")
    assert code != 0 and "needs --check" in out
    code, out = kc(db_url, "translate", "--dataset", "ka", "--check", "untranslated", "--yes")
    assert code == 0, out
    with session_scope(engine) as s:
        roles = set(
            s.execute(select(Turn.role).join(Suggestion, Suggestion.turn_id == Turn.id)).scalars()
        )
    assert "output" not in roles  # by default only the translated turns (instruction, input)
    code, out = kc(
        db_url,
        "translate",
        "--dataset",
        "ka",
        "--check",
        "untranslated",
        "--include-reference",
        "--yes",
    )
    assert code == 0, out
    with session_scope(engine) as s:
        rows = s.execute(
            select(Sample.key, Turn.role)
            .join(Turn, Turn.sample_id == Sample.id)
            .join(Suggestion, Suggestion.turn_id == Turn.id)
            .where(Turn.role == "output")
        ).all()
    assert [tuple(r) for r in rows] == [("10", "output")]
