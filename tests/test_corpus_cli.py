"""The corpus CLI (issue 17): `kocurate bulk …`, `replace`, `variants`, `qa`, `risk`, `tm` on a real
database."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.models import QaItem, Review, Sample, Turn
from kocurate.services.auth import Actor
from tests.corpus_helpers import make_dataset

PAIRS = [
    [("Hello machine learning", "안녕 기계 학습"), ("Answer 1", "답 1")],
    [("Other question", "다른 질문"), ("Answer 2", "답 2")],
    [("Hello  machine learning", "안녕하세요 기계 학습"), ("Answer 1", "답 하나")],
]


def run(db_url: str, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", db_url, *args])


def status(engine: Engine) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(Sample.status).order_by(Sample.id)))


def test_bulk_cli_dry_run_apply_revert(
    db_url: str, engine: Engine, actors: dict[str, Actor]
) -> None:
    make_dataset(engine, PAIRS)
    res = run(
        db_url, "bulk", "reject", "--dataset", "ds", "--query", "", "--ids", "1,2", "--dry-run"
    )
    assert res.exit_code == 2 and "--reason" in res.output  # the reason is required
    res = run(
        db_url,
        "bulk",
        "reject",
        "--dataset",
        "ds",
        "--ids",
        "1,2",
        "--reason",
        "garbled",
        "--dry-run",
    )
    assert res.exit_code == 0, res.output
    assert (
        "2 of 2 selected samples would change" in res.output
        and "dry run: nothing changed" in res.output
    )
    assert status(engine) == ["new", "new", "new"]
    res = run(
        db_url,
        "bulk",
        "reject",
        "--dataset",
        "ds",
        "--ids",
        "1,2",
        "--reason",
        "garbled",
        "--as",
        "lead",
    )
    assert res.exit_code == 0, res.output
    m = re.search(r"bulk operation (\d+) \(reject\): 2 samples changed", res.output)
    assert m is not None, (
        res.output
    )  # (a PostgreSQL sequence does not roll back: the number may skip)
    op = m.group(1)
    assert f"kocurate bulk revert {op}" in res.output
    assert status(engine) == ["rejected", "rejected", "new"]
    with session_scope(engine) as s:
        assert s.scalar(select(Review.user_id)) == actors["lead"].id
    res = run(db_url, "bulk", "approve", "--as", "annotator", "--dataset", "ds")
    assert res.exit_code == 4 and "bulk operations are for leads" in res.output
    assert "reject" in run(db_url, "bulk", "list").output
    res = run(db_url, "bulk", "revert", op)
    assert res.exit_code == 0 and "reverted on 2 samples" in res.output
    assert status(engine) == ["new", "new", "new"]
    res = run(db_url, "bulk", "revert", op)
    assert (
        res.exit_code == 5
        and "only an applied operation" in res.output
        and "Traceback" not in res.output
    )
    res = run(db_url, "bulk", "add-flag", "nonsense", "--dataset", "ds")
    assert res.exit_code == 2 and "add_flag needs a flag" in res.output


def test_replace_variants_qa_and_risk_cli(
    db_url: str, engine: Engine, actors: dict[str, Actor]
) -> None:
    make_dataset(engine, PAIRS)
    res = run(db_url, "replace", "기계 학습", "머신러닝", "--dataset", "ds", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "2 occurrences in 2 turns of 2 samples" in res.output and "+안녕 머신러닝" in res.output
    res = run(db_url, "replace", "기계 학습", "머신러닝", "--dataset", "ds", "--role", "user")
    assert res.exit_code == 0 and "2 samples changed" in res.output
    with session_scope(engine) as s:
        assert (
            s.scalar(select(Turn.text).where(Turn.sample_id == 1, Turn.idx == 0)) == "안녕 머신러닝"
        )
    res = run(db_url, "replace", "(", "x", "--regex", "--dataset", "ds")
    assert res.exit_code == 2 and "not a valid regular expression" in res.output
    res = run(db_url, "variants", "hash")
    assert res.exit_code == 0 and "3 samples hashed; 1 variant groups with 2 samples" in res.output
    res = run(db_url, "variants", "keep", "3")
    assert res.exit_code == 0 and "1 samples changed" in res.output
    assert status(engine)[0] == "superseded"
    res = run(
        db_url, "qa", "sample", "--dataset", "ds", "--status", "new", "--size", "2", "--seed", "3"
    )
    assert res.exit_code == 0 and "QA run 1: 2 of 2 samples" in res.output
    with session_scope(engine) as s:
        for item in s.scalars(select(QaItem)):
            item.verdict = "ok"
    assert (
        "estimated defect rate 0.0 % (0.0–65.8 %), 2 samples reviewed"
        in run(db_url, "qa", "status").output
    )
    res = run(db_url, "qa", "check", "0.05", "-d", "ds")
    assert res.exit_code == 1 and "above --max-defect-rate 5.0 %" in res.output
    assert run(db_url, "qa", "check", "0.7", "-d", "ds").exit_code == 0
    res = run(db_url, "risk", "train")
    assert res.exit_code == 1 and "needs at least 20 decided samples" in res.output
    assert run(db_url, "risk", "precision", "ds").exit_code == 0
    assert "no approved samples yet" in run(db_url, "risk", "chrf", "ds").output
    res = run(db_url, "tm", "add", "머신러닝", "기계학습", "--en", "machine learning")
    assert res.exit_code == 0 and "fix 1 added" in res.output
    res = run(db_url, "tm", "apply", "ds", "--dry-run")
    assert (
        res.exit_code == 0 and "fix 1: 2 samples" in res.output
    )  # the superseded variant too: fixes are per text
