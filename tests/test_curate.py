"""Issues 16/17 remainder (helper "curate"): risk-ordered review queues, "the best N by risk"
export, lead-kept fixes offered on a sample, the deep Korean run as a background job, finding spans
in context. Database tests run on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text

from kocurate.checks.korean.common import LEVELS_KEY
from kocurate.db import session_scope
from kocurate.errors import KocurateError, NotFound, PermissionDenied, StaleVersion
from kocurate.models import CheckFinding, Edit, Sample, SampleSignal, Setting, Turn, utcnow
from kocurate.services import export as export_service
from kocurate.services import jobs, korean, queue_order, tm
from kocurate.services import review as rv
from kocurate.services.auth import Actor
from tests.corpus_helpers import make_dataset, simple


def set_risk(engine: Engine, ds: int, scores: dict[int, float]) -> None:
    with session_scope(engine) as s:
        s.execute(
            insert(SampleSignal),
            [
                {"sample_id": sid, "dataset_id": ds, "risk": r, "updated_at": utcnow()}
                for sid, r in scores.items()
            ],
        )


# ------------------------------------------------------------------------------------ risk-ordered
# queue


def test_risk_queue_hands_out_highest_risk_first_ties_by_id_unscored_last(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, *simple(7))
    a, b, c, d, e, f, g = ids
    set_risk(engine, ds, {b: 0.9, d: 0.5, e: 0.9, a: 0.1})  # c, f, g: no score
    lead, ann = actors["lead"], actors["annotator"]
    with session_scope(engine) as s:
        assert queue_order.get_order(s, ds) == "id"
        with pytest.raises(PermissionDenied):
            queue_order.set_order(s, ann, ds, "risk")
        with pytest.raises(KocurateError, match="unknown queue order"):
            queue_order.set_order(s, lead, ds, "random")
        queue_order.set_order(s, lead, ds, "risk")
    got, after = [], None
    for _ in range(len(ids)):
        with session_scope(engine) as s:
            after = rv.next_sample(s, ann, ds, rv.QueueFilter(status=None), after=after)
            rv.submit_decision(s, ann, after, "approve")  # done by me: it does not come again
        got.append(after)
    assert got == [b, e, d, a, c, f, g]
    with session_scope(engine) as s:
        assert rv.next_sample(s, ann, ds, rv.QueueFilter(status=None), after=after) is None
        assert queue_order.scored_share(s, ds) == {"samples": 7, "scored": 4}


def test_risk_cursor_moves_on_from_the_sample_on_screen_and_wraps(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, *simple(5))
    a, b, c, d, e = ids
    set_risk(engine, ds, {a: 0.2, b: 0.8, c: 0.5})  # d, e unscored
    ann = actors["annotator"]
    f = rv.QueueFilter(status="new")
    with session_scope(engine) as s:
        # an explicit order wins over the dataset's setting (id); nothing is decided, claims only
        assert rv.next_sample(s, ann, ds, f, after=c, order="risk") == a
        assert rv.next_sample(s, ann, ds, f, after=a, order="risk") == d
        assert rv.next_sample(s, ann, ds, f, after=e, order="risk") == b  # wrapped to the top
        assert rv.next_sample(s, ann, ds, f, after=c, order="id") == d
        with pytest.raises(KocurateError, match="unknown queue order"):
            rv.next_sample(s, ann, ds, f, after=c, order="best")


def test_risk_queue_skips_samples_someone_else_holds(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(engine, *simple(3))
    set_risk(engine, ds, {ids[0]: 0.1, ids[1]: 0.9, ids[2]: 0.5})
    with session_scope(engine) as s:
        queue_order.set_order(s, actors["lead"], ds, "risk")
    with session_scope(engine) as s:
        assert rv.next_sample(s, actors["annotator"], ds) == ids[1]
    with session_scope(engine) as s:  # held by annotator: the next person gets the next riskiest
        assert rv.next_sample(s, actors["annotator2"], ds) == ids[2]


def test_risk_order_walks_its_index_on_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("query plan checked on SQLite")
    ds, ids = make_dataset(engine, *simple(3))
    stmt = queue_order._scored_stmt(
        ds, [Sample.dataset_id == ds, Sample.status == "new"], (0.5, ids[0])
    )
    with engine.connect() as c:
        sql = str(stmt.compile(c, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r[-1]) for r in c.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_sample_signals_dataset_risk_desc" in plan and "TEMP B-TREE" not in plan, plan


# ------------------------------------------------------------------------------------ export: best
# N by risk


def test_export_best_n_by_risk_takes_lowest_risk_first(
    engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    ds, ids = make_dataset(engine, *simple(6, status="approved"))
    set_risk(engine, ds, {ids[0]: 0.7, ids[1]: 0.05, ids[2]: 0.6, ids[3]: 0.2})  # 4, 5 unscored
    spec = export_service.ExportSpec(best=3, best_by="risk", seed=1)
    export_service.export(engine, actors["lead"], spec, tmp_path / "out")
    got = set()
    for path in (tmp_path / "out" / "data").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            got.add(json.loads(line)["kocurate"]["sample_id"])
    assert got == {ids[1], ids[3], ids[2]}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert (
        manifest["selection"]["spec"]["best"] == 3
        and manifest["selection"]["spec"]["best_by"] == "risk"
    )
    # unscored samples come after the scored ones (in seeded order)
    spec = export_service.ExportSpec(best=5, best_by="risk", seed=1)
    with session_scope(engine) as s:
        assert export_service.preview_counts(s, actors["lead"], spec)["total"] == 5
    with pytest.raises(KocurateError, match="unknown ranking 'stars'"):
        export_service.ExportSpec(best=3, best_by="stars").validate()
    with pytest.raises(KocurateError, match="give --best or --total"):
        export_service.ExportSpec(best=3, total=4).validate()


# ------------------------------------------------------------------------------------ kept fixes on
# a sample


def test_kept_fix_is_offered_on_the_sample_and_applies_in_one_click(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    ds, ids = make_dataset(
        engine,
        [
            [
                ("What is machine learning?", "기계 학습이란 무엇인가요?"),
                ("Machine learning is a field.", "기계 학습은 분야입니다."),
            ],
            [("Hello", "안녕하세요")],
        ],
    )
    lead, ann = actors["lead"], actors["annotator"]
    with session_scope(engine) as s:
        fix = tm.add_fix(s, lead, "기계 학습", "머신러닝", en_phrase="machine learning")
        other = tm.add_fix(
            s, lead, "기계 학습", "머신 러닝", en_phrase="deep learning"
        )  # English does not match
        tm.add_fix(s, lead, "안녕", "반가워", role="assistant")  # role does not match (user turn)
    with session_scope(engine) as s:
        offers = tm.offers_for_sample(s, ann, ids[0])
        assert [(o["fix_id"], o["turn_idx"]) for o in offers] == [(fix, 0), (fix, 1)]
        assert offers[0]["after"] == "머신러닝이란 무엇인가요?"
        assert other not in {o["fix_id"] for o in offers}
        assert tm.offers_for_sample(s, ann, ids[1]) == []
        turn0 = offers[0]["turn_id"]
        assert tm.use_fix(s, ann, fix, turn0, expected_version=1) == 2
    with session_scope(engine) as s:
        assert s.scalar(select(Turn.text).where(Turn.id == turn0)) == "머신러닝이란 무엇인가요?"
        e = s.scalars(select(Edit).where(Edit.turn_id == turn0)).one()
        assert e.meta == {"tm_fix": fix} and e.kind == "manual" and e.user_id == ann.id
        assert [o["turn_idx"] for o in tm.offers_for_sample(s, ann, ids[0])] == [1]
        with pytest.raises(StaleVersion):
            tm.use_fix(s, ann, fix, offers[1]["turn_id"], expected_version=1)
        with pytest.raises(KocurateError, match="no longer applies"):
            tm.use_fix(s, ann, fix, turn0, expected_version=2)
        tm.set_active(s, lead, fix, False)
        with pytest.raises(NotFound):
            tm.use_fix(s, ann, fix, offers[1]["turn_id"], expected_version=2)


# ------------------------------------------------------------------------------------ deep Korean
# run as a job

KO = [
    [
        ("Tell me about Python.", "Python는 프로그래밍 언어 입니다."),
        ("It is popular.", "파이썬은 인기가 많습니다. 배우기 쉬워요. 정말 좋아."),
    ],
    [("Hi", "안녕하세요."), ("Hello!", "안녕하세요! 무엇을 도와드릴까요?")],
]


def test_korean_run_as_background_job(engine: Engine, actors: dict[str, Actor]) -> None:
    ds, ids = make_dataset(engine, KO, name="ko")
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            korean.start_korean_job(s, actors["annotator"], ds)
        with pytest.raises(KocurateError, match="unknown Korean check"):
            korean.start_korean_job(s, actors["lead"], ds, ["ko_nothing"])
        job_id = korean.start_korean_job(s, actors["lead"], ds, workers=1)
        assert korean.latest_korean_job(s, ds)["status"] == "queued"
    out = jobs.run(engine, job_id)
    assert out["status"] == "done", out["message"]
    assert out["done"] == 2 and out["total"] == 2
    assert out["result"]["by_check"].get("ko_particle") == 1 and out["result"]["findings"] >= 1
    with session_scope(engine) as s:
        f = s.scalars(
            select(CheckFinding).where(
                CheckFinding.dataset_id == ds, CheckFinding.check == "ko_particle"
            )
        ).one()
        assert (f.sample_id, f.turn_idx) == (ids[0], 0)
        # the span lies on the particle after "Python"
        assert "Python는 프로그래밍 언어 입니다."[f.span_start : f.span_end] == "는"
        assert korean.latest_korean_job(s, ds)["id"] == job_id
        assert s.get(Setting, LEVELS_KEY.format(ds)) is not None
        assert korean.speech_levels(s, ds)["sampled_turns"] == 2


# ------------------------------------------------------------------------------------ spans in
# context


def test_span_context_and_marking() -> None:
    from kocurate import ui_curate as uc

    t = "가" * 30 + "Python는" + "나" * 30
    sp = uc.valid_span(t, (36, 37))
    assert sp == (36, 37)
    assert uc.in_context(t, sp, width=4) == "…thon[[는]]나나나나…"
    assert uc.in_context(t, sp, width=8) == "…가가Python[[는]]나나나나나나나나…"
    assert uc.marked("ab\ncd", (3, 4)) == "ab\n[[c]]d"
    assert uc.in_context("ab\ncd", (3, 4)) == "ab⏎[[c]]d"
    assert uc.valid_span(t, (0, 999)) is None and uc.valid_span(t, (None, None)) is None
    assert uc.valid_span("", (0, 0)) is None


# ------------------------------------------------------------------------------------ CLI


def test_cli_queue_order_and_export_best(db_url: str, engine: Engine, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kocurate.cli import app

    ds, ids = make_dataset(engine, *simple(4, status="approved"))
    set_risk(engine, ds, {ids[0]: 0.9, ids[1]: 0.1, ids[2]: 0.3})

    def run(*args: str) -> object:
        return CliRunner().invoke(app, ["--db", db_url, *args])

    res = run("queue-order", "ds")
    assert (
        res.exit_code == 0 and "ds: queue order id; 3 of 4 samples have a risk score" in res.output
    ), res.output
    res = run("queue-order", "ds", "--set", "risk")
    assert res.exit_code == 0 and "queue order risk" in res.output, res.output
    res = run("queue-order", "ds", "--set", "best")
    assert res.exit_code == 2 and "unknown queue order 'best'" in res.output
    res = run("export", str(tmp_path / "out"), "--best", "2", "--by", "risk")
    assert res.exit_code == 0, res.output
    got = {
        json.loads(line)["kocurate"]["sample_id"]
        for p in (tmp_path / "out" / "data").glob("*.jsonl")
        for line in p.read_text(encoding="utf-8").splitlines()
    }
    assert got == {ids[1], ids[2]}
    res = run("export", str(tmp_path / "out2"), "--best", "2", "--by", "stars")
    assert res.exit_code == 2 and "unknown ranking 'stars'" in res.output


# ------------------------------------------------------------------------------------ replace
# preview speed paths


def test_required_literal_of_a_regex() -> None:
    from kocurate.services.replace import ReplaceSpec, required_literal

    assert required_literal(r"기계 학습(을|은|이)?") == "기계 학습"
    assert required_literal(r"\d+ 개의 (사과|배)") == " 개의 "
    assert (
        required_literal(r"사과|배") is None
    )  # alternation at the top: no literal every match has
    assert required_literal(r"(?i)python") is None and required_literal(r"[a-z]+") is None
    assert ReplaceSpec("abc", "x").required_literal() == "abc"
    assert ReplaceSpec("abc", "x", ignore_case=True).required_literal() is None


def test_rare_phrase_preview_through_the_search_index_matches_the_scan(
    engine: Engine, actors: dict[str, Actor]
) -> None:
    from kocurate.services import bulk, replace

    pairs = [
        [
            (f"Question {i}", f"질문 {i} 입니다"),
            (f"Answer {i}", "틀린 번역 문구가 있다" if i in (3, 40) else f"답 {i}"),
        ]
        for i in range(60)
    ]
    make_dataset(engine, pairs)
    lead = actors["lead"]
    with session_scope(engine) as s:
        if engine.dialect.name == "sqlite":
            assert replace._fts_narrows(s, "틀린 번역")  # rare: the index drives
            assert not replace._fts_narrows(s, "입니다")  # in every sample: the plain scan
        for spec in (
            replace.ReplaceSpec("틀린 번역", "바른 번역"),
            replace.ReplaceSpec(r"틀린 (번역|말) 문구", r"바른 \1 문구", regex=True),
        ):
            p = replace.preview(s, lead, bulk.Selection(), spec)
            assert (p["samples"], p["turns"], p["occurrences"]) == (2, 2, 2)
            assert p["changes"][0]["after"] == "바른 번역 문구가 있다"
        p = replace.preview(
            s, lead, bulk.Selection(), replace.ReplaceSpec(r"\d+ 입니다", "번 입니다", regex=True)
        )
        assert p["samples"] == 60


def test_a_speech_level_finding_marks_every_ending_that_does_not_fit() -> None:
    from kocurate import ui_curate as uc
    from kocurate.checks import run_samples, select_checks
    from kocurate.checks.base import SampleView, TurnView

    text = (
        "오늘은 맑습니다. 기온은 20도입니다. 우산은 필요 없어. 바람도 약해. 즐거운 하루 보내세요."
    )
    sample = SampleView(1, 1, [TurnView(0, "user", "날씨 알려줘.", None, None)])
    sample.turns.append(TurnView(1, "assistant", text, None, None))
    (f,) = run_samples([sample], select_checks(["ko_speech_level"]))
    finding = {"span": f.span, "data": f.data}
    spans = uc.finding_spans(text, finding)
    assert [text[a:b] for a, b in spans] == ["없어", "약해"]  # both plain endings, not the first
    assert uc.marked(text, *spans).count("[[") == 2
    assert "[[없어]]. 바람도 [[약해]]." in uc.marked(text, *spans)
    # a span outside the text (an older version) is left out; overlapping places merge
    assert uc.finding_spans("짧다", finding) == []
    over = {"span": (0, 3), "data": {"endings": [[2, 5, "hae"], [7, 8, "hae"]]}}
    assert uc.finding_spans("가나다라마바사아", over) == [(0, 5), (7, 8)]
