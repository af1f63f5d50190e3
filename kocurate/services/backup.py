"""Backups and restores of the whole database.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while
annotators keep working (WAL: the reader blocks no writer), into a temporary file that is checked
(``PRAGMA integrity_check``) and only then renamed to the final name, so a crash never leaves a
half-written backup under the name you asked for. Restore checks the backup first, keeps a copy of
the current database beside it, then copies the backup in through the same API (one transaction on
the live file) and brings the schema to the head revision.

PostgreSQL: ``pg_dump --format=custom`` / ``pg_restore --clean`` when the client tools are
installed (the password goes through the environment, never the command line); otherwise the
exact commands to run are given.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from .. import config, db
from ..errors import ConfigError, Conflict, KocurateError, NotFound, UsageError
from ..i18n import N_
from .auth import Actor

# tables whose row counts are reported with a backup (a quick sanity check for people)
REPORTED_TABLES = ("datasets", "samples", "turns", "edits", "flags", "reviews", "users")


@dataclass
class BackupReport:
    path: str
    backend: str
    bytes: int = 0
    revision: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    kept_copy: str | None = None  # restore: where the database as it was before lies

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return (
            f"{self.path} ({self.bytes:,} bytes, revision"
            f" {self.revision}){': ' + counts if counts else ''}"
        )


def _url(engine_or_url: Engine | str) -> URL:
    return (
        engine_or_url.url
        if isinstance(engine_or_url, Engine)
        else make_url(config.db_url(engine_or_url))
    )


def _sqlite_target(url: URL) -> tuple[str, bool]:
    """(path or URI, is_uri) of a SQLite database URL."""
    database = url.database or ""
    if not database or database == ":memory:":
        raise UsageError(msgid=N_("an in-memory database cannot be backed up"))
    uri = database.startswith("file:") or url.query.get("uri") in ("true", "1")
    return database, uri


def _sqlite_file(url: URL) -> Path:
    database, uri = _sqlite_target(url)
    if uri:
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(database)


def _check_sqlite_file(path: Path) -> tuple[str | None, dict[str, int]]:
    """Integrity-check a SQLite file that should be a kocurate database; returns (revision,
    counts)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UsageError(
            msgid=N_("{path}: cannot open as a SQLite database ({exc})"), path=path, exc=exc
        ) from exc
    try:
        try:
            ok = con.execute("PRAGMA integrity_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise UsageError(
                msgid=N_("{path}: not a SQLite database or corrupt ({exc})"), path=path, exc=exc
            ) from exc
        if ok is None or ok[0] != "ok":
            raise UsageError(
                msgid=N_("{path}: integrity check failed: {answer}"),
                path=path,
                answer=ok[0] if ok else "no answer",
            )
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables or "samples" not in tables:
            raise UsageError(
                msgid=N_("{path}: not a kocurate database (no alembic_version/samples table)"),
                path=path,
            )
        rev = con.execute("SELECT version_num FROM alembic_version").fetchone()
        counts = {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in REPORTED_TABLES
            if t in tables
        }
        return (rev[0] if rev else None), counts
    finally:
        con.close()


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _create_private(path: Path) -> None:
    """An empty file only its owner can read (backups hold password hashes and the login key)."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(
    engine_or_url: Engine | str, actor: Actor, path: str | Path, *, overwrite: bool = False
) -> BackupReport:
    """Write a consistent backup of the whole database to ``path`` (admins only)."""
    actor.require("backup")
    url = _url(engine_or_url)
    path = Path(path).expanduser().resolve()
    if path.exists() and not overwrite:
        raise Conflict(
            msgid=N_("{path} exists already; choose another name or pass overwrite"), path=path
        )
    if not path.parent.is_dir():
        raise NotFound(msgid=N_("no folder {parent}"), parent=path.parent)
    if url.get_backend_name() == "sqlite":
        return _backup_sqlite(url, path)
    if url.get_backend_name() == "postgresql":
        return _backup_pg(url, path)
    raise UsageError(
        msgid=N_("backups of {backend} databases are not supported"), backend=url.get_backend_name()
    )


def _backup_sqlite(url: URL, path: Path) -> BackupReport:
    database, uri = _sqlite_target(url)
    if not uri and not Path(database).is_file():
        raise NotFound(msgid=N_("no database at {database}"), database=database)
    tmp = _tmp_name(path)
    try:
        _create_private(tmp)
        src = sqlite3.connect(database, uri=uri, timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000)
        dst = sqlite3.connect(tmp)
        try:
            # pages=-1: one step, one read snapshot. In WAL mode it blocks no writer, and it never
            # restarts because someone wrote meanwhile (stepped backups do).
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
            src.close()
        revision, counts = _check_sqlite_file(tmp)
        os.chmod(tmp, 0o600)
        _fsync(tmp)
        os.replace(tmp, path)  # atomic: the final name only ever holds a complete, checked backup
    except sqlite3.Error as exc:
        raise KocurateError(
            msgid=N_("backup to {path} failed: {exc}; nothing was written under that name"),
            path=path,
            exc=exc,
        ) from exc
    except OSError as exc:
        raise KocurateError(
            msgid=N_("backup to {path} failed: {reason}; nothing was written under that name"),
            path=path,
            reason=exc.strerror or exc,
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return BackupReport(str(path), "sqlite", path.stat().st_size, revision, counts)


def restore(
    engine_or_url: Engine | str, actor: Actor, path: str | Path, *, keep_current: bool = True
) -> BackupReport:
    """Replace the database's content by the backup at ``path`` (admins only), then upgrade it to
    head.

    SQLite keeps the database as it was in ``<name>.before-restore-<time>.db`` beside it (unless
    ``keep_current`` is false). Other processes (the app) see the restored content on their next
    query.
    """
    actor.require("backup")
    url = _url(engine_or_url)
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise NotFound(msgid=N_("no backup file {path}"), path=path)
    if url.get_backend_name() == "sqlite":
        report = _restore_sqlite(url, path, keep_current)
    elif url.get_backend_name() == "postgresql":
        report = _restore_pg(url, path)
    else:
        raise UsageError(
            msgid=N_("restores of {backend} databases are not supported"),
            backend=url.get_backend_name(),
        )
    db.get_engine.cache_clear()
    if isinstance(engine_or_url, Engine):
        engine_or_url.dispose()  # pooled connections may hold pages of the old content
    live = url.render_as_string(hide_password=False)
    db.ensure_schema(live)
    report.revision = db.current_revision(live)
    # written into the restored content (an event written before would have been replaced with the
    # rest)
    from . import audit

    eng = db.make_engine(live)
    try:
        with db.session_scope(eng) as s:
            audit.record(
                s,
                actor,
                "restore",
                target=path.name,
                revision=report.revision,
                kept_copy=report.kept_copy,
            )
    finally:
        eng.dispose()
    return report


def _known_revision(revision: str | None, path: Path) -> None:
    from alembic.script import ScriptDirectory

    if revision is None:
        raise UsageError(msgid=N_("{path}: the backup has no schema revision"), path=path)
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    try:
        script.get_revision(revision)
    except Exception as exc:
        raise UsageError(
            msgid=N_(
                "{path}: made by a newer kocurate (revision {revision}); upgrade kocurate first"
            ),
            path=path,
            revision=revision,
        ) from exc


def _restore_sqlite(url: URL, path: Path, keep_current: bool) -> BackupReport:
    revision, counts = _check_sqlite_file(path)
    _known_revision(revision, path)
    live_file = _sqlite_file(url)
    database, uri = _sqlite_target(url)
    if live_file.resolve() == path:
        raise UsageError(msgid=N_("the backup is the live database itself"))
    kept = None
    if keep_current and live_file.is_file():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        kept_path = live_file.with_name(f"{live_file.stem}.before-restore-{stamp}.db")
        _backup_sqlite(url, kept_path)
        kept = str(kept_path)
    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dst = sqlite3.connect(database, uri=uri, timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            # One write transaction on the live file: readers see the old or the new content, never
            # a mix.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        raise KocurateError(
            msgid=N_("restore from {path} failed: {exc}; the database is unchanged"),
            path=path,
            exc=exc,
        ) from exc
    return BackupReport(str(path), "sqlite", path.stat().st_size, revision, counts, kept)


# ---------------------------------------------------------------- PostgreSQL


def _pg_env(url: URL) -> dict[str, str]:
    """libpq settings for pg_dump/pg_restore: the password travels in the environment, not in
    argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            env[key] = str(value)
    return env


