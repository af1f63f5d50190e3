"""`kocurate backup` / `restore`: SQLite online backup API while people write;
pg_dump/pg_restore."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from kocurate import db
from kocurate.cli import app
from kocurate.errors import KocurateError, PermissionDenied
from kocurate.ingest import import_files
from kocurate.models import Dataset, Sample, Setting, Turn, utcnow
from kocurate.services import backup as backup_service
from kocurate.services.auth import SYSTEM

DEMO = Path(__file__).resolve().parents[1] / "kocurate" / "demo"


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as c:
        return (
            c.execute(select(func.count()).select_from(Dataset)).scalar(),
            c.execute(select(func.count()).select_from(Sample)).scalar(),
            c.execute(select(func.count()).select_from(Turn)).scalar(),
        )


def _texts(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return list(c.execute(select(Turn.text).order_by(Turn.id)).scalars())


def test_backup_change_restore(engine: Engine, db_url: str, actors: dict, tmp_path: Path) -> None:
    if db_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    import_files(
        engine, "sharegpt", DEMO / "sharegpt_ko.json", DEMO / "sharegpt_en.json", name="sg"
    )
    with db.session_scope(engine) as s:
        s.execute(
            text("UPDATE turns SET text = :t WHERE id = (SELECT min(id) FROM turns)"),
            {"t": "백업 전 \u200b<b>x</b> '; --"},
        )
    want, texts = _counts(engine), _texts(engine)
    out = tmp_path / ("b.db" if db_url.startswith("sqlite") else "b.dump")
    rep = backup_service.backup(engine, SYSTEM, out)
    assert out.is_file() and rep.bytes == out.stat().st_size > 0
    assert rep.revision == db.head_revision() and rep.counts["samples"] == want[1]
    assert not list(tmp_path.glob(".b.*tmp*"))  # the temporary name is gone
    with pytest.raises(KocurateError, match="exists already"):
        backup_service.backup(engine, SYSTEM, out)

    # the team keeps working: a new dataset, an edit, a deletion
    import_files(engine, "koalpaca", DEMO / "koalpaca_ko.json", DEMO / "alpaca_en.json", name="ka")
    with db.session_scope(engine) as s:
        s.execute(
            text(
                "UPDATE turns SET text = 'changed' WHERE id = (SELECT max(id) FROM turns WHERE"
                " sample_id = (SELECT min(id) FROM samples))"
            )
        )
    assert _counts(engine) != want

    with pytest.raises(PermissionDenied):
        backup_service.restore(engine, actors["lead"], out)
    rep2 = backup_service.restore(engine, SYSTEM, out)
    assert _counts(engine) == want and _texts(engine) == texts
    assert rep2.revision == db.head_revision()
    if db_url.startswith("sqlite"):  # the state before the restore is kept beside the database
        kept = Path(rep2.kept_copy)
        assert kept.is_file()
        k = db.make_engine(f"sqlite:///{kept}")
        assert _counts(k)[0] == 2
        k.dispose()
    # the restored database takes new work (ids do not collide)
    import_files(engine, "koalpaca", DEMO / "koalpaca_ko.json", DEMO / "alpaca_en.json", name="ka2")


def test_sqlite_backup_while_writers_write(tmp_path: Path, sqlite_template: Path) -> None:
    """The online backup is a consistent snapshot even while another thread commits (WAL)."""
    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    eng = db.make_engine(f"sqlite:///{path}")
    import_files(eng, "sharegpt", DEMO / "sharegpt_ko.json", DEMO / "sharegpt_en.json", name="sg")
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            with db.session_scope(eng) as s:
                s.add(Setting(key=f"k{i}", value={"i": i}, updated_at=utcnow()))
            written.append(i)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        while len(written) < 20:
            time.sleep(0.005)
        reps = []
        for i in range(3):  # each backup is taken while the writer keeps committing
            reps.append(backup_service.backup(eng, SYSTEM, tmp_path / f"b{i}.db"))
            time.sleep(0.02)
    finally:
        stop.set()
        t.join()
    assert len(written) >= 20
    for r in reps:
        con = sqlite3.connect(r.path)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (
            con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        )  # one self-contained file
        keys = sorted(int(k[1:]) for (k,) in con.execute("SELECT key FROM settings"))
        con.close()
        assert keys == list(
            range(len(keys))
        )  # a prefix of the commits: nothing torn, nothing missing
    eng.dispose()


def test_restore_refuses_bad_files_and_changes_nothing(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    import_files(
        engine, "sharegpt", DEMO / "sharegpt_ko.json", DEMO / "sharegpt_en.json", name="sg"
    )
    want = _counts(engine)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    with pytest.raises(KocurateError, match=str(junk)):
        backup_service.restore(engine, SYSTEM, junk)
    with pytest.raises(KocurateError, match="no backup file"):
        backup_service.restore(engine, SYSTEM, tmp_path / "missing.db")
    if db_url.startswith("sqlite"):
        other = tmp_path / "other.db"
        sqlite3.connect(other).execute("CREATE TABLE t(x)").connection.commit()
        with pytest.raises(KocurateError, match="not a kocurate database"):
            backup_service.restore(engine, SYSTEM, other)
        newer = tmp_path / "newer.db"
        backup_service.backup(engine, SYSTEM, newer)
        con = sqlite3.connect(newer)
        con.execute("UPDATE alembic_version SET version_num = '9999'")
        con.commit()
        con.close()
        with pytest.raises(KocurateError, match="newer kocurate"):
            backup_service.restore(engine, SYSTEM, newer)
    assert _counts(engine) == want


def test_backup_refusals(engine: Engine, actors: dict, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        backup_service.backup(engine, actors["lead"], tmp_path / "x.db")
    with pytest.raises(KocurateError, match="no folder"):
        backup_service.backup(engine, SYSTEM, tmp_path / "nope" / "x.db")
    assert not (tmp_path / "x.db").exists()


def test_pg_guidance_hides_the_password() -> None:
    g = backup_service.pg_guidance(
        "postgresql+psycopg://kc:s3cret-pw@db.example:5433/kocurate", "/b/k.dump"
    )
    assert "s3cret-pw" not in g and "pg_dump" in g and "pg_restore" in g and "-p 5433" in g
    env = backup_service._pg_env(backup_service._url("postgresql+psycopg://kc:s3cret-pw@h:5433/k"))
    assert (
        env["PGPASSWORD"] == "s3cret-pw" and env["PGDATABASE"] == "k"
    )  # via the environment, not argv


def test_cli_backup_restore(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    eng = db.make_engine(f"sqlite:///{path}")
    import_files(eng, "sharegpt", DEMO / "sharegpt_ko.json", DEMO / "sharegpt_en.json", name="sg")
    want = _counts(eng)
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(path), "backup", str(tmp_path / "b.db")])
    assert res.exit_code == 0 and "backup written" in res.output, res.output
    with db.session_scope(eng) as s:
        s.execute(text("DELETE FROM datasets"))
    assert _counts(eng)[1] == 0
    res = runner.invoke(app, ["--db", str(path), "restore", str(tmp_path / "b.db")], input="n\n")
    assert res.exit_code == 1 and _counts(eng)[1] == 0  # said no: nothing happened
    res = runner.invoke(app, ["--db", str(path), "restore", str(tmp_path / "b.db"), "--yes"])
    assert res.exit_code == 0, res.output
    assert _counts(eng) == want
    res = runner.invoke(app, ["--db", str(path), "restore", str(tmp_path / "missing.db"), "--yes"])
    assert res.exit_code == 3 and "no backup file" in res.output
    eng.dispose()


def test_cli_backup_on_postgresql_without_pg_dump_gives_the_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump anywhere
    url = "postgresql+psycopg://kc:s3cret-pw@127.0.0.1:1/kocurate"
    res = CliRunner().invoke(app, ["--db", url, "backup", str(tmp_path / "k.dump")])
    assert res.exit_code == 6
    assert "pg_dump --format=custom" in res.output and "pg_restore" in res.output
    assert "s3cret-pw" not in res.output and not (tmp_path / "k.dump").exists()


# ------------------------------------------------------------------ issue 20.13 / 20.15


def test_pg_backup_report_counts_what_is_in_the_dump(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user added while pg_dump runs is not in the dump, so the report must not count it
    either."""
    if not db_url.startswith("postgresql") or shutil.which("pg_dump") is None:
        pytest.skip("PostgreSQL with pg_dump only")
    from kocurate.services import users as user_service

    real_run = backup_service._run

    def run_and_write_meanwhile(cmd: list[str], url: object, what: str) -> None:
        real_run(cmd, url, what)  # type: ignore[arg-type]
        if what == "pg_dump":  # someone keeps working while (and right after) the dump is written
            with db.session_scope(engine) as s:
                user_service.create_user(s, SYSTEM, "late-arrival", "annotator", "late-arrival-pw")

    monkeypatch.setattr(backup_service, "_run", run_and_write_meanwhile)
    with db.session_scope(engine) as s:
        before = len(user_service.list_users(s, SYSTEM))
    rep = backup_service.backup(engine, SYSTEM, tmp_path / "b.dump")
    monkeypatch.setattr(backup_service, "_run", real_run)
    with db.session_scope(engine) as s:
        assert len(user_service.list_users(s, SYSTEM)) == before + 1
    assert rep.counts["users"] == before
    # and the dump really holds that many: restore it and count
    restored = backup_service.restore(engine, SYSTEM, tmp_path / "b.dump")
    assert restored.counts == rep.counts


