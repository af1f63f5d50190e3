"""Faults: a process killed half-way, a read-only or full database, a corrupt database file.

Killed processes are real ``kocurate`` subprocesses sent SIGKILL while they write (no chance to
clean up); the database must hold either nothing of the job (import) or whole batches that a re-run
completes to the same result (check run), and no half-written export may sit under the final name.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from kocurate import db
from kocurate.db import DatabaseUnavailable
from kocurate.errors import AlreadyImported, KocurateError
from kocurate.ingest import import_files
from kocurate.models import CheckFinding, Dataset, Job, Sample, Turn
from kocurate.services import review
from kocurate.services import users as user_service
from kocurate.services.auth import SYSTEM

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
DEMO = ROOT / "kocurate" / "demo"
N = 3_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import synth

    return synth.write_sharegpt_pair(tmp_path_factory.mktemp("pair"), N)


# A real kocurate job in a child process that SIGKILLs itself (no cleanup, no atexit, no rollback)
# right after its ``progress`` callback has been called AT times: a deterministic point in the
# middle of the job, whatever the machine's speed.
_DIE = """
import os, signal, sys
from pathlib import Path
from kocurate import db
from kocurate.services.auth import SYSTEM
url, what, at, *args = sys.argv[1:]
calls = [0]
def progress(*_a):
    calls[0] += 1
    if calls[0] >= int(at):
        os.kill(os.getpid(), signal.SIGKILL)
eng = db.make_engine(url)
if what == "import" and url.startswith("sqlite"):
    # SQLite imports are parsed into a private spool first and copied in by INSERT ... SELECT under
    # the write lock: die inside that copy, from SQLite's own progress handler
    from sqlalchemy import event
    armed = [False]
    @event.listens_for(eng, "before_cursor_execute")
    def _arm(conn, cursor, statement, *_a):
        if statement.startswith("INSERT INTO samples") or statement.startswith("INSERT INTO turns"):
            armed[0] = True
    @event.listens_for(eng, "connect")
    def _handler(dbapi_conn, _rec):
        dbapi_conn.set_progress_handler(
            lambda: armed[0] and os.kill(os.getpid(), signal.SIGKILL), 200)
if what == "import":
    from kocurate.ingest import import_files
    import_files(eng, "sharegpt", args[0], args[1], name="big", progress=progress)
elif what == "check":
    from kocurate.services import checks
    checks.run_checks(eng, SYSTEM, "big", progress=progress)
elif what == "export":
    from kocurate.services import export
    export.export(eng, SYSTEM, export.ExportSpec(format="sharegpt"), args[0], progress=progress)
