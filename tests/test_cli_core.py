"""The core CLI: db upgrade, import (every kind, generic mapping, skip-bad), datasets, show,
demo."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kocurate import db
from kocurate.cli import app
from kocurate.models import Dataset, Sample, Turn

DATA = Path(__file__).resolve().parent / "data"


def kc(db_url: str, *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", db_url, *[str(a) for a in args]])
    return result.exit_code, result.output


def test_db_upgrade_creates_a_new_database_at_head(tmp_path: Path) -> None:
    path = tmp_path / "new" / "fresh.db"
    path.parent.mkdir()
    code, out = kc(str(path), "db", "upgrade")
    assert code == 0, out
    url = f"sqlite:///{path.resolve()}"
    assert (
        db.current_revision(url) == db.head_revision() and f"revision {db.head_revision()}" in out
    )
    code, out = kc(str(path), "db", "current")
    assert code == 0 and f"current {db.head_revision()}" in out


def test_import_datasets_show(db_url: str, engine: Engine) -> None:
    code, out = kc(
        db_url,
        "import",
        "dolly",
        DATA / "dolly_ko.jsonl",
        "--source",
        DATA / "dolly_en.jsonl",
        "--name",
        "dolly-ko",
    )
    assert code == 0, out
    assert (
        "imported 'dolly-ko'" in out
        and "5 samples, 15 turns; aligned 5, ambiguous 0, unaligned 0" in out
    )
    code, out = kc(
        db_url, "import", "dolly", DATA / "dolly_ko.jsonl", "--source", DATA / "dolly_en.jsonl"
    )
    assert (
        code == 0 and "already imported as dataset 'dolly-ko'" in out and "nothing changed" in out
    )
    code, out = kc(db_url, "datasets", "--json")
    rows = json.loads(out)
    assert [(r["name"], r["kind"], r["samples"], r["aligned"], r["new"]) for r in rows] == [
        ("dolly-ko", "dolly", 5, 5, 5)
    ]
    code, out = kc(db_url, "datasets")
    assert code == 0 and "dolly-ko" in out
    with Session(engine) as s:
        sid = s.scalar(select(Sample.id).where(Sample.key == "3"))
    code, out = kc(db_url, "show", str(sid), "--json")
    view = json.loads(out)
    assert view["source_key"] == "4" and view["meta"] == {"category": "summarization"}
    assert [t["role"] for t in view["turns"]] == ["instruction", "context", "response"]
    assert view["turns"][0]["source_text"] == "Summarize what the text says about the Seoul subway."
    code, out = kc(db_url, "show", str(sid))
    assert (
        code == 0
        and "EN: Summarize what the text says about the Seoul subway." in out
        and "KO: 서울" in out
    )
    code, out = kc(db_url, "show", "999999")
    assert code == 3 and "no sample 999999" in out


def test_import_bad_file_names_the_place_and_exits_1(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    bad = tmp_path / "kin.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c"}\n', encoding="utf-8")
    code, out = kc(db_url, "import", "koalpaca_v11", bad)
    assert code == 2 and "kin.jsonl, line 2, field 'output': missing field" in out
    with Session(engine) as s:
        assert s.scalar(select(func.count(Sample.id))) == 0
    code, out = kc(
        db_url, "import", "koalpaca_v11", bad, "--skip-bad", "--report", tmp_path / "skipped.jsonl"
    )
    assert code == 0, out
    assert "1 samples, 2 turns; skipped 1 bad records" in out and "skipped.jsonl" in out
    assert json.loads((tmp_path / "skipped.jsonl").read_text())["where"] == "line 2"
    code, out = kc(db_url, "import", "nosuchkind", bad)
    assert code == 2 and "unknown kind 'nosuchkind'" in out
    code, out = kc(db_url, "import", "koalpaca_v11", tmp_path / "missing.jsonl")
    assert code != 0


def test_generic_mapping_csv_with_inline_source(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "qa.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["qid", "질문", "답변", "question_en", "answer_en", "topic"])
        w.writerow(
            [
                "q-1",
                "서울의 인구는 몇 명인가요?",
                "약 940만 명입니다.",
                "What is the population of Seoul?",
                "About 9.4 million.",
                "geo",
            ]
        )
        w.writerow(
            [
                "q-2",
                "파이썬에서 리스트를 뒤집으려면?",
                "reverse()를 쓰세요.",
                "How do I reverse a list in Python?",
                "Use reverse().",
                "code",
            ]
        )
    code, out = kc(
        db_url,
        "import",
        "generic",
        path,
        "--map",
        "user=질문",
        "--map",
        "assistant=답변",
        "--source-map",
        "user=question_en",
        "--source-map",
        "assistant=answer_en",
        "--id-field",
        "qid",
        "--meta-field",
        "topic",
        "--name",
        "qa",
    )
    assert code == 0, out
    assert "2 samples, 4 turns" in out
    with Session(engine) as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == "qa"))
        smp = s.scalar(select(Sample).where(Sample.dataset_id == ds.id, Sample.key == "q-2"))
        turns = list(s.scalars(select(Turn).where(Turn.sample_id == smp.id).order_by(Turn.idx)))
        assert smp.meta == {"topic": "code"} and smp.align_status in ("aligned", "ambiguous")
        assert [(t.role, t.text, t.source_text) for t in turns] == [
            ("user", "파이썬에서 리스트를 뒤집으려면?", "How do I reverse a list in Python?"),
            ("assistant", "reverse()를 쓰세요.", "Use reverse()."),
        ]
    code, out = kc(db_url, "import", "generic", path, "--map", "user", "--name", "x")
    assert code == 2 and "ROLE=COLUMN" in out
    code, out = kc(db_url, "import", "generic", path, "--name", "x")
    assert code == 2 and "--map" in out


def test_generic_conversations_from_a_saved_hf_dataset(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "chat_hf"
    datasets.Dataset.from_list(
        [
            {
                "id": "c1",
                "messages": [
                    {"role": "user", "content": "안녕하세요"},
                    {"role": "assistant", "content": "반갑습니다"},
                ],
            },
            {
                "id": "c2",
                "messages": [
                    {"role": "system", "content": "친절하게"},
                    {"role": "user", "content": "날씨?"},
                ],
            },
        ]
    ).save_to_disk(str(folder))
    code, out = kc(
        db_url, "import", "generic", folder, "--conversations", "messages", "--id-field", "id"
    )
    assert code == 0, out
    assert "imported 'chat_hf'" in out and "2 samples, 4 turns" in out
    with Session(engine) as s:
        roles = s.scalars(
            select(Turn.role).join(Sample).where(Sample.key == "c2").order_by(Turn.idx)
        ).all()
    assert roles == ["system", "user"]


def test_demo_no_serve(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    code, out = kc(str(path), "demo", "--no-serve")
    assert code == 0, out
    assert "imported demo-koalpaca" in out and "annotator" in out
    url = f"sqlite:///{path.resolve()}"
    eng = db.make_engine(url)
    try:
        with Session(eng) as s:
            kinds = sorted(s.scalars(select(Dataset.kind)))
            assert kinds == ["dolly", "guanaco", "koalpaca", "koalpaca_v11", "sharegpt"]
            assert s.scalar(select(func.count(Sample.id))) > 0
    finally:
        eng.dispose()
    code, out = kc(str(path), "demo", "--no-serve")  # a second run reuses the database
    assert code == 0 and "already there" in out
