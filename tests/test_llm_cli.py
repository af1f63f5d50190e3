"""`kocurate llm …` from the command line, and a batch killed half-way then resumed (nothing paid
twice)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI
from sqlalchemy import Engine, select, update
from test_llm import KEY, MODEL, count, seed, turn_id
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.llm import CHECK
from kocurate.models import CheckFinding, Job, LLMGrade, Sample, Suggestion

runner = CliRunner()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    srv = FakeOpenAI(KEY).start()
    monkeypatch.setenv("KOCURATE_LLM_BASE_URL", srv.url)
    monkeypatch.setenv("KOCURATE_LLM_MODEL", MODEL)
    monkeypatch.setenv("KOCURATE_LLM_API_KEY", KEY)
    monkeypatch.setenv("KOCURATE_LLM_RETRIES", "0")
    monkeypatch.setenv("KOCURATE_LLM_PRICES", json.dumps({MODEL: [1.0, 2.0]}))
    yield srv
    srv.release()
    srv.stop()


def cli(db_url: str, *args: str, input: str | None = None) -> tuple[int, str]:
    res = runner.invoke(app, ["--db", db_url, *args], input=input)
    return res.exit_code, res.output


def test_grade_suggest_evaluate_commands(db_url: str, engine: Engine, server: FakeOpenAI) -> None:
    seed(
        engine,
        4,
        turns=1,
        ko=lambda i, j: "Tell us some jokes now" if i < 2 else "농담 좀 해 줘",
        en=lambda i, j: "Tell us some jokes now",
    )
    code, out = cli(db_url, "llm", "estimate", "grade", "--dataset", "ds")
    assert code == 0 and "turns 4" in out and "requests: 1" in out and "USD" in out, out
    assert server.requests == []
    code, out = cli(
        db_url, "llm", "grade", "--dataset", "ds", input="n\n"
    )  # asks first; "no" sends nothing
    assert code == 1 and "start?" in out and server.requests == []
    code, out = cli(db_url, "llm", "grade", "--dataset", "ds", "--yes")
    assert code == 0 and "done" in out and "2 findings" in out, out
    assert count(engine, CheckFinding, CheckFinding.check == CHECK) == 2
    code, out = cli(db_url, "llm", "grade", "--turn", str(turn_id(engine, 0, 0)))
    assert (
        code == 0 and "untranslated/major" in out and len(server.completions) == 1
    )  # from the cache
    code, out = cli(db_url, "llm", "suggest", "--turn", str(turn_id(engine, 0, 0)))
    assert code == 0 and "suggestion" in out
    assert count(engine, Suggestion, Suggestion.engine == "llm") == 1
    with session_scope(engine) as s:
        ids = s.scalars(select(Sample.id).order_by(Sample.id)).all()
        s.execute(update(Sample).where(Sample.id.in_([ids[0], ids[2]])).values(status="rejected"))
        s.execute(update(Sample).where(Sample.id.in_([ids[1], ids[3]])).values(status="approved"))
    code, out = cli(db_url, "llm", "evaluate", "--json")
    ev = json.loads(out)
    assert code == 0 and (ev["samples"]["tp"], ev["samples"]["fp"], ev["samples"]["fn"]) == (
        1,
        1,
        1,
    )
    code, out = cli(db_url, "llm", "evaluate")
    assert code == 0 and "precision 50.0%" in out and "recall 50.0%" in out
    code, out = cli(db_url, "llm", "config")
    assert code == 0 and MODEL in out and KEY not in out


def test_not_configured_and_bad_input_are_one_line(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine, 1, turns=1)
    monkeypatch.delenv("KOCURATE_LLM_BASE_URL", raising=False)
    code, out = cli(db_url, "llm", "grade", "--yes")
    assert code == 6 and "KOCURATE_LLM_BASE_URL" in out and "Traceback" not in out
    code, out = cli(db_url, "llm", "estimate", "translate")
    assert code == 2 and "unknown task" in out and "Traceback" not in out
    code, out = cli(db_url, "llm", "grade", "--turn", "999999")
    assert code == 6 and "KOCURATE_LLM" in out
    monkeypatch.setenv("KOCURATE_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("KOCURATE_LLM_MODEL", MODEL)
    monkeypatch.setenv("KOCURATE_LLM_API_KEY", KEY)
    monkeypatch.setenv("KOCURATE_LLM_PRICES", "{not json")
    code, out = cli(db_url, "llm", "config")
    assert code == 6 and "KOCURATE_LLM_PRICES" in out and "Traceback" not in out
    monkeypatch.delenv("KOCURATE_LLM_PRICES")
    monkeypatch.setenv("KOCURATE_LLM_RETRIES", "0")
    code, out = cli(
        db_url, "llm", "grade", "--turn", str(turn_id(engine, 0, 0))
    )  # nothing listens there
    assert code == 1 and "unavailable" in out and KEY not in out and "Traceback" not in out


def test_kill_half_way_then_resume_pays_each_turn_once(
    db_url: str, engine: Engine, server: FakeOpenAI
) -> None:
    seed(
        engine, 300, turns=2
    )  # 600 turns: 30 requests of 20; chunks of 200 samples = 20 + 10 requests
    server.hang_after(
        24
    )  # the 25th request (the 5th of the second chunk) hangs: the process is killed meanwhile
    env = {**os.environ, "KOCURATE_LLM_CONCURRENCY": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from kocurate.cli import main; main()",
            "--db",
            db_url,
            "llm",
            "grade",
            "--yes",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.hanging.wait(90), (
            proc.stderr.read().decode() if proc.poll() is not None else "no hang"
        )
        proc.kill()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    server.release()
    with session_scope(engine) as s:
        job = s.scalars(select(Job).where(Job.kind == "llm")).one()
        job_id, status, done = job.id, job.status, job.done
    assert status == "running" and done == 200  # the first chunk committed with its resume point
    assert count(engine, LLMGrade) == 400
    first = [
        json.dumps({k: v for k, v in i.items() if k != "id"}, sort_keys=True)
        for r in server.completions
        for i in r.items
    ]
    assert len(first) == 24 * 20
    server.reset_counts()
    code, out = cli(db_url, "llm", "resume", str(job_id))
    assert code == 0 and "done" in out, out
    again = [
        json.dumps({k: v for k, v in i.items() if k != "id"}, sort_keys=True)
        for r in server.completions
        for i in r.items
    ]
    assert not set(first) & set(again), "a turn was paid twice"
    assert len(first) + len(again) == 600 and count(engine, LLMGrade) == 600
    with session_scope(engine) as s:
        assert (
            s.get(Job, job_id).result["cache_hits"] == 80
        )  # answered before the kill, not asked again


def test_background_job_runs_in_its_own_process(
    db_url: str, engine: Engine, server: FakeOpenAI
) -> None:
    from fake_deepl import wait_for

    seed(engine, 30, turns=2)
    code, out = cli(db_url, "llm", "suggest", "--yes", "--background", "--limit", "10")
    assert code == 0 and "kocurate jobs show" in out, out
    job_id = int(out.split("job ")[-1].split()[0])
    assert wait_for(lambda: count(engine, Job, Job.id == job_id, Job.status == "done") == 1, 60)
    assert count(engine, Suggestion, Suggestion.engine == "llm") == 20
    code, out = cli(db_url, "jobs", "show", str(job_id))
    assert code == 0 and "(llm): done 10/10" in out