print("finished without being killed")
"""


def _die_at(url: str, what: str, at: int, *args: str) -> None:
    res = subprocess.run(
        [sys.executable, "-c", _DIE, url, what, str(at), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert res.returncode == -signal.SIGKILL, (
        f"{what} was not killed: rc {res.returncode}\n{res.stdout}{res.stderr}"
    )


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as c:
        return tuple(
            c.execute(select(func.count()).select_from(m)).scalar() for m in (Dataset, Sample, Turn)
        )


def _integrity(url: str) -> None:
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()


def _dead(spool: Path) -> bool:
    """A spool folder whose importing process is gone (other tests' live imports are not)."""
    try:
        os.kill(int((spool / "owner").read_text().split()[0]), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False
    return False


def test_import_killed_midway_writes_nothing_and_reruns(
    db_url: str, engine: Engine, pair: tuple[Path, Path]
) -> None:
    ko, en = pair
    before = set(Path(tempfile.gettempdir()).glob("kocurate-import-*"))
    # PostgreSQL: killed after the first 2,000 samples went into the transaction; SQLite: killed in
    # the middle of the INSERT ... SELECT that copies the spooled rows in
    _die_at(db_url, "import", 1 if db_url.startswith("postgresql") else 10**9, str(ko), str(en))
    assert _counts(engine) == (0, 0, 0)  # atomic: not one row of the killed import
    _integrity(db_url)
    # the killed import's spool file stayed behind (SQLite); the next import removes it
    left = [
        f for f in set(Path(tempfile.gettempdir()).glob("kocurate-import-*")) - before if _dead(f)
    ]
    assert len(left) == (1 if db_url.startswith("sqlite") else 0)
    rep = import_files(engine, "sharegpt", ko, en, name="big")  # the job is simply run again
    assert rep.samples == N and _counts(engine)[:2] == (1, N)
    assert not [f for f in left if f.exists()]
    with pytest.raises(AlreadyImported):
        import_files(engine, "sharegpt", ko, en, name="big")


def test_export_killed_midway_leaves_no_half_file(
    db_url: str, engine: Engine, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    ko, en = pair
    import_files(engine, "sharegpt", ko, en, name="big")
    with engine.begin() as c:
        c.execute(text("UPDATE samples SET status = 'approved'"))
    out = tmp_path / "export"
    _die_at(db_url, "export", 2, str(out))
    assert (
        not out.exists()
    )  # nothing under the final name: the partial folder is renamed only when complete
    partial = list(tmp_path.glob(".export.partial-*"))
    assert (
        partial and (partial[0] / "data").is_dir()
    )  # it had begun writing (beside the target, not in it)
    with Session(engine) as s:
        jobs = s.scalars(select(Job).where(Job.kind == "export")).all()
    assert jobs and all(
        j.status != "done" for j in jobs
    )  # the killed export is not recorded as done
    from kocurate.services import export

    export.export(engine, SYSTEM, export.ExportSpec(format="sharegpt"), out)  # run again: complete
    manifest = json.loads((out / "manifest.json").read_text())
    lines = 0
    for f in (out / "data").iterdir():
        if f.suffix == ".jsonl":
            lines += sum(1 for _ in open(f, encoding="utf-8"))
        elif f.suffix == ".json":
            lines += len(json.loads(f.read_text(encoding="utf-8")))
    assert lines == manifest["counts"]["total"] > 0


def _findings(engine: Engine) -> list[tuple]:
    with engine.connect() as c:
        return sorted(
            c.execute(
                select(
                    CheckFinding.sample_id,
                    CheckFinding.check,
                    CheckFinding.turn_idx,
                    CheckFinding.span_start,
                    CheckFinding.span_end,
                    CheckFinding.message,
                )
            ).all()
        )


def test_check_run_killed_midway_resumes_to_the_full_result(
    db_url: str, engine: Engine, pair: tuple[Path, Path]
) -> None:
    ko, en = pair
    import_files(engine, "sharegpt", ko, en, name="big")
    with engine.begin() as c:  # some samples the checks will find something in
        c.execute(text("UPDATE turns SET text = source_text WHERE id % 97 = 0"))
        c.execute(text("UPDATE turns SET text = '' WHERE id % 89 = 0"))
    _die_at(db_url, "check", 1)  # killed after its first batch committed
    with engine.connect() as c:
        checked = c.execute(text("SELECT count(*) FROM samples WHERE checked_version > 0")).scalar()
    assert 0 < checked < N  # whole batches: findings and checked_version in one transaction each
    _integrity(db_url)
    from kocurate.services import checks as check_service

    check_service.run_checks(
        engine, SYSTEM, "big"
    )  # incremental: picks up where the killed run stopped
    with engine.connect() as c:
        assert (
            c.execute(
                text("SELECT count(*) FROM samples WHERE checked_version <> version")
            ).scalar()
            == 0
        )
    resumed = _findings(engine)
    check_service.run_checks(
        engine, SYSTEM, "big", full=True
    )  # the reference: one uninterrupted full run
    assert _findings(engine) == resumed
    assert resumed  # the doctored samples were found


# ------------------------------------------------------------------ read-only, full, corrupt


def test_read_only_sqlite_database_says_so(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "ro.db"
    path.write_bytes(sqlite_template.read_bytes())
    rw = db.make_engine(f"sqlite:///{path}")
    import_files(rw, "sharegpt", DEMO / "sharegpt_ko.json", DEMO / "sharegpt_en.json", name="sg")
    with db.session_scope(rw) as s:
        user, _ = user_service.create_user(s, SYSTEM, "ann", "annotator", "ann-password")
        actor = user_service.actor_of(user)
    rw.dispose()
    ro = db.make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    before = _counts(ro)  # reading works
    with pytest.raises(DatabaseUnavailable, match="database is read-only") as exc:
        with db.session_scope(ro) as s:
            sid = review.next_sample(s, actor, 1)
    assert exc.value.reason == "read_only"
    with Session(ro) as s:
        sid = s.scalar(select(Sample.id).limit(1))
        turn = s.scalar(select(Turn.id).where(Turn.sample_id == sid))
    with pytest.raises(DatabaseUnavailable, match="database is read-only"):
        with db.session_scope(ro) as s:
            review.save_edit(s, actor, sid, turn, "새 번역", 1)
    with pytest.raises(DatabaseUnavailable, match="database is read-only"):
        import_files(ro, "koalpaca", DEMO / "koalpaca_ko.json", DEMO / "alpaca_en.json", name="ka")
    assert _counts(ro) == before
    ro.dispose()


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root ignores file permissions (mode=ro is tested above)"
)
def test_chmod_read_only_file_says_so(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "ro.db"
    path.write_bytes(sqlite_template.read_bytes())
    path.chmod(0o444)
    eng = db.make_engine(f"sqlite:///{path}")
    with pytest.raises(KocurateError, match="database is read-only"):
        with db.session_scope(eng) as s:
            user_service.create_user(s, SYSTEM, "x", "annotator", "password-1")
    eng.dispose()


def test_cli_on_read_only_database_prints_one_line(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "ro.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kocurate.cli import main; main()",
            "--db",
            url,
            "import",
            "sharegpt",
            str(DEMO / "sharegpt_ko.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 7
    assert "database is read-only" in res.stderr and "Traceback" not in res.stderr


def test_full_disk_rolls_back_and_says_so(
    tmp_path: Path, sqlite_template: Path, pair: tuple[Path, Path]
) -> None:
    """SQLITE_FULL (the disk, or the database's page limit) mid-import: a clear error, no rows."""
    path = tmp_path / "full.db"
    path.write_bytes(sqlite_template.read_bytes())
    eng = db.make_engine(f"sqlite:///{path}")
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]

    @event.listens_for(eng, "connect")
    def _limit(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(
            f"PRAGMA max_page_count = {pages + 4}"
        )  # a few pages of room, then the disk is "full"

    ko, en = pair
    with pytest.raises(DatabaseUnavailable, match="disk is full") as exc:
        import_files(eng, "sharegpt", ko, en, name="sg")
    assert exc.value.reason == "full"
    assert _counts(eng) == (0, 0, 0)
    eng.dispose()
    eng = db.make_engine(f"sqlite:///{path}")  # space freed: the same import goes through
    assert import_files(eng, "sharegpt", ko, en, name="sg").samples == N
    eng.dispose()


def test_corrupt_database_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database at all " * 200)
    eng = db.make_engine(f"sqlite:///{path}")
    with pytest.raises(DatabaseUnavailable, match="not a kocurate database") as exc:
        with eng.connect() as c:
            c.execute(text("SELECT 1 FROM samples"))
    assert str(path) in str(exc.value) and exc.value.reason == "corrupt"
    eng.dispose()
