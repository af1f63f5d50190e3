"""Every importer on the real excerpts (../shared/data) and on our own small fixtures
(tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from store_helpers import DATA, counts, sample  # noqa: E402

from kocurate.errors import AlreadyImported
from kocurate.ingest import import_files


def test_koalpaca_v10_with_alpaca_source(engine: Engine, shared_data: Path) -> None:
    rep = import_files(
        engine,
        "koalpaca",
        shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json",
        shared_data / "alpaca_en/alpaca_data.first335.json",
    )
    # the English excerpt holds the first 335 rows: those align, the other 705 Korean rows find none
    assert (rep.samples, rep.turns, rep.aligned, rep.ambiguous, rep.unaligned) == (
        1040,
        3120,
        335,
        0,
        705,
    )
    assert counts(engine) == (1, 1040, 3120)
    smp, turns = sample(engine, rep.dataset_id, "5")
    assert [t.role for t in turns] == ["instruction", "input", "output"]
    # the Korean text is written once: mt_text stays NULL until the first edit keeps it there
    assert turns[0].text == "홀수 중 하나를 밝히세요." and turns[0].mt_text is None
    assert (
        turns[0].source_text == "Identify the odd one out."
        and turns[0].source_kind == "translation"
    )
    assert (
        turns[1].text == "트위터, 인스타그램, 텔레그램"
        and turns[1].source_text == "Twitter, Instagram, Telegram"
    )
    # outputs were regenerated in Korean upstream: the English output is reference only
    assert (
        turns[2].text == "텔레그램입니다."
        and turns[2].source_text == "Telegram"
        and turns[2].source_kind == "reference"
    )
    assert (smp.align_status, smp.source_key, smp.position) == ("aligned", "5", 5)
    smp, turns = sample(engine, rep.dataset_id, "17")
    assert "반환 계승" in turns[1].text and "return factorial" in (turns[1].source_text or "")
    smp, turns = sample(engine, rep.dataset_id, "500")
    assert smp.align_status == "unaligned" and all(t.source_text is None for t in turns)
    assert turns[0].text  # the Korean text is kept even without a source


def test_kovicuna_with_sharegpt_source_joined_by_id(engine: Engine, shared_data: Path) -> None:
    rep = import_files(
        engine,
        "sharegpt",
        shared_data / "sharegpt_deepl_ko/kovicuna_style_QWJhYvA_0_i6IyJda_0.json",
        shared_data / "sharegpt_en/sharegpt_V3_first5.json",
    )
    assert (rep.samples, rep.turns, rep.unaligned) == (2, 14, 0)
    en = {
        r["id"]: r
        for r in json.loads((shared_data / "sharegpt_en/sharegpt_V3_first5.json").read_text())
    }
    smp, turns = sample(engine, rep.dataset_id, "QWJhYvA_0")
    assert [t.role for t in turns] == ["user", "assistant"] * 6
    assert turns[0].source_text == en["QWJhYvA_0"]["conversations"][0]["value"]
    assert turns[0].text.startswith(
        "고객을 위해 이러한 전략과 전술을 구현하는 성장 마케팅 대행사와 관련하여 Jeff Walker의"
    )
    assert all(t.source_kind == "translation" for t in turns)
    # real defect: Korean human turn 6 starts with the tail of the previous answer → marked for
    # review
    assert turns[6].text.startswith("에서 희소성과 긴급성이")
    assert smp.align_status == "ambiguous"
    smp, turns = sample(engine, rep.dataset_id, "i6IyJda_0")
    assert smp.align_status == "id" and len(turns) == 2
    assert (
        turns[0].source_text
        == "How to tell if a customer segment is well segmented? In 3 bullet points."
    )


def test_sharegpt_english_only_first_turn_gpt(engine: Engine, shared_data: Path) -> None:
    rep = import_files(engine, "sharegpt", shared_data / "sharegpt_en/sharegpt_V3_first5.json")
    assert (rep.samples, rep.turns, rep.no_source) == (5, 35, 5)
    smp, turns = sample(engine, rep.dataset_id, "hRPPgZT_11")
    assert len(turns) == 7 and turns[0].role == "assistant" and turns[1].role == "user"
    assert turns[0].text.startswith("Lo and behold! By the grace of divine intervention")
    assert smp.align_status == "none" and turns[0].source_text is None


def test_turn_pairs_inline_source(engine: Engine, shared_data: Path) -> None:
    path = shared_data / "sharegpt_deepl_ko/ko_shargpt_deepl_cleaned.en_ko_pairs.json"
    rep = import_files(engine, "sharegpt_pairs", path)
    assert (rep.samples, rep.turns, rep.unaligned) == (987, 987, 0)
    assert rep.aligned + rep.ambiguous == 987 and rep.aligned > 850
    rows = json.loads(path.read_text())
    smp, turns = sample(engine, rep.dataset_id, "0")
    assert len(turns) == 1 and turns[0].role == "turn"
    assert turns[0].text == rows[0]["output"] and turns[0].source_text == rows[0]["input"]
    assert turns[0].text.startswith("고객을 위해 이러한 전략과 전술을 구현하는")
    assert smp.align_status == "aligned"


def test_dolly_english_only(engine: Engine, shared_data: Path) -> None:
    rep = import_files(
        engine,
        "dolly",
        shared_data / "dolly_en/databricks-dolly-15k.first12.jsonl",
        name="dolly-en",
    )
    assert (rep.samples, rep.turns, rep.no_source) == (12, 36, 12)
    smp, turns = sample(engine, rep.dataset_id, "1")
    assert [t.role for t in turns] == ["instruction", "context", "response"]
    assert (
        turns[0].text == "Which is a species of fish? Tope or Rope"
        and turns[1].text == ""
        and turns[2].text == "Tope"
    )
    assert smp.meta == {"category": "classification"} and smp.align_status == "none"


def test_koalpaca_v11_no_source(engine: Engine, shared_data: Path) -> None:
    rep = import_files(
        engine,
        "koalpaca_v11",
        shared_data / "koalpaca_v1.1/KoAlpaca_v1.1.first2.reconstructed.jsonl",
    )
    assert (rep.samples, rep.turns) == (2, 4)
    assert rep.name == "KoAlpaca_v1.1.first2.reconstructed"
    smp, turns = sample(engine, rep.dataset_id, "0")
    assert [t.role for t in turns] == ["instruction", "output"]
    assert turns[0].text == "양파는 어떤 식물 부위인가요? 그리고 고구마는 뿌리인가요?"
    assert smp.meta["url"].startswith("https://") and smp.align_status == "none"


def test_dolly_ko_fixture_with_source_repairs_a_dropped_row(engine: Engine) -> None:
    rep = import_files(engine, "dolly", DATA / "dolly_ko.jsonl", DATA / "dolly_en.jsonl")
    assert (rep.samples, rep.turns, rep.aligned, rep.ambiguous, rep.unaligned) == (5, 15, 5, 0, 0)
    # Korean row 3 follows a row dropped upstream: it pairs with English row 4, not 3
    smp, turns = sample(engine, rep.dataset_id, "3")
    assert smp.source_key == "4" and smp.meta == {"category": "summarization"}
    assert turns[0].source_text == "Summarize what the text says about the Seoul subway."
    assert turns[1].text.startswith("서울 수도권 전철은 23개 노선")
    smp, _ = sample(engine, rep.dataset_id, "0")
    assert smp.source_key == "0"


def test_guanaco_fixture_with_source(engine: Engine) -> None:
    rep = import_files(engine, "guanaco", DATA / "guanaco_ko.jsonl", DATA / "guanaco_en.jsonl")
    assert (rep.samples, rep.turns, rep.aligned) == (4, 10, 4)
    smp, turns = sample(engine, rep.dataset_id, "1")
    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[2].text == "그럼 500은요?" and turns[2].source_text == "And 500?"
    assert turns[3].text == "500은 내부 서버 오류입니다."


def test_same_files_twice_is_a_no_op(engine: Engine) -> None:
    import_files(engine, "dolly", DATA / "dolly_ko.jsonl", DATA / "dolly_en.jsonl")
    before = counts(engine)
    with pytest.raises(AlreadyImported) as exc:
        import_files(
            engine, "dolly", DATA / "dolly_ko.jsonl", DATA / "dolly_en.jsonl", name="another-name"
        )
    assert "already imported" in str(exc.value) and exc.value.dataset_id > 0
    assert counts(engine) == before


def test_real_excerpt_twice_is_a_no_op(engine: Engine, shared_data: Path) -> None:
    path = shared_data / "koalpaca_v1.1/KoAlpaca_v1.1.first2.reconstructed.jsonl"
    import_files(engine, "koalpaca_v11", path)
    before = counts(engine)
    with pytest.raises(AlreadyImported):
        import_files(engine, "koalpaca_v11", path)
    assert counts(engine) == before == (1, 2, 4)


# -- issue 13: types, numbering, licences, audit
# -------------------------------------------------------


@pytest.mark.parametrize(
    "value,words",
    [(42, "got a number (42)"), (True, "got true/false (true)"), (1.5, "got a number (1.5)")],
)
def test_numbers_where_text_belongs_are_refused(
    engine: Engine, tmp_path: Path, value: object, words: str
) -> None:
    from kocurate.errors import ImportFailed

    rows = [
        {"instruction": "지시", "input": "", "output": "출력"},
        {"instruction": "지시 2", "input": "", "output": value},
    ]
    path = tmp_path / "ko_alpaca_data.json"
    path.write_text(
        "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]",
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "koalpaca", path)
    # records and lines counted from 1 alike: the second record starts on line 3 of this file
    assert str(exc.value).startswith(
        "ko_alpaca_data.json, record 2, line 3, field 'output': expected text, " + words
    ), str(exc.value)
    assert counts(engine) == (0, 0, 0)
    jl = tmp_path / "kin.jsonl"
    jl.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    with pytest.raises(ImportFailed, match="^kin.jsonl, line 2, field 'output'"):
        import_files(engine, "koalpaca", jl)


def test_licence_only_for_known_files(engine: Engine, tmp_path: Path, actors: dict) -> None:
    from sqlalchemy import select

    from kocurate.db import session_scope
    from kocurate.models import AuditEvent, Dataset
    from kocurate.services import datasets as ds_service

    rows = json.dumps([{"instruction": "지시", "input": "", "output": "출력"}], ensure_ascii=False)
    known = tmp_path / "ko_alpaca_data.json"
    known.write_text(rows, encoding="utf-8")
    other = tmp_path / "my_own_data.json"
    other.write_text(rows.replace("출력", "다른 출력"), encoding="utf-8")
    given = tmp_path / "given.json"
    given.write_text(rows.replace("출력", "세 번째"), encoding="utf-8")
    lead = actors["lead"]
    ds_service.import_dataset(engine, lead, "koalpaca", known, index=False, checks=False)
    ds_service.import_dataset(engine, lead, "koalpaca", other, index=False, checks=False)
    ds_service.import_dataset(
        engine, lead, "koalpaca", given, licence="CC0-1.0", index=False, checks=False
    )
    with session_scope(engine) as s:
        lic = dict(s.execute(select(Dataset.name, Dataset.licence)).tuples().all())
        events = list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == "import").order_by(AuditEvent.id)
            )
        )
    assert lic == {"ko_alpaca_data": "CC-BY-NC-4.0", "my_own_data": None, "given": "CC0-1.0"}
    assert [(e.username, e.target, e.details["samples"]) for e in events] == [
        ("lead", "ko_alpaca_data", 1),
        ("lead", "my_own_data", 1),
        ("lead", "given", 1),
    ]
    assert events[0].dataset_id and events[0].details["licence"] == "CC-BY-NC-4.0"


def test_cli_import_asks_for_an_unknown_licence(db_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kocurate.cli import app

    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps([{"instruction": "지시", "input": "", "output": "출력"}], ensure_ascii=False),
        encoding="utf-8",
    )
    out = CliRunner().invoke(
        app, ["--db", db_url, "import", "koalpaca", str(path), "--no-index", "--no-checks"]
    )
    assert out.exit_code == 0 and "licence unknown" in out.output and "--licence" in out.output


def test_a_file_of_another_kind_is_refused_with_the_kinds_it_fits(
    db_url: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from kocurate.cli import app
    from kocurate.importers import kinds_for_file

    pairs = tmp_path / "pairs.json"
    pairs.write_text(
        json.dumps(
            [{"instruction": "translate", "input": "Hello there.", "output": "안녕하세요."}],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    chats = tmp_path / "chats.json"
    chats.write_text(
        json.dumps(
            [{"id": "a1", "conversations": [{"from": "human", "value": "Hi"}]}], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    assert "sharegpt_pairs" in kinds_for_file(pairs, "sharegpt")
    assert kinds_for_file(pairs, "sharegpt_pairs") == []  # it fits: nothing to suggest
    assert "sharegpt" in kinds_for_file(chats, "koalpaca")
    # a file of the right kind with one bad record later: no suggestion, the record is the fault
    later = tmp_path / "later.jsonl"
    later.write_text(
        '{"instruction": "지시", "output": "출력"}\n{"instruction": "지시"}\n', encoding="utf-8"
    )
    assert kinds_for_file(later, "koalpaca") == []

    def kc(*args: str | Path) -> tuple[int, str]:
        r = CliRunner().invoke(app, ["--db", db_url, *[str(a) for a in args]])
        return r.exit_code, r.output

    code, out = kc("import", "sharegpt", pairs, "--no-index", "--no-checks")
    assert code == 2 and "field 'conversations': missing field" in out, out
    assert "hint: its first record does not have the shape of 'sharegpt'" in out, out
    assert "'sharegpt_pairs'" in out and "Traceback" not in out
    # the wrong English file: the hint asks whether it is this dataset's source
    ko = tmp_path / "ko.json"
    ko.write_text(
        json.dumps([{"instruction": "지시", "input": "", "output": "출력"}], ensure_ascii=False),
        encoding="utf-8",
    )
    code, out = kc("import", "koalpaca", ko, "--source", chats, "--no-index", "--no-checks")
    assert code == 2 and "hint: the English file's first record" in out, out
    assert "English source of this dataset" in out
    code, out = kc("import", "koalpaca", later, "--no-index", "--no-checks")
    assert code == 2 and "line 2, field 'output'" in out and "hint" not in out, out
    code, out = kc("datasets")
    assert "pairs" not in out and "later" not in out  # nothing was imported
