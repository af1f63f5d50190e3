"""`kocurate translate` / `glossary` / `jobs` from the command line, and a batch job killed
half-way."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import deepl.http_client
import pytest
from fake_deepl import FakeDeepL, wait_for
from sqlalchemy import Engine, func, select
from test_translate_deepl import assert_billed_once, count, seed
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.models import Job, Suggestion, Turn

runner = CliRunner()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDeepL]:
    srv = FakeDeepL().start()
    monkeypatch.setenv("DEEPL_AUTH_KEY", "test-key")
    monkeypatch.setenv("DEEPL_SERVER_URL", srv.url)
    monkeypatch.setattr(deepl.http_client._BackoffTimer, "BACKOFF_INITIAL", 0.01)
    yield srv
    srv.stop()


def cli(db_url: str, *args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["--db", db_url, *args])
    return res.exit_code, res.output


def test_kill_half_way_then_resume_bills_each_text_once(
    db_url: str, engine: Engine, server: FakeDeepL, tmp_path: Path
) -> None:
    seed(engine, 160)  # 320 texts: 7 requests
    server.hang_after(3)  # the 4th request hangs: the process is killed while it waits
    env = {**os.environ, "KOCURATE_DEEPL_BACKOFF_S": "0.01"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from kocurate.cli import main; main()",
            "--db",
            db_url,
            "translate",
            "--dataset",
            "ds",
            "--yes",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.hanging.wait(60), (
            proc.stderr.read().decode() if proc.poll() is not None else "no hang"
        )
        proc.kill()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    server.release()
    assert len(server.ok_translate_requests) == 3
    with session_scope(engine) as s:
        job = s.scalars(select(Job)).one()
        assert job.status == "running"  # what a crash leaves behind
        job_id = job.id
    assert count(engine, Suggestion) == 0  # the chunk never committed…
    paid = sum(server.billed.values())
    assert paid == 150  # …but the 3 paid answers (150 texts) are in the cache
    code, out = cli(db_url, "translate", "resume", str(job_id))
    assert code == 0, out
    assert "done" in out
    assert_billed_once(server)
    assert sum(server.billed.values()) == 320
    assert count(engine, Suggestion) == 320
    with session_scope(engine) as s:
        assert s.scalar(select(func.count(func.distinct(Suggestion.turn_id)))) == 320
        assert s.get(Job, job_id).status == "done"


def test_estimate_glossary_and_jobs_commands(
    db_url: str, engine: Engine, server: FakeDeepL, tmp_path: Path
) -> None:
    seed(engine, 5, texts=lambda i, j: f"The tokenizer splits text {i}.")
    code, out = cli(db_url, "translate", "--dataset", "ds", "--estimate")
    assert code == 0, out
    assert "samples: 5" in out and "texts to send: 5" in out and "remaining" in out and "EUR" in out
    csv_in = tmp_path / "g.csv"
    csv_in.write_text("source,target,note\ntokenizer,토크나이저,\n", encoding="utf-8")
    code, out = cli(db_url, "glossary", "import", str(csv_in), "--sync")
    assert code == 0 and "added 1" in out and "synced" in out, out
    code, out = cli(db_url, "glossary", "list")
    assert "tokenizer\t토크나이저" in out
    csv_out = tmp_path / "out.csv"
    assert cli(db_url, "glossary", "export", str(csv_out))[0] == 0
    assert "tokenizer,토크나이저" in csv_out.read_text(encoding="utf-8")
    # in the background: `kocurate jobs run 1` in its own process
    code, out = cli(
        db_url, "translate", "--dataset", "ds", "--limit", "3", "--apply", "--background", "--yes"
    )
    assert code == 0 and "job 1 started" in out, out
    assert wait_for(lambda: count(engine, Job, Job.status == "done") == 1, timeout=60)
    with session_scope(engine) as s:
        applied = [t for t in s.scalars(select(Turn.text)) if "토크나이저" in t]
    assert len(applied) == 6  # 3 samples × 2 turns
    code, out = cli(db_url, "jobs", "list")
    assert code == 0 and "translate" in out and "done" in out
    code, out = cli(db_url, "jobs", "show", "1")
    assert code == 0 and "3/3" in out


def test_cli_without_key_explains(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEEPL_AUTH_KEY", raising=False)
    seed(engine, 1)
    code, out = cli(db_url, "translate", "--dataset", "ds")
    assert code == 6 and "DEEPL_AUTH_KEY" in out


def test_serve_ships_the_production_look() -> None:
    """`kocurate serve` passes toolbarMode=viewer itself (any folder); the repo's config says the
    same."""
    import tomllib

    from kocurate.cli.serve import streamlit_command

    cmd = streamlit_command(8600, "127.0.0.1")
    assert cmd[cmd.index("--client.toolbarMode") + 1] == "viewer"
    assert cmd[cmd.index("--server.port") + 1] == "8600" and cmd[cmd.index("run") + 1].endswith(
        "asgi.py"
    )
    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "viewer"
    # no forced full garbage collection after every script run (it held the GIL ~90 ms per click
    # while the run's messages waited)
    assert cmd[cmd.index("--runner.postScriptGC") + 1] == "false"
    assert config["runner"]["postScriptGC"] is False


def test_serve_refuses_a_port_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second `kocurate serve` on a busy port says so and starts nothing (Streamlit alone would
    stop with a bare "Port … is not available" while the old server keeps answering)."""
    import socket
    import subprocess

    from typer.testing import CliRunner

    from kocurate.cli import app

    started: list[object] = []
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: started.append(a) or 0)
    db_url = f"sqlite:///{tmp_path / 'k.db'}"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = CliRunner().invoke(app, ["--db", db_url, "serve", "--port", str(port)])
    assert out.exit_code == 5, out.output
    assert (
        f"port {port} on 127.0.0.1 is in use" in out.output and f"--port {port + 1}" in out.output
    )
    assert started == [] and "Traceback" not in out.output
    # a free port starts the server
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    out = CliRunner().invoke(app, ["--db", db_url, "serve", "--port", str(free)])
    assert out.exit_code == 0 and len(started) == 1, out.output


def test_server_warm_up_freezes_the_imported_heap(tmp_path: Path) -> None:
    """After the warm-up, the objects alive (imported modules, word lists) are out of the
    collector's full collections, which then take ~0 ms instead of walking them all; its line in
    the timing log tells the browser benchmark the server is warm."""
    import os
    import subprocess
    import sys

    from kocurate import ui_speed

    log = tmp_path / "timing.log"

    code = (
        "import gc\n"
        "from kocurate import ui_speed\n"
        "ui_speed.warm_up_server()\n"
        "assert gc.get_freeze_count() > 50_000, gc.get_freeze_count()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, ui_speed.LOG_ENV: str(log)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r[1] for r in ui_speed.read_log(str(log))[0]] == [ui_speed.WARM_LABEL]
