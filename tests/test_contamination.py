"""Evaluation-set contamination: KoBEST (five TSV tasks, CRLF / no final newline) and KorQuAD are
read into EvalSet/EvalItem; samples with their passages, questions or answers planted are flagged,
others not.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kocurate import db
from kocurate.checks.contamination import normalize, read_evalset
from kocurate.cli import app
from kocurate.errors import ImportFailed, PermissionDenied
from kocurate.ingest import import_files
from kocurate.models import CheckFinding, EvalItem, Flag, Sample
from kocurate.services import checks as svc
from kocurate.services.auth import Actor

TASKS = {"BoolQ": 700, "COPA": 500, "HellaSwag": 500, "SentiNeg": 400, "WiC": 610}


def test_read_kobest_and_korquad(shared_data: Path) -> None:
    for task, rows in TASKS.items():
        items = list(read_evalset("kobest", shared_data / f"kobest/{task}_dev.tsv"))
        per_row = {"BoolQ": 2, "COPA": 3, "HellaSwag": 5, "SentiNeg": 1, "WiC": 2}[task]
        assert len(items) == rows * per_row, task
        assert not any(t.endswith("\r") or "\r" in t for _, t in items)
    wic = list(read_evalset("kobest_wic", shared_data / "kobest/WiC_dev.tsv"))
    assert "[" not in wic[0][1]  # the target-word brackets are dropped
    kq = list(
        read_evalset("korquad", shared_data / "korquad/KorQuAD_v1.0_dev.first10articles.json")
    )
    assert sum(1 for f, _ in kq if f == "question") == 413
    assert normalize("  1989년 2월, 15일!! ") == normalize("1989년2월15일")


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.tsv"
    bad.write_text("foo\tbar\n1\t2\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="KoBEST"):
        list(read_evalset("kobest", bad))
    short = tmp_path / "BoolQ_dev.tsv"
    short.write_text("ID\tText\tQuestion\tAnswer\r\n1\t본문\r\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="line 2"):
        list(read_evalset("kobest", short))


def _first_row(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return next(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_planted_items_are_flagged(
    engine: Engine, db_url: str, tmp_path: Path, shared_data: Path, actors: dict[str, Actor]
) -> None:
    lead = actors["lead"]
    runner = CliRunner()
    for task in TASKS:
        res = runner.invoke(
            app,
            [
                "--db",
                db_url,
                "evalsets",
                "add",
                "kobest",
                str(shared_data / f"kobest/{task}_dev.tsv"),
                "--name",
                f"kobest-{task.lower()}",
            ],
        )
        assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        [
            "--db",
            db_url,
            "evalsets",
            "add",
            "korquad",
            str(shared_data / "korquad/KorQuAD_v1.0_dev.first10articles.json"),
            "--name",
            "korquad",
        ],
    )
    assert res.exit_code == 0 and "413 question" in res.output, res.output
    res = runner.invoke(app, ["--db", db_url, "evalsets", "list"])
    assert "kobest-boolq" in res.output and "korquad" in res.output
    with pytest.raises(PermissionDenied), db.session_scope(engine) as s:
        svc.add_evalset(
            s,
            actors["annotator"],
            "korquad",
            shared_data / "korquad/KorQuAD_v1.0_dev.first10articles.json",
            "again",
        )

    boolq = _first_row(shared_data / "kobest/BoolQ_dev.tsv")
    hella = _first_row(shared_data / "kobest/HellaSwag_dev.tsv")
    kq = json.loads(
        (shared_data / "korquad/KorQuAD_v1.0_dev.first10articles.json").read_text(encoding="utf-8")
    )
    para = kq["data"][1]["paragraphs"][0]
    question = para["qas"][0]["question"]
    clean = json.loads(
        (shared_data / "koalpaca_v1.0/ko_alpaca_data.first1040.json").read_text(encoding="utf-8")
    )[:40]
    # re-spaced and re-punctuated, inside other text: still the same passage
    respaced = boolq["Text"].replace(" ", "  ").replace(".", " .").replace(",", "")
    planted = [
        {
            "instruction": "다음 글을 읽고 질문에 답하세요.",
            "input": respaced,
            "output": "네, 그렇습니다.",
        },
        {
            "instruction": "다음 문단을 요약하세요.",
            "input": "",
            "output": "요약: " + para["context"][:400],
        },
        {"instruction": question, "input": "", "output": "잘 모르겠습니다."},
        {
            "instruction": "다음 상황 뒤에 이어질 문장을 고르세요.",
            "input": hella["context"],
            "output": hella["choice1"],
        },
    ]
    path = tmp_path / "mix.json"
    path.write_text(json.dumps(clean + planted, ensure_ascii=False), encoding="utf-8")
    ds = import_files(engine, "koalpaca", path, name="mix").dataset_id
    summary = svc.run_checks(engine, lead, "mix", only=["contamination"])
    assert summary["samples"] == 44
    with Session(engine) as s:
        rows = s.execute(
            select(Sample.key, CheckFinding.message, CheckFinding.data)
            .join(Sample, Sample.id == CheckFinding.sample_id)
            .where(CheckFinding.dataset_id == ds, CheckFinding.check == "contamination")
        ).all()
        flagged = {k for k, _, _ in rows}
        assert flagged == {"40", "41", "42", "43"}, rows
        sets = {k: d["eval_set"] for k, _, d in rows}
        assert sets["40"] == "kobest-boolq" and sets["41"] == "korquad" and sets["42"] == "korquad"
        assert sets["43"] == "kobest-hellaswag"
        assert any("question" in m for k, m, _ in rows if k == "42")
        # contaminated samples get a pre-flag to look at
        sid = s.scalar(select(Sample.id).where(Sample.dataset_id == ds, Sample.key == "40"))
        assert s.scalar(select(Flag.origin).where(Flag.sample_id == sid)) == "check"
        # KorQuAD repeats a passage for each question: stored once
        n_passages = len(s.scalars(select(EvalItem.id).where(EvalItem.field == "passage")).all())
    assert n_passages == 700 + 500 + 59
