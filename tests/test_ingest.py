"""Ingest: atomic, idempotent, bad input refused with its place named (or skipped with a report),
formats."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from store_helpers import DATA, counts, sample  # noqa: E402

from kocurate.errors import AlreadyImported, ImportFailed
from kocurate.importers.base import MAX_FIELD_CHARS
from kocurate.ingest import default_name, import_files
from kocurate.models import Dataset, Sample, Turn

GOOD = {
    "instruction": "양파는 어떤 식물 부위인가요?",
    "output": "양파는 식물의 줄기 부분입니다.",
    "url": "https://kin.naver.com/1",
}


def write_jsonl(path: Path, lines: list[str | bytes]) -> Path:
    with open(path, "wb") as fh:
        for line in lines:
            fh.write(line if isinstance(line, bytes) else line.encode("utf-8"))
            fh.write(b"\n")
    return path


def good_lines(n: int, start: int = 0) -> list[str]:
    return [
        json.dumps(
            {**GOOD, "instruction": f"질문 {i}번: {GOOD['instruction']}"}, ensure_ascii=False
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def seeded(engine: Engine) -> tuple[int, int, int]:
    """A database already holding one dataset: a refused import must leave it exactly as it is."""
    import_files(engine, "guanaco", DATA / "guanaco_ko.jsonl", DATA / "guanaco_en.jsonl")
    return counts(engine)


# (case, file lines, where, field, words of the reason)
BAD_JSONL = [
    (
        "invalid JSON",
        good_lines(2) + ['{"instruction": "질문", "output": }'],
        "line 3",
        None,
        "invalid JSON",
    ),
    (
        "missing field",
        good_lines(1) + ['{"instruction": "질문만 있고 답이 없습니다"}'],
        "line 2",
        "output",
        "missing field",
    ),
    (
        "wrong type",
        good_lines(1) + ['{"instruction": "질문", "output": ["목록", "은 안 됩니다"]}'],
        "line 2",
        "output",
        "expected text, got list",
    ),
    (
        "non-UTF-8 byte",
        good_lines(2) + [b'{"instruction": "\xed\x95\x9c\xff", "output": "x"}'],
        "line 3",
        None,
        "not UTF-8",
    ),
    (
        "10 MB field",
        good_lines(1) + [json.dumps({"instruction": "긴 답", "output": "가" * 10_000_000})],
        "line 2",
        "output",
        "too long",
    ),
    (
        "NUL character",
        good_lines(1) + ['{"instruction": "널\\u0000문자", "output": "x"}'],
        "line 2",
        "instruction",
        "NUL",
    ),
    ("not an object", good_lines(3) + ['["a", "list"]'], "line 4", None, "expected a JSON object"),
]


@pytest.mark.parametrize("case,lines,where,field,reason", BAD_JSONL, ids=[c[0] for c in BAD_JSONL])
def test_bad_jsonl_is_refused_with_its_place_and_nothing_changes(
    engine: Engine,
    seeded: tuple[int, int, int],
    tmp_path: Path,
    case: str,
    lines: list,
    where: str,
    field: str | None,
    reason: str,
) -> None:
    path = write_jsonl(tmp_path / "kin.jsonl", lines)
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "koalpaca_v11", path)
    err = exc.value
    msg = str(err)
    assert msg.startswith(f"kin.jsonl, {where}"), msg
    assert reason in msg and (err.where, err.field) == (where, field)
    if field:
        assert f"field '{field}'" in msg
    assert counts(engine) == seeded


def test_empty_file_is_refused(
    engine: Engine, seeded: tuple[int, int, int], tmp_path: Path
) -> None:
    for name, content in (
        ("empty.jsonl", b""),
        ("empty.json", b""),
        ("blank.json", b"  \n "),
        ("none.json", b"[]"),
    ):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ImportFailed) as exc:
            import_files(engine, "koalpaca", tmp_path / name)
        assert str(exc.value).startswith(f"{name}, ") and (
            "empty" in str(exc.value) or "no records" in str(exc.value)
        )
    assert counts(engine) == seeded


BAD_JSON_ARRAY = [
    (
        "missing field",
        '[{"instruction": "a", "input": "", "output": "b"},\n {"input": "", "output": "c"}]',
        "record 2, line 2",
        "instruction",
        "missing field",
    ),
    (
        "wrong type",
        (
            '[\n{"instruction": "a", "input": "", "output": "b"},\n{"instruction": "c", "output":'
            ' {"x": 1}}\n]'
        ),
        "record 2, line 3",
        "output",
        "expected text, got dict",
    ),
    (
        "a number",
        (
            '[\n{"instruction": "a", "input": "", "output": "b"},\n{"instruction": "c", "output":'
            " 42}\n]"
        ),
        "record 2, line 3",
        "output",
        "expected text, got a number (42)",
    ),
    (
        "truncated",
        '[{"instruction": "a", "input": "", "output": "b"},\n {"instruction": "c", "out',
        "record 2, line 2",
        None,
        "invalid JSON",
    ),
    ("not an array", '"just a string"', "line 1", None, "expected '[' or '{'"),
]


@pytest.mark.parametrize(
    "case,text,where,field,reason", BAD_JSON_ARRAY, ids=[c[0] for c in BAD_JSON_ARRAY]
)
def test_bad_json_array_is_refused(
    engine: Engine,
    seeded: tuple[int, int, int],
    tmp_path: Path,
    case: str,
    text: str,
    where: str,
    field: str | None,
    reason: str,
) -> None:
    path = tmp_path / "ko_alpaca.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "koalpaca", path)
    assert str(exc.value).startswith(f"ko_alpaca.json, {where}"), str(exc.value)
    assert reason in str(exc.value) and exc.value.field == field
    assert counts(engine) == seeded


def test_non_utf8_in_json_array_names_the_line(
    engine: Engine, seeded: tuple[int, int, int], tmp_path: Path
) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(
        b'[{"instruction": "a", "input": "", "output": "b"},\n{"instruction": "caf'
        + b"\xe9"
        + b'", "input": "", "output": "c"}]'
    )
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "koalpaca", path)
    assert str(exc.value).startswith("latin1.json, line 2") and "not UTF-8 (byte 0xe9" in str(
        exc.value
    )
    assert counts(engine) == seeded


@pytest.mark.parametrize("suffix,where", [(".json", "record 1, line 1"), (".jsonl", "line 1")])
def test_deeply_nested_json_is_refused(
    engine: Engine, tmp_path: Path, suffix: str, where: str
) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "dolly", path)
    assert str(exc.value) == f"deep{suffix}, {where}: invalid JSON: nested too deeply"
    assert counts(engine) == (0, 0, 0)


@pytest.mark.parametrize("blob", [b"\x1f\x8b", b"\x1f\x8b\x08\x00garbage-not-deflate"])
def test_truncated_or_corrupt_gzip_is_refused(engine: Engine, tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(blob)
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "dolly", path)
    assert str(exc.value).startswith("data.jsonl.gz, file: not a readable gzip file")
    assert counts(engine) == (0, 0, 0)


def test_failure_half_way_leaves_no_rows(
    engine: Engine, seeded: tuple[int, int, int], tmp_path: Path
) -> None:
    # 5,000 good records are written in batches before line 5,001 fails: all of it is rolled back
    path = write_jsonl(
        tmp_path / "big.jsonl",
        good_lines(5000) + ['{"instruction": "끝", "output": "답", "url": {"a": 1}}'],
    )
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "koalpaca_v11", path)
    assert str(exc.value).startswith("big.jsonl, line 5001, field 'url'")
    assert counts(engine) == seeded
    with Session(engine) as s:
        assert s.scalar(select(Dataset.id).where(Dataset.name == "big")) is None
    # the fixed file imports (nothing of the failed attempt is in the way)
    write_jsonl(path, good_lines(5001))
    rep = import_files(engine, "koalpaca_v11", path)
    assert rep.samples == 5001 and counts(engine) == (
        seeded[0] + 1,
        seeded[1] + 5001,
        seeded[2] + 10002,
    )


def test_database_failure_while_writing_rolls_everything_back(
    engine: Engine, seeded: tuple[int, int, int], tmp_path: Path
) -> None:
    # a trigger makes the database itself refuse the very last turn, after 5,000 samples were
    # written
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON turns WHEN NEW.text = '폭발' "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.text = '폭발' THEN "
                "RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON turns FOR EACH ROW EXECUTE FUNCTION boom()"
            )
    path = write_jsonl(
        tmp_path / "boom.jsonl",
        good_lines(5000)
        + [json.dumps({"instruction": "마지막", "output": "폭발"}, ensure_ascii=False)],
    )
    with pytest.raises(Exception, match="boom"):
        import_files(engine, "koalpaca_v11", path)
    assert counts(engine) == seeded
    if engine.dialect.name == "sqlite":
        # the copy indexes its turns in one statement with the insert trigger dropped inside its
        # transaction: the rollback brings the trigger back, so a later edit is indexed again
        with engine.connect() as conn:
            assert conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'turns_fts_ai'"
            ).first()


def test_bad_english_source_is_refused_too(
    engine: Engine, seeded: tuple[int, int, int], tmp_path: Path
) -> None:
    en = write_jsonl(
        tmp_path / "dolly_en.jsonl",
        [
            (DATA / "dolly_en.jsonl").read_text().splitlines()[0],
            '{"instruction": "x", "context": "", "category": "open_qa"}',
        ],
    )
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "dolly", DATA / "dolly_ko.jsonl", en)
    assert str(exc.value) == "dolly_en.jsonl, line 2, field 'response': missing field"
    assert counts(engine) == seeded


def test_skip_bad_imports_the_rest_and_writes_a_report(
    engine: Engine, seeded: tuple[int, int, int], tmp_path: Path
) -> None:
    lines = (
        good_lines(2)
        + ['{"instruction": "질문", "output": }']
        + good_lines(2, 2)
        + ['{"instruction": "답 없음"}', b'{"instruction": "\xff", "output": "x"}']
        + good_lines(1, 4)
    )
    path = write_jsonl(tmp_path / "kin.jsonl", lines)
    rep = import_files(engine, "koalpaca_v11", path, skip_bad=True)
    assert (rep.samples, rep.turns) == (5, 10)
    assert [(r["where"], r["field"]) for r in rep.skipped] == [
        ("line 3", None),
        ("line 6", "output"),
        ("line 7", None),
    ]
    report = [
        json.loads(line)
        for line in Path(rep.skipped_report).read_text(encoding="utf-8").splitlines()
    ]
    assert report == rep.skipped and Path(rep.skipped_report) == tmp_path / "kin.skipped.jsonl"
    assert report[1] == {
        "side": "ko",
        "file": "kin.jsonl",
        "where": "line 6",
        "field": "output",
        "reason": "missing field",
    }
    assert counts(engine) == (seeded[0] + 1, seeded[1] + 5, seeded[2] + 10)
    # keys keep the record's place in the file: the record after the bad line 3 is record 3
    smp, turns = sample(engine, rep.dataset_id, "3")
    assert turns[0].text.startswith("질문 2번")
    with Session(engine) as s:
        assert s.scalar(select(Dataset.meta).where(Dataset.id == rep.dataset_id))["skipped"] == 3


def test_skip_bad_with_an_explicit_report_path(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "kin.jsonl", good_lines(2) + ['{"output": "x"}'])
    rep = import_files(
        engine, "koalpaca_v11", path, skip_bad=True, report_path=tmp_path / "out" / "r.jsonl"
    )
    assert rep.samples == 2 and rep.skipped_report == str(tmp_path / "out" / "r.jsonl")
    assert "missing field" in (tmp_path / "out" / "r.jsonl").read_text(encoding="utf-8")


def test_all_bad_with_skip_bad_is_still_refused(
    engine: Engine, seeded: tuple[int, int, int], tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "kin.jsonl", ['{"output": "x"}', '{"output": "y"}'])
    with pytest.raises(ImportFailed, match="no valid records"):
        import_files(engine, "koalpaca_v11", path, skip_bad=True)
    assert counts(engine) == seeded


@pytest.mark.parametrize(
    "turn,field,reason",
    [
        ({"from": "bot", "value": "안녕"}, "conversations[1].from", "unknown role 'bot'"),
        ({"value": "안녕"}, "conversations[1].from", "missing or not text"),
        ({"from": "gpt", "value": ["목록"]}, "conversations[1].value", "expected text, got list"),
        ({"from": "gpt", "value": "널\x00"}, "conversations[1].value", "NUL"),
        ({"from": "gpt", "value": "가" * 1_000_001}, "conversations[1].value", "too long"),
    ],
)
def test_bad_conversation_turn_names_the_turn(
    engine: Engine, tmp_path: Path, turn: dict, field: str, reason: str
) -> None:
    rows = [
        {"id": "ok", "conversations": [{"from": "human", "value": "질문"}]},
        {"id": "bad", "conversations": [{"from": "human", "value": "질문"}, turn]},
    ]
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=0), encoding="utf-8")
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "sharegpt", path)
    assert str(exc.value).startswith("conv.json, record 2, line ") and exc.value.field == field
    assert reason in str(exc.value)
    assert counts(engine) == (0, 0, 0)


def test_duplicate_ids_are_refused(engine: Engine, tmp_path: Path) -> None:
    rows = [
        {"id": "a1", "conversations": [{"from": "human", "value": "안녕"}]},
        {"id": "a1", "conversations": [{"from": "gpt", "value": "네"}]},
    ]
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ImportFailed, match="duplicate key 'a1'"):
        import_files(engine, "sharegpt", path)
    assert counts(engine) == (0, 0, 0)


def test_same_content_under_another_name_is_already_imported(
    engine: Engine, tmp_path: Path
) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", good_lines(3))
    b = tmp_path / "b.jsonl"
    b.write_bytes(a.read_bytes())
    import_files(engine, "koalpaca_v11", a)
    with pytest.raises(AlreadyImported):
        import_files(engine, "koalpaca_v11", b, name="other")
    assert counts(engine) == (1, 3, 6)


# --- formats --------------------------------------------------------------------------------------

ALPACA_ROWS = [
    {
        "instruction": "건강을 유지하기 위한 세 가지 팁을 알려주세요.",
        "input": "",
        "output": "아침을 먹고, 잘 자고, 운동하세요.",
    },
    {
        "instruction": "다음 문장을 요약하세요.",
        "input": "첫 줄\n둘째 줄, 쉼표 포함",
        "output": '요약: "인용"',
    },
]


def check_alpaca(engine: Engine, dataset_id: int) -> None:
    with Session(engine) as s:
        texts = [
            (t.role, t.text)
            for t in s.scalars(
                select(Turn)
                .join(Sample)
                .where(Sample.dataset_id == dataset_id)
                .order_by(Sample.position, Turn.idx)
            )
        ]
    assert texts == [
        (role, r[role]) for r in ALPACA_ROWS for role in ("instruction", "input", "output")
    ]


def test_json_array_with_bom_and_crlf(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "crlf.json"
    body = json.dumps(ALPACA_ROWS, ensure_ascii=False, indent=1).replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    rep = import_files(engine, "koalpaca", path)
    assert rep.samples == 2
    check_alpaca(engine, rep.dataset_id)


def test_jsonl_with_bom_and_crlf(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + "\r\n".join(json.dumps(r, ensure_ascii=False) for r in ALPACA_ROWS).encode()
        + b"\r\n\r\n"
    )
    rep = import_files(engine, "koalpaca", path)
    assert rep.samples == 2
    check_alpaca(engine, rep.dataset_id)


def test_gzip_of_json_and_jsonl(engine: Engine, tmp_path: Path) -> None:
    gz = tmp_path / "ko.json.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        json.dump(ALPACA_ROWS, fh, ensure_ascii=False)
    rep = import_files(engine, "koalpaca", gz)
    assert rep.name == "ko" and rep.samples == 2
    check_alpaca(engine, rep.dataset_id)
    gz2 = tmp_path / "ko2.jsonl.gz"
    with gzip.open(gz2, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r, ensure_ascii=False) for r in ALPACA_ROWS))
    rep2 = import_files(engine, "koalpaca", gz2)
    assert rep2.name == "ko2" and rep2.samples == 2
    check_alpaca(engine, rep2.dataset_id)


def test_csv_with_bom_crlf_and_multiline_fields(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ko.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["instruction", "input", "output"], lineterminator="\r\n")
        w.writeheader()
        w.writerows(ALPACA_ROWS)
    rep = import_files(engine, "koalpaca", path)
    assert rep.samples == 2
    check_alpaca(engine, rep.dataset_id)


def test_csv_bad_row_names_the_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("instruction,input,output\r\na,,b\r\nc,d,e,f\r\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "koalpaca", path)
    assert str(exc.value) == "bad.csv, line 3: more values than header columns"
    assert counts(engine) == (0, 0, 0)


def test_parquet(engine: Engine, tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "ko.parquet"
    pd.DataFrame(ALPACA_ROWS).to_parquet(path)
    rep = import_files(engine, "koalpaca", path)
    assert rep.samples == 2
    check_alpaca(engine, rep.dataset_id)


def test_saved_hf_dataset(engine: Engine, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "hf_koalpaca"
    datasets.Dataset.from_list(ALPACA_ROWS).save_to_disk(str(folder))
    rep = import_files(engine, "koalpaca", folder)
    assert rep.samples == 2 and rep.name == "hf_koalpaca"
    check_alpaca(engine, rep.dataset_id)
    with pytest.raises(AlreadyImported):
        import_files(engine, "koalpaca", folder, name="again")


def test_default_names() -> None:
    assert (
        default_name("KoAlpaca_v1.1.first2.reconstructed.jsonl")
        == "KoAlpaca_v1.1.first2.reconstructed"
    )
    assert default_name("/x/ko_alpaca_data.json.gz") == "ko_alpaca_data"
    assert default_name("data.csv") == "data" and default_name("folder") == "folder"


def test_field_limit_is_generous_for_real_data() -> None:
    # the longest real ShareGPT turn is ~100k characters; 10 MB fields are refused
    assert 200_000 < MAX_FIELD_CHARS < 10_000_000


def test_id_join_through_the_english_file(engine: Engine, tmp_path: Path) -> None:
    """The English side of an id join is looked up from its private file a batch at a time: every
    record finds its own source, a later duplicate id in the English file wins, control characters
    and empty texts survive the packing, and a missing one is unaligned."""
    from kocurate import ingest

    def conv(i: int, text: str) -> dict:
        return {
            "id": f"r{i}",
            "conversations": [
                {"from": "human", "value": text},
                {"from": "gpt", "value": f"{text}!"},
            ],
        }

    n = ingest.JOIN_BATCH + 7  # more than one lookup batch
    ko = [conv(i, f"질문 {i}번") for i in range(n)]
    en = [conv(i, f"question {i}") for i in range(n) if i != 5]
    en.append(conv(3, "question 3 (second copy)"))
    en.append(
        {
            "id": "r9",
            "conversations": [
                {"from": "human", "value": "tab\tand\u0001x"},
                {"from": "gpt", "value": ""},
            ],
        }
    )
    (tmp_path / "ko.json").write_text(json.dumps(ko, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "en.json").write_text(json.dumps(en, ensure_ascii=False), encoding="utf-8")
    rep = import_files(engine, "sharegpt", tmp_path / "ko.json", tmp_path / "en.json", name="j")
    assert rep.samples == n and rep.unaligned == 1
    with Session(engine) as s:
        src = dict(
            s.execute(
                select(Sample.key, Turn.source_text)
                .join(Turn, Turn.sample_id == Sample.id)
                .where(Turn.idx == 0)
            ).all()
        )
        status = dict(s.execute(select(Sample.key, Sample.align_status)).all())
    assert src["r0"] == "question 0" and src[f"r{n - 1}"] == f"question {n - 1}"
    assert src["r3"] == "question 3 (second copy)"
    assert src["r9"] == "tab\tand\u0001x"
    assert src["r5"] is None and status["r5"] == "unaligned"


def _conv(i: int | str, text: str) -> dict:
    return {
        "id": f"r{i}",
        "conversations": [{"from": "human", "value": text}, {"from": "gpt", "value": f"{text}!"}],
    }


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def test_english_read_in_a_child_joins_as_when_read_first(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large English file is read by a child process while the Korean one is read here: the
    same rows, sources, statuses and skipped records as reading it first."""
    from kocurate import ingest

    n = ingest.JOIN_BATCH * 3 + 11
    ko = _write(tmp_path / "ko.json", [_conv(i, f"질문 {i}번") for i in range(n)])
    en_records = [_conv(i, f"question {i}") for i in range(n) if i != 5]
    en_records.insert(40, {"id": "r-bad", "conversations": [{"from": "wizard", "value": "x"}]})
    en_records.append(_conv(3, "question 3 (second copy)"))
    en = _write(tmp_path / "en.json", en_records)

    def imported(name: str) -> tuple[list[tuple], list[dict], int]:
        rep = import_files(engine, "sharegpt", ko, en, name=name, skip_bad=True)
        with Session(engine) as s:
            rows = s.execute(
                select(Sample.key, Sample.align_status, Sample.align_confidence, Turn.source_text)
                .join(Turn, Turn.sample_id == Sample.id)
                .join(Dataset, Dataset.id == Sample.dataset_id)
                .where(Dataset.name == name)
                .order_by(Sample.position, Turn.idx)
            ).all()
        return [tuple(r) for r in rows], rep.skipped, rep.source_records

    first = imported("read first")
    with Session(engine) as s:  # the same files again are refused as already imported: new names
        s.execute(Dataset.__table__.update().values(fingerprint=Dataset.name))
        s.commit()
    monkeypatch.setattr(ingest, "PARALLEL_ENGLISH_BYTES", 0)
    started = []
    real_start = ingest._EnglishInChild.start.__func__

    def spy(cls, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        started.append(1)
        return real_start(cls, *a, **k)

    monkeypatch.setattr(ingest._EnglishInChild, "start", classmethod(spy))
    second = imported("read in a child")
    assert started == [1]
    assert second == first
    assert first[2] == n and [x["side"] for x in first[1]] == ["en"]
    keyed: dict[str, tuple] = {}
    for r in first[0]:
        keyed.setdefault(r[0], r)  # the first turn's row
    assert keyed["r3"][3] == "question 3 (second copy)" and keyed["r5"][1] == "unaligned"


def test_english_rows_read_in_file_order_are_the_rows_looked_up_by_key(tmp_path: Path) -> None:
    """The child's store is read in file order first (the files mostly share it), by key for
    the rest: the same records either way, whatever the Korean side's order."""
    from kocurate import ingest

    n = 9_000
    records = [_conv(i, f"q {i} of 12 and 3.5") for i in range(n)] + [_conv(8, "q 8 again")]
    en = _write(tmp_path / "en.json", records)
    rng = random.Random(3)
    same = [f"r{i}" for i in range(n) if i % 7]  # the Korean side lacks a few rows
    mixed = same[:3000] + rng.sample(same[3000:], len(same) - 3000)  # then another order
    for order in (same, mixed, [*same[:10], "r-none", *same[10:]]):
        store = ingest._EnglishInChild.start("sharegpt", None, en, False)
        try:
            store.finish()  # the whole file in: the by-key lookup is the reference
            got: dict[str, ingest._Source] = {}
            for i in range(0, len(order), 2000):
                got.update(store.lookup(order[i : i + 2000]))
            assert got == ingest._EnglishById.lookup(store, order)
            assert got["r8"].texts == ("q 8 again", "q 8 again!")
            assert got["r15"].numbers == ("15 12 3.5", "15 12 3.5")
            assert store.in_order == (order is not mixed)
        finally:
            store.close()


def test_a_repeated_english_id_used_early_restarts_the_import(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last record with an id counts. A key looked up while the child still reads, then
    repeated later in the file, makes the import start again with the English side read first."""
    from kocurate import ingest

    n = 200_000  # the child takes seconds to read this: the first lookups come while it reads
    en = _write(
        tmp_path / "en.json",
        [_conv("dup", "first copy")] + [_conv(i, "q") for i in range(n)] + [_conv("dup", "last")],
    )
    store = ingest._EnglishInChild.start("sharegpt", None, en, False)
    try:
        while not ingest._EnglishById.lookup(store, ["rdup"]):  # the first batch is committed
            pass
        assert store.lookup(["rdup"])["rdup"].texts[0] == "first copy" and not store.done
        with pytest.raises(ingest._Restart):
            store.finish()
        assert store.lookup(["rdup"])["rdup"].texts[0] == "last"
    finally:
        store.close()
    # the import itself: the restart reads the English side first and gets the last copy
    ko = _write(tmp_path / "ko.json", [_conv("dup", "질문"), _conv(1, "둘")])
    small_en = _write(tmp_path / "en2.json", [_conv("dup", "first"), _conv(1, "two")])
    tries = []
    real_finish = ingest._EnglishInChild.finish

    def finish_once(self) -> None:  # noqa: ANN001
        real_finish(self)
        tries.append(1)
        raise ingest._Restart

    monkeypatch.setattr(ingest, "PARALLEL_ENGLISH_BYTES", 0)
    monkeypatch.setattr(ingest._EnglishInChild, "finish", finish_once)
    rep = import_files(engine, "sharegpt", ko, small_en, name="restarted")
    assert tries == [1] and rep.samples == 2 and rep.source_records == 2


def test_errors_with_the_english_read_in_a_child(
    engine: Engine, seeded: tuple[int, int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad English record is refused as when read first (file and record named, nothing
    written); a bad Korean one stops the child; neither leaves its folder behind."""
    import pickle
    import tempfile

    from kocurate import ingest

    exc0 = ImportFailed("en.json", "record 3, line 4", "conversations[0].from", reason_id="bad")
    back = pickle.loads(pickle.dumps(exc0))
    assert (str(back), back.where, back.field, back.msgid) == (
        str(exc0),
        exc0.where,
        exc0.field,
        exc0.msgid,
    )
    monkeypatch.setattr(ingest, "PARALLEL_ENGLISH_BYTES", 0)
    before = set(Path(tempfile.gettempdir()).glob(ingest._EnglishById.PREFIX + "*"))
    ko = _write(tmp_path / "ko.json", [_conv(i, f"질문 {i}") for i in range(50)])
    bad_en = [_conv(i, f"q {i}") for i in range(50)]
    bad_en[30] = {"id": "r30", "conversations": [{"from": "wizard", "value": "x"}]}
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "sharegpt", ko, _write(tmp_path / "en.json", bad_en))
    assert exc.value.file == "en.json" and "record 31" in exc.value.where
    assert "unknown role" in str(exc.value)
    bad_ko = [_conv(i, f"질문 {i}") for i in range(50)] + [{"id": "x", "conversations": 3}]
    big_en = _write(tmp_path / "big.json", [_conv(i, "q") for i in range(100_000)])
    with pytest.raises(ImportFailed) as exc:
        import_files(engine, "sharegpt", _write(tmp_path / "bad_ko.json", bad_ko), big_en)
    assert exc.value.file == "bad_ko.json"
    # a child killed before it could say anything (out of memory): the English file is named
    store = ingest._EnglishInChild.start("sharegpt", None, big_en, False)
    try:
        store.proc.kill()
        with pytest.raises(ImportFailed) as exc:
            store.finish()
        assert exc.value.file == "big.json" and "nothing was imported" in str(exc.value)
    finally:
        store.close()
    assert counts(engine) == seeded
    assert set(Path(tempfile.gettempdir()).glob(ingest._EnglishById.PREFIX + "*")) <= before


def test_checks_in_worker_processes_from_a_threaded_caller(engine: Engine) -> None:
    """A web server has threads: the check workers then come from a forkserver, and find what one
    process finds."""
    import threading

    from kocurate.checks import select_checks
    from kocurate.checks.runner import auto_workers, run_dataset
    from kocurate.models import CheckFinding

    assert auto_workers(100) == 1 and auto_workers(19_999) == 1
    ds = import_files(
        engine, "guanaco", DATA / "guanaco_ko.jsonl", DATA / "guanaco_en.jsonl"
    ).dataset_id
    names = [c.name for c in select_checks(cheap_only=True)]

    def findings() -> list[tuple]:
        with Session(engine) as s:
            return sorted(
                s.execute(
                    select(
                        CheckFinding.sample_id,
                        CheckFinding.check,
                        CheckFinding.turn_idx,
                        CheckFinding.message,
                    ).where(CheckFinding.dataset_id == ds)
                ).tuples()
            )

    one = run_dataset(engine, ds, select_checks(names), full=True, workers=1)
    first = findings()
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        two = run_dataset(engine, ds, select_checks(names), full=True, workers=2)
    finally:
        stop.set()
        t.join()
    assert two.samples == one.samples > 0 and two.findings == one.findings
    assert findings() == first


def test_spool_folders_of_dead_imports_are_swept(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    from kocurate.ingest import _EnglishById, _Spool

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name, owner in (
        ("dead", f"{dead.stdout.strip()} {socket.gethostname()}"),
        ("elsewhere", f"{dead.stdout.strip()} another-host"),
        ("alive", f"{os.getpid()} {socket.gethostname()}"),
        ("unmarked", None),
    ):
        folder = tmp_path / f"{_Spool.PREFIX}{name}"
        folder.mkdir()
        (folder / "spool.db").write_bytes(b"x" * 1000)
        if owner is not None:
            (folder / "owner").write_text(owner)
    # an id join's English store of a dead import (killed half-way) goes too
    english = tmp_path / f"{_EnglishById.PREFIX}dead"
    english.mkdir()
    (english / "owner").write_text(f"{dead.stdout.strip()} {socket.gethostname()}")
    assert _Spool.sweep(str(tmp_path)) == 2
    assert sorted(p.name.removeprefix(_Spool.PREFIX) for p in tmp_path.iterdir()) == [
        "alive",
        "elsewhere",
        "unmarked",
    ]


def test_the_garbage_collector_is_back_on_after_an_import(engine: Engine, tmp_path: Path) -> None:
    """The import pauses cycle collection for speed; it is on again afterwards, failed or not."""
    import gc

    assert gc.isenabled()
    good = write_jsonl(tmp_path / "ok.jsonl", good_lines(2))
    import_files(engine, "koalpaca_v11", good, name="gc-ok")
    assert gc.isenabled()
    bad = write_jsonl(
        tmp_path / "bad.jsonl", good_lines(1) + ['{"instruction": "질문만 있고 답이 없습니다"}']
    )
    with pytest.raises(ImportFailed):
        import_files(engine, "koalpaca_v11", bad, name="gc-bad")
    assert gc.isenabled()