def test_database_and_backup_files_are_private(tmp_path: Path) -> None:
    import stat

    path = tmp_path / "fresh.db"
    db.upgrade(f"sqlite:///{path}")
    eng = db.make_engine(f"sqlite:///{path}")
    with db.session_scope(eng) as s:
        s.execute(text("SELECT 1"))
    for f in [path, *tmp_path.glob("fresh.db-*")]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    out = tmp_path / "b.db"
    backup_service.backup(eng, SYSTEM, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    eng.dispose()


def test_cli_creates_private_files(tmp_path: Path) -> None:
    """Databases, backups and exports written by the CLI are owner-only (umask 077)."""
    import os
    import stat
    import subprocess
    import sys

    code = "import sys; from kocurate.cli import main; sys.argv[0] = 'kocurate'; main()"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, "--db", str(tmp_path / "k.db"), *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ},
            check=False,
        )

    res = cli(
        "import",
        "sharegpt",
        str(DEMO / "sharegpt_ko.json"),
        "--source",
        str(DEMO / "sharegpt_en.json"),
        "--no-index",
        "--no-checks",
    )
    assert res.returncode == 0, res.stderr
    with db.session_scope(db.make_engine(f"sqlite:///{tmp_path / 'k.db'}")) as s:
        s.execute(text("UPDATE samples SET status = 'approved'"))
    res = cli("export", str(tmp_path / "out"), "--status", "approved")
    assert res.returncode == 0, res.stderr
    res = cli("backup", str(tmp_path / "k.backup.db"))
    assert res.returncode == 0, res.stderr
    files = [
        tmp_path / "k.db",
        tmp_path / "k.backup.db",
        *(p for p in (tmp_path / "out").rglob("*") if p.is_file()),
    ]
    assert len(files) > 3
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f"{f} is {oct(f.stat().st_mode)}"
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) & 0o077 == 0


def test_restore_is_audited(engine: Engine, db_url: str, actors: dict, tmp_path: Path) -> None:
    if db_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    from kocurate.services import audit

    out = tmp_path / ("b.db" if db_url.startswith("sqlite") else "b.dump")
    backup_service.backup(engine, SYSTEM, out)
    backup_service.restore(engine, actors["admin"], out)
    with db.session_scope(engine) as s:
        got = audit.events(s, SYSTEM, action="restore")
    assert [(e.username, e.target) for e in got] == [("admin", out.name)]
