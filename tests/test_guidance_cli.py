"""CLI of team guidance: `kocurate guidelines set/show/history/diff`, `kocurate comments
list/add/resolve`."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from kocurate.cli import app
from kocurate.db import session_scope
from kocurate.demo import HERE, create_demo
from kocurate.ingest import import_files
from kocurate.models import Sample
from kocurate.services import comments as cm
from kocurate.services import guidelines as gl
from kocurate.services.auth import Actor


def run(db_url: str, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["--db", db_url, *args])
    return res.exit_code, res.output


def test_cli_guidelines(
    db_url: str, engine: Engine, actors: dict[str, Actor], tmp_path: Path
) -> None:
    import_files(
        engine, "koalpaca", HERE / "koalpaca_ko.json", HERE / "alpaca_en.json", name="demo-ko"
    )
    f = tmp_path / "g.md"
    f.write_text("# 규칙\n\n## 비난 {#censure}\n깎아내림\n", encoding="utf-8")
    code, out = run(db_url, "guidelines", "show")
    assert code == 3 and "no guidelines for the project" in out
    code, out = run(db_url, "guidelines", "set", str(f), "--as", "annotator")
    assert code == 4 and "annotator (annotator) may not configure" in out and "Traceback" not in out
    code, out = run(db_url, "guidelines", "set", str(f), "--as", "lead", "--note", "first")
    assert code == 0 and "version 1 saved by lead" in out
    code, out = run(db_url, "guidelines", "set", str(f), "--as", "lead")
    assert code == 0 and "unchanged" in out
    f.write_text("# 규칙\n\n## 비난 {#censure}\n근거 없이 깎아내림\n", encoding="utf-8")
    code, out = run(db_url, "guidelines", "set", str(f), "--dataset", "demo-ko")
    assert code == 0 and "dataset demo-ko: version 1 saved by cli" in out
    code, out = run(db_url, "guidelines", "set", str(f))
    assert code == 0 and "version 2" in out
    code, out = run(db_url, "guidelines", "show", "--dataset", "demo-ko", "--section", "censure")
    assert code == 0 and "### 비난" not in out and "## 비난" in out and "근거 없이" in out
    code, out = run(db_url, "guidelines", "show", "--version", "1")
    assert code == 0 and "근거 없이" not in out and "깎아내림" in out
    code, out = run(db_url, "guidelines", "show", "--section", "nope")
    assert code == 3 and "censure" in out
    code, out = run(db_url, "guidelines", "history", "--diff")
    assert (
        code == 0
        and "v2" in out
        and "lead" in out
        and "first" in out
        and "+근거 없이 깎아내림" in out
    )
    code, out = run(db_url, "guidelines", "diff", "2", "--against", "1")
    assert code == 0 and "-깎아내림" in out
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"# ok\n\xff\n")
    code, out = run(db_url, "guidelines", "set", str(bad))
    assert code == 2 and "bad.md: not UTF-8 (byte 5)" in out
    code, out = run(db_url, "guidelines", "set", str(tmp_path / "missing.md"))
    assert code == 2 and "missing.md: cannot read" in out


def test_cli_comments(db_url: str, engine: Engine, actors: dict[str, Actor]) -> None:
    rep = import_files(
        engine, "koalpaca", HERE / "koalpaca_ko.json", HERE / "alpaca_en.json", name="demo-ko"
    )
    with session_scope(engine) as s:
        sid = s.scalar(
            select(Sample.id).where(Sample.dataset_id == rep.dataset_id).order_by(Sample.id)
        )
    code, out = run(
        db_url, "comments", "add", str(sid), "비난인가요? @lead", "--turn", "1", "--as", "annotator"
    )
    assert code == 0 and "mentions @lead" in out
    cid = int(out.split()[1])
    code, out = run(db_url, "comments", "add", str(sid), "hi @ghost")
    assert code == 2 and "no active user named @ghost" in out
    code, out = run(db_url, "comments", "list", "--open")
    assert code == 0 and f"#{cid} sample {sid} turn 1 · annotator" in out and "비난인가요?" in out
    code, out = run(db_url, "comments", "list", "--open", "--as", "annotator")
    assert code == 4 and "may not adjudicate" in out
    code, out = run(
        db_url, "comments", "add", "0", "네, 비난입니다", "--reply-to", str(cid), "--as", "lead"
    )
    assert code == 0 and f"thread {cid}" in out
    code, out = run(db_url, "comments", "list", "--sample", str(sid), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["author"] for r in rows] == ["annotator", "lead"] and rows[1]["thread"] == cid
    code, out = run(db_url, "comments", "resolve", str(cid), "--as", "annotator2")
    assert code == 4 and "its author or a lead" in out
    code, out = run(db_url, "comments", "resolve", str(cid), "--as", "annotator")
    assert code == 0 and "resolved" in out
    code, out = run(db_url, "comments", "list", "--open", "--dataset", "demo-ko")
    assert code == 0 and "no open threads" in out
    code, out = run(db_url, "comments", "resolve", str(cid), "--reopen")
    assert code == 0 and "reopened" in out
    with session_scope(engine) as s:
        assert (
            cm.unread_count(s, actors["lead"]) == 1 and cm.unread_count(s, actors["annotator"]) == 1
        )


def test_demo_installs_the_default_guidelines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    info = create_demo(url)
    assert "project guidelines" in info["message"]
    from kocurate import db

    with session_scope(db.get_engine(url)) as s:
        v = gl.effective(s, None)
        assert v is not None and v.body == gl.default_text() and v.version == 1
    assert "project guidelines" not in create_demo(url)["message"]  # once
