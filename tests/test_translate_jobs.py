"""Honest batch jobs (issue 13): broken DeepL answers become plain messages, failed turns are listed
and retried without paying twice, a job that failed everywhere says so, budgets stop a job, job
starts are audited, the job card's review link counts open suggestions. Real ``deepl`` client
against the local fake server (tests/fake_deepl.py)."""

from __future__ import annotations

from collections.abc import Iterator

import deepl.http_client
import pytest
from fake_deepl import FakeDeepL, fake_korean
from sqlalchemy import Engine, select
from test_translate_deepl import assert_billed_once, count, seed
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.errors import KocurateError
from kocurate.models import AuditEvent, JobFailure, Sample, Suggestion, TranslationCache, Turn
from kocurate.services import jobs
from kocurate.services import translate as tr
from kocurate.services.auth import Actor
from kocurate.translate.client import DeepL, load_config


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDeepL]:
    srv = FakeDeepL().start()
    monkeypatch.setenv("DEEPL_AUTH_KEY", "test-key")
    monkeypatch.setenv("DEEPL_SERVER_URL", srv.url)
    monkeypatch.setattr(deepl.http_client._BackoffTimer, "BACKOFF_INITIAL", 0.01)
    monkeypatch.setattr(deepl.http_client, "max_network_retries", 1)
    yield srv
    srv.stop()


CODE = "Run `pip install x` and open https://example.com/a?b=1 with {name}."


@pytest.mark.parametrize("mode", ["malformed", "no_translations", "no_text"])
def test_unreadable_answers_are_plain_messages(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL, mode: str
) -> None:
    seed(engine, 2)
    server.answer_mode = mode
    with session_scope(engine) as s, pytest.raises(KocurateError) as info:
        tr.retranslate_sample(s, actors["annotator"], 1)
    msg = str(info.value)
    # what happened, what was kept, what to do; never a client-library exception
    assert (
        "DeepL" in msg and "Nothing from this request was kept" in msg and "Try again later" in msg
    )
    assert type(info.value).__module__.startswith("kocurate")
    j = tr.run_batch(engine, tr.start_batch(engine, actors["lead"], {}, background=None))
    assert (
        j["status"] == "failed"
        and j["state"] == "failed"
        and "Nothing from this request was kept" in j["message"]
    )
    server.answer_mode = None  # the server is fixed: resume finishes the job
    j = tr.run_batch(engine, tr.resume_batch(engine, actors["lead"], j["id"], background=None))
    assert j["status"] == "done" and count(engine, Suggestion) == 4


def test_missing_billed_characters_keeps_the_paid_translation(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 3)
    server.answer_mode = "no_billed"
    with session_scope(engine) as s:  # the review page's one-sample re-translation: no traceback
        sugs = tr.retranslate_sample(s, actors["annotator"], 1)
        assert [x.text for x in sugs] == [
            fake_korean(t.source_text)
            for t in s.scalars(select(Turn).where(Turn.sample_id == 1).order_by(Turn.idx))
        ]
    j = tr.run_batch(engine, tr.start_batch(engine, actors["lead"], {}, background=None))
    assert j["state"] == "done" and j["result"]["failed_turns"] == 0
    # characters counted here when DeepL does not say: the totals stay close to what was sent
    assert (
        j["result"]["billed_characters"]
        == server.total_billed - server.ok_translate_requests[0].billed
    )
    client = DeepL(load_config())  # type: ignore[arg-type]
    try:
        out = client.translate(
            ["<l>Hello</l>"], {"source_lang": "EN", "target_lang": "KO", "tag_handling": "xml"}
        )
    finally:
        client.close()
    assert out[0].billed_estimated and out[0].billed_characters == 5


def test_429_456_5xx_messages(engine: Engine, actors: dict[str, Actor], server: FakeDeepL) -> None:
    seed(engine, 2)
    ann = actors["annotator"]
    for status, words in (
        (429, "too many requests"),
        (503, "server error"),
        (456, "quota exceeded"),
    ):
        server.fail_next(status, 3)
        with session_scope(engine) as s, pytest.raises(KocurateError) as info:
            tr.retranslate_turn(s, ann, 1)
        msg = str(info.value).lower()
        assert words in msg and ("saved" in msg or "kept" in msg), msg
        server._failures.clear()  # noqa: SLF001
    assert count(engine, Suggestion) == 0