def pg_guidance(url: Engine | str | URL, path: str | Path) -> str:
    """The commands to back up and restore a PostgreSQL database by hand (password not shown)."""
    u = url if isinstance(url, URL) else _url(url)
    conn = (
        f"-h {u.host or 'localhost'} -p {u.port or 5432} -U {u.username or 'postgres'}"
        f" {u.database or ''}".strip()
    )
    return (
        f"back up:  PGPASSWORD=… pg_dump --format=custom --no-owner --file {path} {conn}\nrestore: "
        f" PGPASSWORD=… pg_restore --clean --if-exists --no-owner --dbname {u.database} -h"
        f" {u.host or 'localhost'} -p {u.port or 5432} -U {u.username or 'postgres'}"
        f" {path}\n(pg_dump must be of the server's major version or newer: apt-get install"
        " postgresql-client)"
    )


def _pg_tool(name: str, url: URL, path: Path) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise ConfigError(
            msgid=N_("{name} is not installed here; do it by hand:\n{guidance}"),
            name=name,
            guidance=pg_guidance(url, path),
        )
    return exe


def _run(cmd: list[str], url: URL, what: str) -> None:
    proc = subprocess.run(cmd, env=_pg_env(url), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        raise KocurateError(
            msgid=N_("{what} failed: {detail}"),
            what=what,
            detail=err[-1] if err else f"exit code {proc.returncode}",
        )


def _count(conn: Any) -> tuple[str | None, dict[str, int]]:
    from sqlalchemy import text

    counts = {
        t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() or 0)
        for t in REPORTED_TABLES
    }
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar(), counts


