"""Export selection shares the review queue's filter: ``ExportSpec.where`` / ``--where`` select the
samples a Review queue with the same filter holds, and "open finding" means the same everywhere (a
finding a person confirmed still holds; cleared and resolved ones do not)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from kocurate import db
from kocurate.cli import app
from kocurate.errors import UsageError
from kocurate.ingest import import_files
from kocurate.models import CheckFinding, Sample
from kocurate.services import export as ex
from kocurate.services.auth import Actor
from kocurate.services.filters import SampleFilter
from tests.page_helpers import open_page


@pytest.fixture
def corpus(engine: Engine, tmp_path: Path) -> dict[str, int]:
    rows = [
        {
            "id": f"s{i}",
            "messages": [
                {"role": "user", "content": f"질문 {i}: 서울의 날씨는 어떤가요?"},
                {
                    "role": "assistant",
                    "content": f"답변 {i}: 오늘은 {'맑습니다' if i % 2 else '흐립니다'}.",
                },
            ],
        }
        for i in range(12)
    ]
    src = tmp_path / "chat.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    import_files(engine, "messages", src, name="chat")
    with db.session_scope(engine) as s:
        ids = list(s.scalars(select(Sample.id).order_by(Sample.id)))
        s.execute(update(Sample).values(status="approved"))
        ds = s.scalar(select(Sample.dataset_id).limit(1))
        findings = {
            "open": ids[0],
            "confirmed": ids[1],
            "cleared": ids[2],
            "resolved": ids[3],
        }
        for state, sid in findings.items():
            s.execute(
                insert(CheckFinding).values(
                    sample_id=sid,
                    dataset_id=ds,
                    check="untranslated",
                    severity="error",
                    message="English left",
                    state=state,
                )
            )
    return {**findings, "plain": ids[4], "n": len(ids)}


def _exported(out: Path) -> set[int]:
    lines = (out / "data" / "train.jsonl").read_text("utf-8").splitlines()
    return {json.loads(line)["kocurate"]["sample_id"] for line in lines}


def test_where_selects_the_review_queue_of_the_same_filter(
    engine: Engine, actors: dict[str, Actor], corpus: dict[str, int], tmp_path: Path
) -> None:
    lead = actors["lead"]
    spec = ex.ExportSpec(where={"check": "untranslated"})
    ex.export(engine, lead, spec, tmp_path / "a")
    got = _exported(tmp_path / "a")
    # the queue's own SQL selects the same samples
    f = SampleFilter(check="untranslated")
    with db.session_scope(engine) as s:
        queue = set(s.scalars(select(Sample.id).where(*f.conditions(s))))
    assert got == queue == {corpus["open"], corpus["confirmed"]}
    # text search from the same filter ("맑" is in the odd samples' answers)
    ex.export(engine, lead, ex.ExportSpec(where={"text": "맑습니다"}), tmp_path / "b")
    got = _exported(tmp_path / "b")
    assert got and len(got) == corpus["n"] // 2
    # a confirmed error finding still holds: excluded like an open one
    ex.export(engine, lead, ex.ExportSpec(exclude_error_findings=True), tmp_path / "c")
    got = _exported(tmp_path / "c")
    assert corpus["open"] not in got and corpus["confirmed"] not in got
    assert {corpus["cleared"], corpus["resolved"], corpus["plain"]} <= got
    # the manifest records the filter
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text("utf-8"))
    assert "untranslated" in json.dumps(manifest, ensure_ascii=False)


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ({"chek": "x"}, "unknown filter key(s) chek"),
        ({"mine": True}, "unknown filter key(s) mine"),
        ({"status": "done"}, "unknown status 'done'"),
        ({"flag": "rude"}, "unknown flag 'rude'"),
    ],
)
def test_where_refuses_what_no_queue_has(where: dict[str, Any], says: str) -> None:
    with pytest.raises(UsageError, match=says.replace("(", r"\(").replace(")", r"\)")):
        ex.ExportSpec(where=where).validate()


def test_cli_where(db_url: str, engine: Engine, corpus: dict[str, int], tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    res = runner.invoke(app, ["--db", db_url, "export", str(out), "--where", "check=untranslated"])
    assert res.exit_code == 0, res.output
    assert _exported(out) == {corpus["open"], corpus["confirmed"]}
    res = runner.invoke(
        app, ["--db", db_url, "export", str(tmp_path / "x"), "--where", "min_len=many"]
    )
    assert res.exit_code == 2 and "filter min_len: expected a number, got 'many'" in res.output
    res = runner.invoke(app, ["--db", db_url, "export", str(tmp_path / "y"), "--where", "owner"])
    assert res.exit_code == 2 and "a filter is KEY=VALUE" in res.output
    res = runner.invoke(
        app,
        ["--db", db_url, "export", str(tmp_path / "z"), "--where", "sample_ids=1,2", "--dry-run"],
    )
    assert res.exit_code == 0 and "planned 2 samples" in res.output, res.output


def test_export_page_takes_a_review_queue_link(
    db_url: str,
    actors: dict[str, Actor],
    corpus: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = open_page("export.py", db_url, actors["lead"], monkeypatch, {"check": "untranslated"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="ex_where_check").value == "untranslated"
    assert any(h.value == "Planned: 2 samples" for h in at.subheader)
    at.selectbox(key="ex_where_check").set_value("").run()
    assert any(h.value == f"Planned: {corpus['n']} samples" for h in at.subheader)
    at.text_input(key="ex_where_text").set_value("맑습니다").run()
    assert any(h.value == f"Planned: {corpus['n'] // 2} samples" for h in at.subheader)