def test_dropped_markup_retried_in_pieces_spans_verified(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 2, texts=lambda i, j: CODE if j == 0 else f"Line one {i}.\nLine two {i}.")
    server.answer_mode = "drop_markup"  # as DeepL's API mock: every tag removed
    with session_scope(engine) as s:
        sug = tr.retranslate_turn(s, actors["annotator"], 1)
        assert (
            sug.text == f"{fake_korean('Run')} `pip install x` {fake_korean('and open')} "
            f"https://example.com/a?b=1 {fake_korean('with')} {{name}}."
        )
        two = tr.retranslate_turn(s, actors["annotator"], 2)
        assert two.text == f"{fake_korean('Line one')} 0.\n{fake_korean('Line two')} 0."
    j = tr.run_batch(
        engine, tr.start_batch(engine, actors["lead"], {"dataset": "ds"}, background=None)
    )
    assert (
        j["state"] == "done"
        and j["result"]["fallback_turns"] >= 2
        and j["result"]["failed_turns"] == 0
    )
    assert_billed_once(server)


def test_failed_everywhere_is_failed_then_retry_bills_nothing_twice(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 4)
    lead = actors["lead"]
    server.answer_mode = "drop_markup"
    server.reject_plain = (
        True  # the fallback fails too: every turn fails, the marked-up answers were billed
    )
    j = tr.run_batch(engine, tr.start_batch(engine, lead, {}, background=None))
    assert j["status"] == "failed" and j["state"] == "failed"
    assert j["result"]["failed_turns"] == 8 and j["result"]["billed_characters"] > 0
    assert "every turn failed" in j["message"] and "Retry failed turns" in j["message"]
    with session_scope(engine) as s:
        failed = tr.failed_turns(s, j["id"])
        assert len(failed) == 8 and {f["state"] for f in failed} == {"open"}
        assert all(f["dataset_id"] and f["sample_id"] for f in failed)
        assert "protected parts" in failed[0]["error"] and tr.count_failed_turns(s, j["id"]) == 8
    # a failed job whose turns are retried: the paid answers come from the cache, only pieces are
    # sent
    server.reject_plain = False
    billed_xml = {t for r in server.ok_translate_requests for t in r.texts if t.startswith("<l>")}
    n_before = len(server.ok_translate_requests)
    retry_id = tr.retry_failed(engine, lead, j["id"], background=None)
    r = tr.run_batch(engine, retry_id)
    assert (
        r["state"] == "done"
        and r["result"]["failed_turns"] == 0
        and r["result"]["suggestions"] == 8
    )
    assert r["params"]["retry_of"] == j["id"]
    sent_again = [t for rq in server.ok_translate_requests[n_before:] for t in rq.texts]
    assert sent_again and not billed_xml & set(sent_again) and not any("<" in t for t in sent_again)
    assert_billed_once(server)
    with session_scope(engine) as s:
        assert (
            tr.count_failed_turns(s, j["id"]) == 0
            and tr.count_failed_turns(s, j["id"], state="retried") == 8
        )
        counts = tr.open_suggestion_counts(s, [j["id"], retry_id])
        assert counts[j["id"]] == [] and counts[retry_id] == [
            {"dataset_id": 1, "dataset": "ds", "n": 8}
        ]
        starts = list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == "job_start").order_by(AuditEvent.id)
            )
        )
        assert [e.target for e in starts] == [f"job {j['id']}", f"job {retry_id}"]
        assert starts[1].details["retry_of"] == j["id"] and starts[1].details["paid"] is True
    with pytest.raises(KocurateError, match="no failed turns left"):
        tr.retry_failed(engine, lead, j["id"], background=None)