def _pg_counts(url: URL) -> tuple[str | None, dict[str, int]]:
    eng = db.make_engine(url.render_as_string(hide_password=False))
    try:
        with eng.connect() as c:
            return _count(c)
    finally:
        eng.dispose()


def _backup_pg(url: URL, path: Path) -> BackupReport:
    """pg_dump from a snapshot that this process exported and counted in: the report counts exactly
    what the backup holds, also while people keep writing."""
    from sqlalchemy import text

    exe = _pg_tool("pg_dump", url, path)
    tmp = _tmp_name(path)
    eng = db.make_engine(url.render_as_string(hide_password=False))
    try:
        _create_private(tmp)
        with eng.connect().execution_options(isolation_level="REPEATABLE READ") as c, c.begin():
            snapshot = c.execute(text("SELECT pg_export_snapshot()")).scalar()
            revision, counts = _count(c)
            # the snapshot lives as long as this transaction: pg_dump runs while it is open
            _run(
                [
                    exe,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "--file",
                    str(tmp),
                ],
                url,
                "pg_dump",
            )
        os.chmod(tmp, 0o600)
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        eng.dispose()
    return BackupReport(str(path), "postgresql", path.stat().st_size, revision, counts)


def _restore_pg(url: URL, path: Path) -> BackupReport:
    exe = _pg_tool("pg_restore", url, path)
    _run([exe, "--list", str(path)], url, f"reading {path} (not a pg_dump --format=custom file?)")
    # --single-transaction: a failed restore leaves the database as it was
    _run(
        [
            exe,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--dbname",
            url.database or "",
            str(path),
        ],
        url,
        "pg_restore",
    )
    revision, counts = _pg_counts(url)
    return BackupReport(str(path), "postgresql", path.stat().st_size, revision, counts)
