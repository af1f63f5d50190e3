"""Re-translation end to end: the real ``deepl`` client against the local fake DeepL server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import deepl.http_client
import pytest
from fake_deepl import MAX_BODY, FakeDeepL, fake_korean, wait_for
from sqlalchemy import Engine, func, select

from kocurate.db import session_scope
from kocurate.errors import ConfigError, PermissionDenied, StaleVersion
from kocurate.models import (
    Edit,
    Job,
    Sample,
    Setting,
    Suggestion,
    TranslationCache,
    Turn,
    utcnow,
)
from kocurate.services import jobs
from kocurate.services import translate as tr
from kocurate.services.auth import SYSTEM, Actor
from tests.seeding import count, seed_translated

CODE = (
    "Here is code:\n```python\ndef add(a, b):\n    return a + b  # sum\n```\nCall `add(1, 2)` with"
    " {name} and %s."
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDeepL]:
    srv = FakeDeepL().start()
    monkeypatch.setenv("DEEPL_AUTH_KEY", "test-key")
    monkeypatch.setenv("DEEPL_SERVER_URL", srv.url)
    # the client's own retry loop (429/5xx): keep its backoff short in tests
    monkeypatch.setattr(deepl.http_client._BackoffTimer, "BACKOFF_INITIAL", 0.01)
    yield srv
    srv.stop()


def seed(engine: Engine, n: int, texts: Any = None, name: str = "ds", turns: int = 2) -> int:
    """A dataset of ``n`` samples with ``turns`` turns each, English sources of kind
    "translation"."""
    return seed_translated(
        engine,
        n,
        ko=lambda i, j: f"번역 {i}-{j}",
        en=texts or (lambda i, j: f"Sample {i} turn {j}: please explain item number {i * 10 + j}."),
        turns=turns,
        name=name,
    )


def assert_billed_once(srv: FakeDeepL) -> None:
    assert srv.billed, "nothing was billed"
    assert max(srv.billed.values()) == 1, [t for t, n in srv.billed.items() if n > 1][:3]


def test_not_configured_says_how(
    engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEEPL_AUTH_KEY", raising=False)
    seed(engine, 1)
    assert not tr.deepl_configured()
    with session_scope(engine) as s, pytest.raises(ConfigError, match="DEEPL_AUTH_KEY"):
        tr.retranslate_turn(s, actors["annotator"], 1)
    with pytest.raises(ConfigError, match="DEEPL_SERVER_URL"):
        tr.start_batch(engine, actors["lead"], {})
    with session_scope(engine) as s:  # the estimate works without a key (no quota)
        est = tr.estimate(s, actors["lead"], {})
    assert est["quota"] is None and est["characters"] > 0
    # roles: annotators re-translate one turn; batches and the glossary are for leads
    ann = actors["annotator"]
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            tr.estimate(s, ann, {})
        with pytest.raises(PermissionDenied):
            tr.glossary_import(s, ann, "a,b\n")
    with pytest.raises(PermissionDenied):
        tr.start_batch(engine, ann, {})


def test_turn_suggestion_accept_and_cache(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 2, texts=lambda i, j: CODE if j == 1 else f"Question {i}")
    ann = actors["annotator"]
    with session_scope(engine) as s:
        turn = s.scalars(select(Turn).where(Turn.source_text == CODE)).first()
        turn_id, sample_id = turn.id, turn.sample_id
        sug = tr.retranslate_turn(s, ann, turn_id)
        text, sug_id = sug.text, sug.id
    # code block, inline code and placeholders byte for byte; the prose translated
    assert "```python\ndef add(a, b):\n    return a + b  # sum\n```" in text
    for span in ("`add(1, 2)`", "{name}", "%s"):
        assert span in text
    assert "Here is code" not in text
    req = server.ok_translate_requests[-1]
    assert req.params["tag_handling"] == "xml" and req.params["source_lang"] == "EN"
    assert req.params["target_lang"] == "KO" and "formality" not in req.params
    assert req.params["context"] == "Question 0"  # the other turn, unbilled
    assert "def add" not in "".join(req.texts)  # code is never sent nor billed
    with session_scope(engine) as s:
        view = tr.open_suggestions(s, sample_id)
        assert (
            [v["id"] for v in view] == [sug_id]
            and view[0]["current"] == "번역 0-1"
            and "+++ DeepL" in view[0]["diff"]
        )
        version = s.get(Sample, sample_id).version
        with pytest.raises(StaleVersion):
            tr.accept_suggestion(s, ann, sug_id, version + 5)
    with session_scope(engine) as s:
        new_version = tr.accept_suggestion(s, ann, sug_id, version)
    assert new_version == version + 1
    with session_scope(engine) as s:
        assert s.get(Turn, turn_id).text == text
        edit = s.scalars(select(Edit).where(Edit.turn_id == turn_id)).one()
        assert edit.kind == "machine" and edit.meta["engine"] == "deepl"
        assert edit.meta["options"]["tag_handling"] == "xml" and edit.user_id == ann.id
        assert s.get(Suggestion, sug_id).state == "accepted"
        assert tr.open_suggestions(s, sample_id) == []
    # the same turn again: answered from the cache, nothing billed twice
    n = len(server.translate_requests)
    with session_scope(engine) as s:
        again = tr.retranslate_turn(s, ann, turn_id)
        assert again.text == text
        tr.reject_suggestion(s, ann, again.id)
    assert len(server.translate_requests) == n
    # a whole sample: one request for its turns
    with session_scope(engine) as s:
        sugs = tr.retranslate_sample(s, ann, sample_id)
        assert len(sugs) == 2
    assert_billed_once(server)
    for secret in ("test-key",):  # the key is stored nowhere
        with session_scope(engine) as s:
            blobs = (
                [str(o) for o in s.scalars(select(Suggestion.options))]
                + [str(v) for v in s.scalars(select(Setting.value))]
                + [str(m) for m in s.scalars(select(Edit.meta))]
            )
        assert not any(secret in b for b in blobs)


def test_glossary_csv_sync_and_use(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 3, texts=lambda i, j: f"The perplexity of model {i} is low, said the Tokenizer.")
    lead = actors["lead"]
    with session_scope(engine) as s:
        out = tr.glossary_import(
            s, lead, "source,target,note\nperplexity,퍼플렉서티,metric\ntokenizer,토크나이저,\n"
        )
        assert out == {"added": 2, "updated": 0, "removed": 0}
        csv_text = tr.glossary_export(s, lead)
        assert "perplexity,퍼플렉서티,metric" in csv_text
        with pytest.raises(Exception, match="line 3"):
            tr.glossary_import(s, lead, "a,가\nb,나\nA,다\n")  # same term twice (case-insensitive)
    job = tr.start_batch(engine, lead, {"dataset": "ds"}, background=None)
    assert tr.run_batch(engine, job)["status"] == "done"
    assert len(server.glossaries) == 1
    ((gid, g),) = server.glossaries.items()
    assert (
        g["entries"] == {"perplexity": "퍼플렉서티", "tokenizer": "토크나이저"}
        and g["target_lang"] == "ko"
    )
    assert all(r.params.get("glossary_id") == gid for r in server.ok_translate_requests)
    with session_scope(engine) as s:
        texts = list(s.scalars(select(Suggestion.text)))
        assert texts and all("퍼플렉서티" in t and "토크나이저" in t for t in texts)
        assert tr.estimate(s, lead, {})["characters"] == 0  # all cached under this glossary
        # a changed term list makes a new DeepL glossary and deletes the old one
        tr.glossary_replace(s, lead, [{"source": "perplexity", "target": "당혹도"}])
        assert tr.estimate(s, lead, {})["characters"] > 0  # other terms, other translations
        state = tr.glossary_sync(s, lead)
        assert state["n"] == 1 and state["id"] != gid
        assert tr.glossary_status(s)["synced"]
    assert list(server.glossaries) == [state["id"]]


def test_batch_respects_limits_and_estimate(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    big = "A long paragraph about databases and indexes. " * 700  # ~32 KB each: four fill a request
    seed(
        engine,
        70,
        texts=lambda i, j: (
            big + str(i) if (i % 10 == 0 and j == 0) else f"Text {i}.{j} about cats."
        ),
    )
    lead = actors["lead"]
    with session_scope(engine) as s:
        est = tr.estimate(s, lead, {"dataset": "ds"})
    assert est["samples"] == 70 and est["turns"] == 140 and est["texts"] == 140
    assert est["quota"]["remaining"] == 10**9 and est["fits_quota"] is True
    assert est["estimated_cost_eur"] == round(est["characters"] * 20 / 1e6, 2)
    job = tr.start_batch(engine, lead, {"dataset": "ds"}, background=None)
    j = tr.run_batch(engine, job)
    assert j["status"] == "done", j["message"]
    reqs = server.translate_requests
    assert reqs and all(r.status == 200 for r in reqs)
    assert all(len(r.texts) <= 50 and r.body_bytes <= MAX_BODY for r in reqs)
    assert max(len(r.texts) for r in reqs) == 50
    assert server.total_billed == est["characters"]  # the estimate is what was billed
    assert_billed_once(server)
    assert count(engine, Suggestion) == 140 and count(engine, TranslationCache) == 140
    assert j["result"]["requests"] == len(reqs) == est["requests"]
    # all cached now: a second estimate costs nothing, a second run sends nothing
    with session_scope(engine) as s:
        est2 = tr.estimate(s, lead, {"dataset": "ds"})
    assert est2["characters"] == 0 and est2["cached_characters"] == est["characters"]
    j2 = tr.run_batch(engine, tr.start_batch(engine, lead, {"dataset": "ds"}, background=None))
    assert j2["status"] == "done" and j2["result"]["already_suggested"] == 140
    assert len(server.translate_requests) == len(reqs) and count(engine, Suggestion) == 140


def test_429_and_5xx_are_retried(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 60)
    server.fail_next(429, 2)
    server.fail_next(500, 1)
    server.fail_next(503, 1)
    j = tr.run_batch(engine, tr.start_batch(engine, actors["lead"], {}, background=None))
    assert j["status"] == "done", j["message"]
    statuses = [r.status for r in server.translate_requests]
    assert statuses[:5] == [429, 429, 500, 503, 200]  # the client's retries, not ours on top
    assert len(statuses) == 4 + 3  # 120 texts: 3 requests
    assert_billed_once(server)
    assert count(engine, Suggestion) == 120


def test_persistent_5xx_stops_resumable(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deepl.http_client, "max_network_retries", 2)
    seed(engine, 30)
    server.fail_next(503, 3)
    j = tr.run_batch(engine, tr.start_batch(engine, actors["lead"], {}, background=None))
    assert j["status"] == "failed" and "did not answer" in j["message"]
    assert len(server.translate_requests) == 3  # 1 try + 2 retries, no retry loop of our own
    j = tr.run_batch(engine, tr.resume_batch(engine, actors["lead"], j["id"], background=None))
    assert j["status"] == "done"
    assert_billed_once(server)


def test_quota_exceeded_stops_then_resume_bills_once(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 600)  # 1200 texts, 2 chunks of 500 samples
    with session_scope(engine) as s:
        est = tr.estimate(s, actors["lead"], {})
    server.character_limit = (
        est["characters"] * 92 // 100
    )  # runs out in the second chunk (texts 1001-1200)
    lead = actors["lead"]
    j = tr.run_batch(engine, tr.start_batch(engine, lead, {}, background=None))
    assert (
        j["status"] == "failed"
        and "quota exceeded" in j["message"].lower()
        and "456" in j["message"]
    )
    assert 500 <= j["done"] < 600
    billed_before = server.total_billed
    assert count(engine, TranslationCache) == sum(server.billed.values())  # every paid answer kept
    assert count(engine, Suggestion) == 1000  # the first chunk's results are there
    server.character_limit = 10**9
    j = tr.run_batch(engine, tr.resume_batch(engine, lead, j["id"], background=None))
    assert j["status"] == "done" and j["done"] == 600
    assert_billed_once(server)
    assert server.total_billed == est["characters"] > billed_before
    assert count(engine, Suggestion) == 1200
    with session_scope(engine) as s:
        dup = s.execute(
            select(Suggestion.turn_id).group_by(Suggestion.turn_id).having(func.count() > 1)
        ).all()
    assert dup == []


def test_bad_key_stops_with_clear_message(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine, 5)
    monkeypatch.setenv("DEEPL_AUTH_KEY", "wrong-key")
    j = tr.run_batch(engine, tr.start_batch(engine, actors["lead"], {}, background=None))
    assert j["status"] == "failed" and "403" in j["message"] and "DEEPL_AUTH_KEY" in j["message"]
    assert "wrong-key" not in j["message"]
    assert server.total_billed == 0 and count(engine, Suggestion) == 0
    assert len(server.translate_requests) == 1  # 403 is not retried
    monkeypatch.setenv("DEEPL_AUTH_KEY", "test-key")
    j = tr.run_batch(engine, tr.resume_batch(engine, actors["lead"], j["id"], background=None))
    assert j["status"] == "done" and count(engine, Suggestion) == 10


def test_apply_skips_hand_edited_samples(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    from kocurate.services.review import save_edit

    seed(engine, 4)
    lead = actors["lead"]
    with session_scope(engine) as s:
        first = s.scalars(select(Turn).order_by(Turn.id)).first()
        save_edit(s, actors["annotator"], first.sample_id, first.id, "사람이 고친 번역", 1)
    j = tr.run_batch(engine, tr.start_batch(engine, lead, {}, apply=True, background=None))
    assert j["status"] == "done" and j["result"]["applied"] == 6 and j["result"]["kept_manual"] == 2
    with session_scope(engine) as s:
        assert s.get(Turn, first.id).text == "사람이 고친 번역"
        assert (
            s.scalar(
                select(func.count())
                .select_from(Suggestion)
                .where(Suggestion.sample_id == first.sample_id, Suggestion.state == "open")
            )
            == 2
        )
        machine = s.scalars(select(Edit).where(Edit.kind == "machine")).all()
        assert len(machine) == 6 and all(
            e.meta["job_id"] == j["id"] and e.meta["engine"] == "deepl" for e in machine
        )
        assert all(s.get(Turn, e.turn_id).text == e.after for e in machine)


def test_changed_placeholder_is_retried_without_markup(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(
        engine,
        3,
        texts=lambda i, j: "Use `pip install x` now." if i == 1 else f"Plain text {i} {j}.",
    )
    server.mangle_placeholders = True  # the server drops placeholder tags
    j = tr.run_batch(engine, tr.start_batch(engine, actors["lead"], {}, background=None))
    # the two turns whose placeholder was lost are re-sent in pieces, the span kept here byte for
    # byte
    assert j["status"] == "done" and j["state"] == "done" and j["result"]["failed_turns"] == 0
    assert j["result"]["fallback_turns"] == 2
    with session_scope(engine) as s:
        texts = list(
            s.scalars(
                select(Suggestion.text)
                .join(Sample, Sample.id == Suggestion.sample_id)
                .where(Sample.key == "1")
            )
        )
    assert texts == [f"{fake_korean('Use')} `pip install x` {fake_korean('now')}."] * 2
    assert count(engine, Suggestion) == 6
    assert_billed_once(server)


def test_cancel_keeps_paid_work_and_resumes(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    seed(engine, 100)  # 200 texts: 4 requests
    lead = actors["lead"]
    server.hang_after(1)
    job = tr.start_batch(engine, lead, {}, background="thread")
    assert server.hanging.wait(30)
    with session_scope(engine) as s:
        assert jobs.get(s, job)["status"] == "running"
        jobs.cancel(s, lead, job)
    # the hung request fails (503); the client's retry succeeds; then the job stops
    server.release()
    assert wait_for(
        lambda: (
            jobs.get_dict(engine, job)["result"].get("requests", 0) >= 2
            and jobs.get_dict(engine, job)["status"] == "cancelled"
        )
    )
    assert wait_for(
        lambda: (
            not any(t.name == f"kocurate-job-{job}" for t in __import__("threading").enumerate())
        )
    )
    assert count(engine, Suggestion) == 0  # the chunk did not finish
    j = tr.run_batch(engine, tr.resume_batch(engine, lead, job, background=None))
    assert j["status"] == "done" and count(engine, Suggestion) == 200
    assert_billed_once(server)
    assert j["result"]["cache_hits"] == 100  # the two requests paid before the cancel


def test_job_runner_is_generic(
    engine: Engine, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    # the test's own job kind is gone afterwards (other tests list the registered kinds)
    monkeypatch.setattr(jobs.KINDS, "_entries", dict(jobs.KINDS._entries))

    @jobs.register("test_count", permission="check")
    def _count(eng: Engine, ctx: jobs.JobContext) -> dict[str, Any]:
        start = ctx.state.get("i", 0)
        for i in range(start, 5):
            if i == 3 and not ctx.state.get("crashed"):
                ctx.state["crashed"] = True
                raise RuntimeError("boom")
            seen.append(i)
            ctx.state["i"] = i + 1
            ctx.progress(i + 1, 5)
        return {"sum": sum(seen)}

    with session_scope(engine) as s:
        jid = jobs.create(s, actors["lead"], "test_count", {}, total=5)
    j = jobs.run(engine, jid)
    assert j["status"] == "failed" and "boom" in j["message"] and j["done"] == 3
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            jobs.resume(s, actors["annotator"], jid)
        jobs.resume(s, actors["lead"], jid)
    j = jobs.run(engine, jid)
    assert j["status"] == "done" and seen == [0, 1, 2, 3, 4] and j["result"]["sum"] == 10
    with session_scope(engine) as s:
        assert s.get(Job, jid).status == "done"
        with pytest.raises(jobs.JobError):
            jobs.resume(s, SYSTEM, jid)
        # a job "running" on another host with a fresh heartbeat is alive: no resume
        job = s.get(Job, jid)
        job.status, job.result = "running", {"_worker": {"host": "other-host", "pid": 1}}
        job.heartbeat_at = utcnow()
    with session_scope(engine) as s, pytest.raises(jobs.JobError, match="still running"):
        jobs.resume(s, actors["lead"], jid)


def test_config_free_key_and_secret_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    from kocurate.translate.client import FREE_API, PRO_API, DeepL, DeepLConfig, load_config

    monkeypatch.setenv("DEEPL_AUTH_KEY", "abc-secret:fx")
    monkeypatch.delenv("DEEPL_SERVER_URL", raising=False)
    cfg = load_config()
    assert cfg is not None and cfg.free and cfg.effective_url == FREE_API
    assert "abc-secret" not in repr(cfg)
    client = DeepL(cfg)
    assert client.server_url == FREE_API and client._client.server_url == FREE_API
    client.close()
    assert DeepLConfig("abc-secret").effective_url == PRO_API


def test_estimate_in_sql_for_large_selections(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine, 10)
    with session_scope(engine) as s:
        exact = tr.estimate(s, actors["lead"], {"dataset": "ds"})
        monkeypatch.setattr(tr, "EXACT_ESTIMATE_MAX", 5)
        approx = tr.estimate(s, actors["lead"], {"dataset": "ds"})
        half = tr.estimate(s, actors["lead"], {"dataset": "ds", "limit": 8})
    assert exact["exact"] and not approx["exact"]
    assert approx["turns"] == exact["turns"] == 20
    assert approx["characters"] == sum(
        len(f"Sample {i} turn {j}: please explain item number {i * 10 + j}.")
        for i in range(10)
        for j in range(2)
    )
    assert half["samples"] == 8 and half["turns"] == 16 and half["requests"] == 1


def test_no_write_lock_held_while_deepl_answers(
    db_url: str, engine: Engine, actors: dict[str, Actor], server: FakeDeepL
) -> None:
    import sqlite3
    import threading

    from kocurate.services.review import save_edit

    seed(engine, 2)
    server.hang_after(0)  # the first translate request waits until released
    out: dict[str, Any] = {}

    def work() -> None:
        with session_scope(engine) as s:
            out["text"] = tr.retranslate_turn(s, actors["annotator"], 1).text

    t = threading.Thread(target=work)
    t.start()
    assert server.hanging.wait(30)
    # meanwhile another annotator saves: nothing may be blocked by the pending DeepL call
    if db_url.startswith("sqlite"):
        raw = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=1, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")  # fails with "database is locked" if a writer held the lock
        raw.execute("ROLLBACK")
        raw.close()
    with session_scope(engine) as s:
        save_edit(s, actors["annotator2"], 2, 3, "다른 사람의 수정", 1)
    server.release()
    t.join(60)
    assert out["text"] and count(engine, Suggestion) == 1
    # the read-only connection went back to the pool as a normal one (writes begin IMMEDIATE again)
    conns = [engine.connect() for _ in range(engine.pool.checkedin() + 1)]
    try:
        assert all(c.info.get("write", True) for c in conns)
    finally:
        for c in conns:
            c.close()


def test_dead_worker_detection() -> None:
    import socket
    import subprocess
    import sys
    from datetime import timedelta

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    now = utcnow()
    cases = [
        ({"host": "other-host", "pid": 1}, now, False),
        ({"host": "other-host", "pid": 1}, now - timedelta(minutes=3), True),
        ({"host": socket.gethostname(), "pid": gone.pid}, now, True),  # process gone
        (
            {"host": socket.gethostname(), "pid": 1},
            now - timedelta(minutes=3),
            False,
        ),  # alive, slow
        ({"host": socket.gethostname(), "pid": 1}, now - timedelta(hours=1), True),
    ]  # alive but stuck
    for worker, beat, dead in cases:
        job = Job(
            kind="translate",
            status="running",
            result={"_worker": worker},
            heartbeat_at=beat,
            updated_at=beat,
        )
        assert jobs.is_dead(job) is dead, worker


def test_custom_instructions_are_sent_and_keyed(
    engine: Engine, actors: dict[str, Actor], server: FakeDeepL, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine, 1)
    monkeypatch.setenv(
        "KOCURATE_DEEPL_INSTRUCTIONS", "Keep code identifiers in English\n\nUse the 합니다 style\n"
    )
    with session_scope(engine) as s:
        tr.retranslate_sample(s, actors["annotator"], 1)
    assert server.ok_translate_requests[-1].params["custom_instructions"] == [
        "Keep code identifiers in English",
        "Use the 합니다 style",
    ]
    monkeypatch.delenv("KOCURATE_DEEPL_INSTRUCTIONS")
    with session_scope(
        engine
    ) as s:  # other instructions, another translation: not served from the cache
        tr.retranslate_sample(s, actors["annotator"], 1)
    assert (
        len(server.ok_translate_requests) == 2
        and "custom_instructions" not in server.ok_translate_requests[-1].params
    )
