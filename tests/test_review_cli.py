"""CLI of the review area: search (and --reindex), overlap, decision rule, disputed, drafts,
history, counts."""

from __future__ import annotations

from sqlalchemy import Engine, select
from test_review import make_dataset
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.models import Dataset, Turn
from kocurate.services import review as rv
from kocurate.services.auth import Actor


def run(db_url: str, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["--db", db_url, *args])
    return res.exit_code, res.output


def test_cli_search_overlap_history_counts(
    db_url: str, engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, 3, name="clids")
    with session_scope(engine) as s:
        tid = s.scalar(select(Turn.id).where(Turn.sample_id == ids[1], Turn.idx == 0))
        rv.save_edit(s, actors["annotator"], ids[1], tid, "호랑이 번역", 1)
    code, out = run(db_url, "search", "--reindex")
    assert code == 0 and "dataset" in out
    code, out = run(db_url, "search", "호랑이", "--dataset", "clids")
    assert code == 0 and f"sample {ids[1]}" in out and "호랑이 번역" in out
    code, out = run(db_url, "search", "없는말없는말")
    assert code == 0 and "no matches" in out
    code, out = run(db_url, "search")
    assert code == 2 and "give a query" in out
    code, out = run(db_url, "review", "overlap", "clids", "3")
    assert code == 0
    with session_scope(engine) as s:
        assert s.scalar(select(Dataset.overlap).where(Dataset.id == ds)) == 3
    code, out = run(db_url, "review", "overlap", "clids", "99")
    assert code == 2 and "overlap" in out
    code, out = run(db_url, "review", "history", str(ids[1]))
    assert code == 0 and "annotator" in out and "+호랑이 번역" in out
    code, out = run(db_url, "review", "counts", "clids")
    assert code == 0 and "new" in out and "3" in out


def test_cli_rule_disputed_drafts(db_url: str, engine: Engine, actors: dict[str, Actor]) -> None:
    from kocurate.services import drafts

    ds, ids = make_dataset(engine, 2, name="clidis", overlap=2)
    a, b = actors["annotator"], actors["annotator2"]
    code, out = run(db_url, "review", "rule", "clidis", "loudest")
    assert code == 2 and "unanimous, majority, any-reject" in out
    code, out = run(db_url, "review", "disputed", "clidis")
    assert code == 0 and "no disputed samples" in out
    code, out = run(db_url, "review", "drafts")
    assert code == 0 and "no pending drafts" in out
    with session_scope(engine) as s:
        rv.next_sample(s, a, ds)
        rv.next_sample(s, b, ds)
        rv.decide(s, a, ids[0], "approve", expected_version=1, reason="")
        rv.decide(s, b, ids[0], "reject", expected_version=1, reason="duplicate")
        tid = s.scalar(select(Turn.id).where(Turn.sample_id == ids[1], Turn.idx == 0))
        drafts.save_draft(s, a, ids[1], tid, "초안", 1)
    code, out = run(db_url, "review", "disputed", "clidis")
    assert code == 0 and f"sample {ids[0]}: annotator approve, annotator2 reject (duplicate)" in out
    code, out = run(db_url, "review", "drafts")
    assert code == 0 and "clidis: 1 draft(s) on 1 sample(s) by 1 people" in out
    code, out = run(db_url, "review", "rule", "clidis", "any-reject")
    assert code == 0
    with session_scope(engine) as s:
        assert s.scalar(select(Dataset.decision_rule).where(Dataset.id == ds)) == "any-reject"