def test_done_with_errors_counts(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 3, texts=lambda i, j: "x" * (130 * 1024) if (i, j) == (1, 0) else f"Text {i} {j}.")
    j = tr.run_batch(engine, tr.start_batch(engine, actors["lead"], {}, background=None))
    assert j["status"] == "done" and j["state"] == "done with errors"
    assert j["result"]["failed_turns"] == 1 and j["result"]["suggestions"] == 5
    assert j["message"].startswith("done with errors")
    with session_scope(engine) as s:
        [f] = tr.failed_turns(s, j["id"])
        assert "too long" in f["error"]


def test_budget_stops_the_job_at_the_cap(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tr, "CHUNK_SAMPLES", 10)
    seed(engine, 60)  # 120 texts of ~48 characters, 50 texts a request
    lead = actors["lead"]
    with session_scope(engine) as s:
        est = tr.estimate(s, lead, {})
    cap = est["characters"] // 2
    j = tr.run_batch(
        engine, tr.start_batch(engine, lead, {}, background=None, max_characters=cap, estimate=est)
    )
    assert (
        j["status"] == "stopped" and "budget" in j["message"] and "--max-characters" in j["message"]
    )
    assert 0 < server.total_billed <= cap and 0 < j["done"] < 60
    assert count(engine, Suggestion) == 2 * j["done"]  # finished samples only, nothing half-done
    j = tr.run_batch(
        engine, tr.resume_batch(engine, lead, j["id"], background=None, max_characters=10**9)
    )
    assert j["status"] == "done" and j["done"] == 60 and count(engine, Suggestion) == 120
    assert_billed_once(server)
    with session_scope(engine) as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "job_start")).one()
        assert (
            ev.details["estimated_characters"] == est["characters"]
            and ev.details["max_characters"] == cap
        )
    with pytest.raises(KocurateError, match="budget"):
        tr.start_batch(engine, lead, {}, background=None, max_characters=0)
    with pytest.raises(KocurateError, match="no sample matches"):
        tr.start_batch(engine, lead, {"status": "approved"}, background=None)


def test_filters_in_words() -> None:
    assert tr.describe_filters({}) == "all samples"
    assert (
        tr.describe_filters({"dataset": 3, "check": "untranslated", "limit": 1000})
        == "dataset 3 · check untranslated · at most 1,000 samples"
    )
    assert "and 2 more" in tr.describe_filters({"sample_ids": list(range(7))})
    assert jobs.state_label("done", {"failed_turns": 2}) == "done with errors"
    assert jobs.state_label("done", {"failed_turns": 0}) == "done"


def test_cli_confirms_paid_jobs_and_retries(db_url: str, engine: Engine, server: FakeDeepL) -> None:
    seed(engine, 3)
    runner = CliRunner()
    out = runner.invoke(app, ["--db", db_url, "translate", "--dataset", "ds"], input="n\n")
    assert out.exit_code == 1 and "characters to bill" in out.output and "not started" in out.output
    assert count(engine, Suggestion) == 0 and server.total_billed == 0
    server.answer_mode = "drop_markup"
    server.reject_plain = True
    out = runner.invoke(app, ["--db", db_url, "translate", "--dataset", "ds"], input="y\n")
    assert out.exit_code == 1 and "failed" in out.output and "Traceback" not in out.output
    with session_scope(engine) as s:
        job_id = s.scalar(select(JobFailure.job_id))
    server.reject_plain = False
    out = runner.invoke(app, ["--db", db_url, "translate", "retry", str(job_id), "--yes"])
    assert out.exit_code == 0, out.output
    assert count(engine, Suggestion) == 6 and count(engine, TranslationCache) > 0
    seed(
        engine,
        3,
        name="ds2",
        texts=lambda i, j: f"Another text {i} {j}, long enough to pass the budget.",
    )
    out = runner.invoke(
        app, ["--db", db_url, "translate", "--dataset", "ds2", "--yes", "--max-characters", "5"]
    )
    assert out.exit_code == 1 and "budget" in out.output and "resume" in out.output
    with session_scope(engine) as s:
        assert s.scalar(select(Sample.id).limit(1)) is not None
